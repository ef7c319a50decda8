package provision

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

// RememberServices records the names of the services the environment has.
func RememberServices(st *state.Store, names []string) error {
	return st.SetSetting(SettingServices, strings.Join(names, ","))
}

// RemovedServices are the services the environment has that services no longer lists: the
// ones the state file remembers; when it remembers none (a lost state file, or one written
// before tapctl remembered services), the ECS services in the environment's cluster.
func RemovedServices(ctx context.Context, e *Env, services []catalog.Service) ([]catalog.Service, error) {
	var had []string
	if recorded := e.State.Setting(SettingServices); recorded != "" {
		had = strings.Split(recorded, ",")
	} else {
		found, err := clusterServiceNames(ctx, e)
		if err != nil {
			return nil, err
		}
		had = found
	}
	current := catalog.Names(services)
	var removed []catalog.Service
	for _, name := range had {
		if name != "" && !slices.Contains(current, name) {
			removed = append(removed, removedService(name))
		}
	}
	return removed, nil
}

// removedService is what tapctl knows of a service that left the catalog: its name. Every
// per-service step finds its resource by state ID or by a name derived from it; priority 0
// matches no rule, so a rule is only ever deleted by the ID recorded for it.
func removedService(name string) catalog.Service {
	svc := catalog.WithDefaults(name, 0)
	return svc
}

// clusterServiceNames lists the catalog names of the ECS services in the environment's
// cluster ("{svc}-service-{env}"); none when there is no cluster.
func clusterServiceNames(ctx context.Context, e *Env) ([]string, error) {
	var names []string
	suffix := e.Names.Service("")
	p := ecs.NewListServicesPaginator(e.AWS.ECS, &ecs.ListServicesInput{Cluster: aws.String(e.Names.Cluster())})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if cloud.IsNotFound(err) || cloud.HasCode(err, "ClusterNotFoundException") {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("listing ECS services of cluster %s: %w", e.Names.Cluster(), err)
		}
		for _, arn := range page.ServiceArns {
			name := arn[strings.LastIndex(arn, "/")+1:]
			if svc, ok := strings.CutSuffix(name, suffix); ok && svc != "" {
				names = append(names, svc)
			}
		}
	}
	return names, nil
}

// WithRemoved is the catalog followed by the removed services: what down deletes.
func WithRemoved(services, removed []catalog.Service) []catalog.Service {
	return append(slices.Clone(services), removed...)
}

// ForServices returns a copy of e for other services: its catalog is services, and it reads
// AWS afresh (the per-kind reads cover the catalog's services only). The state file and the
// summary are shared.
func (e *Env) ForServices(services []catalog.Service) *Env {
	c := engine.Rediscover(e)
	c.Catalog = services
	return c
}

// scopedStep is a step taken out of the platform: dependencies on steps outside the set are
// dropped (those steps stay as they are).
type scopedStep struct {
	Step
	deps []string
}

func (s scopedStep) DependsOn() []string { return s.deps }

// ServiceSteps are the steps that own the services' own resources (repository, roles, log
// group, task definition, target groups, rule, alarms, discovery service, ECS service, scaling
// and, with App Mesh, virtual node and service), without the shared ones.
func ServiceSteps(services []catalog.Service, choices Choices) []Step {
	if len(services) == 0 {
		return nil
	}
	owned := func(s Step) bool {
		if _, shared := s.(retiredMeshStep); shared {
			return false
		}
		for _, svc := range services {
			if strings.HasPrefix(s.Name(), svc.Name+"/") {
				return true
			}
		}
		return false
	}
	var steps []Step
	names := map[string]bool{}
	for _, s := range Platform(services, choices) {
		if owned(s) {
			steps = append(steps, s)
			names[s.Name()] = true
		}
	}
	for i, s := range steps {
		var deps []string
		for _, d := range s.DependsOn() {
			if names[d] {
				deps = append(deps, d)
			}
		}
		steps[i] = scopedStep{Step: s, deps: deps}
	}
	return steps
}

// RemoveServices deletes every resource of services that left the catalog, each after what
// depends on it. up runs it before creating anything, so a freed rule priority can be reused.
func RemoveServices(ctx context.Context, e *Env, removed []catalog.Service, choices Choices, parallelism int) error {
	if len(removed) == 0 {
		return nil
	}
	e.Log.Info().Strs("services", catalog.Names(removed)).Msg("removing services that left the catalog")
	if err := engine.Destroy(ctx, e.ForServices(removed), ServiceSteps(removed, choices), parallelism); err != nil {
		return err
	}
	// What this run read before the removal (the listener's rules) no longer holds.
	e.ForgetReads()
	return nil
}
