package provision

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

// discoveryServiceStep owns the Cloud Map service through which ECS registers a service's
// tasks as {svc}.{env}.local (SPEC row 21: "registered in Cloud Map as {svc}"). It exists in
// every mode, also where ECS registers nothing in it (registersDNS), so that a change of mode or
// strategy only changes the ECS service's registration.
type discoveryServiceStep struct{ svc catalog.Service }

// registersDNS says whether ECS registers a service's tasks in Cloud Map DNS. DNS registers a
// task as soon as it runs, so in a blue/green deployment DNS callers reach the new revision
// before the production traffic shifts, and while a rollback is under way. Service Connect
// registers the green revision as a test endpoint and moves its clients with the traffic shift
// (ECS developer guide, "Service Connect resources for Amazon ECS blue/green deployments"), so
// with Service Connect and blue/green the DNS registration is dropped: callers use the Service
// Connect alias. App Mesh's virtual nodes find their tasks by DNS and "none" has nothing else:
// they keep it, and so does rolling, which replaces tasks in place anyway (README, "Service mesh").
func registersDNS(c Choices) bool {
	return c.Mesh != MeshServiceConnect || c.Strategy != BlueGreen
}

func (s discoveryServiceStep) Name() string        { return serviceKey(s.svc.Name, kindDiscoveryService) }
func (s discoveryServiceStep) DependsOn() []string { return []string{keyNamespace} }
func (s discoveryServiceStep) key() string         { return s.Name() }

// The A-record settings CDK's cloudMapOptions use for awsvpc tasks.
const discoveryTTL = 60

// find reads the Cloud Map service by the state file's ID, else by its name in the namespace,
// once per run.
func (s discoveryServiceStep) find(ctx context.Context, e *Env, namespaceID string) (*sdtypes.Service, error) {
	name := e.Names.DiscoveryService(s.svc.Name)
	return engine.Discover(e.Run, "discovery-service/"+s.svc.Name+"/"+namespaceID, func() (*sdtypes.Service, error) {
		get := func(id string) (*sdtypes.Service, error) {
			out, err := e.AWS.ServiceDisc.GetService(ctx, &sd.GetServiceInput{Id: aws.String(id)})
			if cloud.IsNotFound(err) {
				return nil, nil // also: deleted since it was listed
			}
			if err != nil {
				return nil, fmt.Errorf("describing Cloud Map service %s: %w", id, err)
			}
			return out.Service, nil
		}
		return engine.FindOwned(e.Run, engine.Lookup[sdtypes.Service]{
			Kind: "Cloud Map service", Name: name + "." + e.Names.Namespace(), StateID: e.StateID(s.key()),
			ByID: get,
			ByName: func() (*sdtypes.Service, error) {
				if namespaceID == "" {
					return nil, nil
				}
				p := sd.NewListServicesPaginator(e.AWS.ServiceDisc, &sd.ListServicesInput{Filters: []sdtypes.ServiceFilter{{
					Name: sdtypes.ServiceFilterNameNamespaceId, Values: []string{namespaceID}, Condition: sdtypes.FilterConditionEq,
				}}})
				for p.HasMorePages() {
					page, err := p.NextPage(ctx)
					if err != nil {
						return nil, fmt.Errorf("listing Cloud Map services of %s: %w", namespaceID, err)
					}
					for _, summary := range page.Services {
						if aws.ToString(summary.Name) != name {
							continue
						}
						svc, err := get(aws.ToString(summary.Id))
						// Checked here too: some implementations (moto) ignore the namespace filter.
						if err != nil || svc != nil && aws.ToString(svc.NamespaceId) == namespaceID {
							return svc, err
						}
					}
				}
				return nil, nil
			},
			Tags: func(svc *sdtypes.Service) (map[string]string, error) {
				return cloudMapTags(ctx, e, aws.ToString(svc.Arn))
			},
			ID: func(svc *sdtypes.Service) string { return aws.ToString(svc.Id) },
		})
	})
}

func (s discoveryServiceStep) Claim(ctx context.Context, e *Env) error {
	nsID, err := namespaceID(ctx, e)
	if err != nil {
		return err
	}
	_, err = s.find(ctx, e, nsID)
	return err
}

func (s discoveryServiceStep) desiredDNS() *sdtypes.DnsConfig {
	return &sdtypes.DnsConfig{
		RoutingPolicy: sdtypes.RoutingPolicyMultivalue,
		DnsRecords:    []sdtypes.DnsRecord{{Type: sdtypes.RecordTypeA, TTL: aws.Int64(discoveryTTL)}},
	}
}

func (s discoveryServiceStep) Up(ctx context.Context, e *Env) error {
	ns, err := e.Require(keyNamespace)
	if err != nil {
		return err
	}
	name := e.Names.DiscoveryService(s.svc.Name)
	svc, err := s.find(ctx, e, ns.ID)
	if err != nil {
		return err
	}
	var have *state.Resource
	drift := ""
	if svc != nil {
		have = &state.Resource{ID: aws.ToString(svc.Id), ARN: aws.ToString(svc.Arn)}
		drift = dnsTTLDrift(svc.DnsConfig)
	}
	return convergeNamed(e, s.key(), "Cloud Map service "+name, have, func() (state.Resource, error) {
		out, err := e.AWS.ServiceDisc.CreateService(ctx, &sd.CreateServiceInput{
			Name:                    aws.String(name),
			NamespaceId:             aws.String(ns.ID),
			CreatorRequestId:        aws.String(requestToken(e.Name, s.Name(), ns.ID)),
			DnsConfig:               s.desiredDNS(),
			HealthCheckCustomConfig: &sdtypes.HealthCheckCustomConfig{FailureThreshold: aws.Int32(1)},
			Tags:                    e.serviceDiscoveryTags(name, s.svc.Name),
		})
		if err != nil {
			return state.Resource{}, fmt.Errorf("creating Cloud Map service %s in %s: %w", name, ns.ID, err)
		}
		return state.Resource{ID: aws.ToString(out.Service.Id), ARN: aws.ToString(out.Service.Arn)}, nil
	}, drift, func() error {
		id := have.ID
		_, err := e.AWS.ServiceDisc.UpdateService(ctx, &sd.UpdateServiceInput{Id: aws.String(id), Service: &sdtypes.ServiceChange{
			DnsConfig: &sdtypes.DnsConfigChange{DnsRecords: s.desiredDNS().DnsRecords},
		}})
		if err != nil {
			return fmt.Errorf("updating DNS TTL of Cloud Map service %s: %w", id, err)
		}
		return nil
	})
}

// dnsTTLDrift says how the service's A record TTL differs from discoveryTTL, "" when it does not.
func dnsTTLDrift(c *sdtypes.DnsConfig) string {
	if ttl := dnsTTL(c); ttl != discoveryTTL {
		return fmt.Sprintf("A record TTL %d -> %d", ttl, discoveryTTL)
	}
	return ""
}

func dnsTTL(c *sdtypes.DnsConfig) int64 {
	if c == nil || len(c.DnsRecords) == 0 {
		return -1
	}
	return aws.ToInt64(c.DnsRecords[0].TTL)
}

// namespaceID is the environment's namespace: the one found by the state file's ID or by its
// tags (once per run), so that a down without a state file still finds the services inside it
// before the namespace goes; else the one this run made.
func namespaceID(ctx context.Context, e *Env) (string, error) {
	ns, err := findNamespace(ctx, e)
	if err != nil {
		return "", err
	}
	if ns != nil {
		return aws.ToString(ns.Id), nil
	}
	return e.StateID(keyNamespace), nil // made by this run, after the lookup
}

func (s discoveryServiceStep) Down(ctx context.Context, e *Env) error {
	nsID, err := namespaceID(ctx, e)
	if err != nil {
		return err
	}
	svc, err := s.find(ctx, e, nsID)
	if err != nil {
		return err
	}
	var id string
	if svc != nil {
		id = aws.ToString(svc.Id)
	}
	return deleteThenForget(e, s.key(), svc != nil, "Cloud Map service "+e.Names.DiscoveryService(s.svc.Name), id, func() error {
		// Instances deregister when ECS stops the tasks; until then AWS answers ResourceInUse.
		return retryWhileInUse(ctx, "Cloud Map service "+id, e.Timeouts.Dependencies, cloud.DependencyCodes, func(ctx context.Context) error {
			_, err := e.AWS.ServiceDisc.DeleteService(ctx, &sd.DeleteServiceInput{Id: aws.String(id)})
			return err
		})
	})
}

func (s discoveryServiceStep) Inspect(ctx context.Context, e *Env) []Status {
	nsID, err := namespaceID(ctx, e)
	var svc *sdtypes.Service
	if err == nil {
		svc, err = s.find(ctx, e, nsID)
	}
	return []Status{{Resource: "Cloud Map service " + s.svc.Name + "." + e.Names.Namespace(), StateID: e.StateID(s.key()),
		AWS: engine.Observe(err, svc != nil, func() string { return "registered" })}}
}
