// Package inventory finds every tapctl environment of an account and region from AWS's tags
// alone: state files are per machine, so the forgotten environment of a closed pull request is
// only in AWS.
package inventory

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	tagging "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	taggingtypes "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/provision"
)

// Environment is one environment as AWS's tags show it.
type Environment struct {
	Name string `json:"name"`
	// Created is when the environment's database secret was created (one of the first
	// resources up makes, and deleted by down); nil when it has none.
	Created *time.Time `json:"created"`
	// Mesh is the ECS cluster's Mesh tag ("" for clusters made before tapctl set it).
	Mesh string `json:"mesh"`
	// Resources counts the environment's live tagged resources (see countable).
	Resources int    `json:"resources"`
	Region    string `json:"region"`
	// Expires is when tapctl gc may delete the environment: its database secret's
	// provision.TagExpires tag (up --ttl); nil when it has none, or one that is not a date.
	Expires *time.Time `json:"expires"`
	// Base is an overlay environment's base (its provision.TagBase tag); "" for an isolated one.
	Base string `json:"base,omitempty"`
}

// Expired reports whether the environment's expiry has passed at now.
func (e Environment) Expired(now time.Time) bool { return e.Expires != nil && !now.Before(*e.Expires) }

// Find lists the environments in name order: one paginated GetResources call for every
// resource tagged ManagedBy=tapctl, one DescribeClusters call per 100 clusters and one
// DescribeNatGateways call (deleted clusters and NAT gateways stay tagged for a while and are
// not counted), one paginated ListSecrets call for the creation times (and the expiries, which
// the database secret's tags hold).
func Find(ctx context.Context, clients *cloud.Clients, region string) ([]Environment, error) {
	byEnv := map[string]*Environment{}
	clusters := map[string]string{}   // env -> cluster ARN
	services := map[string][]string{} // env -> ECS service ARNs, counted only with a live cluster
	nats := map[string][]string{}     // env -> NAT gateway IDs, counted only when not deleted
	pages := tagging.NewGetResourcesPaginator(clients.Tagging, &tagging.GetResourcesInput{
		TagFilters:       []taggingtypes.TagFilter{{Key: aws.String(engine.TagManagedBy), Values: []string{engine.ManagedByValue}}},
		ResourcesPerPage: aws.Int32(100),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the resources tagged %s=%s: %w", engine.TagManagedBy, engine.ManagedByValue, err)
		}
		for _, r := range page.ResourceTagMappingList {
			tags := tagMap(r.Tags)
			name := tags[engine.TagEnvironment]
			arn := aws.ToString(r.ResourceARN)
			if name == "" || tags[engine.TagManagedBy] != engine.ManagedByValue {
				continue // some implementations ignore the filter: check the answer
			}
			kind := resourceKind(arn)
			if !countable(kind) {
				continue
			}
			env := byEnv[name]
			if env == nil {
				env = &Environment{Name: name, Region: region}
				byEnv[name] = env
			}
			if b := tags[provision.TagBase]; b != "" {
				env.Base = b
			}
			switch kind {
			case "secretsmanager:secret":
				env.Resources++
				noteExpiry(env, tags)
			case "ecs:cluster":
				clusters[name] = arn
				env.Mesh = tags[provision.TagMesh]
			case "ecs:service":
				services[name] = append(services[name], arn)
			case "ec2:natgateway":
				nats[name] = append(nats[name], arn[strings.LastIndexByte(arn, '/')+1:])
			default:
				env.Resources++
			}
		}
	}
	active, err := activeClusters(ctx, clients.ECS, clusters)
	if err != nil {
		return nil, err
	}
	liveNATs, err := liveNATGateways(ctx, clients.EC2, nats)
	if err != nil {
		return nil, err
	}
	for name, env := range byEnv {
		env.Resources += liveNATs[name]
		switch {
		case env.Base != "" && active[clusters[env.Base]]:
			env.Resources += len(services[name]) // an overlay's services run in its base's cluster
			env.Mesh = byEnvMesh(byEnv, env.Base)
		case active[clusters[name]]:
			env.Resources += 1 + len(services[name])
		default:
			env.Mesh = ""
		}
		if env.Resources == 0 {
			delete(byEnv, name) // only a deleted cluster, its services or a deleted NAT gateway were left
		}
	}
	if len(byEnv) > 0 {
		if err := creationTimes(ctx, clients.Secrets, byEnv); err != nil {
			return nil, err
		}
	}
	out := make([]Environment, 0, len(byEnv))
	for _, env := range byEnv {
		out = append(out, *env)
	}
	// Overlays right under their base, each group in name order.
	group := func(e Environment) string {
		if e.Base != "" {
			return e.Base
		}
		return e.Name
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if group(a) != group(b) {
			return group(a) < group(b)
		}
		if (a.Base == "") != (b.Base == "") {
			return a.Base == ""
		}
		return a.Name < b.Name
	})
	return out, nil
}

// resourceKind is "service:type" of an ARN, e.g. "ecs:cluster", "ec2:vpc", "logs:log-group".
func resourceKind(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	typ := parts[5]
	if i := strings.IndexAny(typ, "/:"); i >= 0 {
		typ = typ[:i]
	}
	return parts[2] + ":" + typ
}

// countable leaves out what outlives down by design: the KMS key waits 7 days for its deletion
// and task-definition revisions stay INACTIVE; tasks are ECS's, not tapctl's.
func countable(kind string) bool {
	switch kind {
	case "kms:key", "ecs:task-definition", "ecs:task", "":
		return false
	}
	return true
}

// activeClusters reports which of the clusters are ACTIVE: DeleteCluster leaves a cluster
// INACTIVE, still tagged, for a while.
func activeClusters(ctx context.Context, client *ecs.Client, clusters map[string]string) (map[string]bool, error) {
	var arns []string
	for _, arn := range clusters {
		arns = append(arns, arn)
	}
	sort.Strings(arns)
	active := map[string]bool{}
	for len(arns) > 0 {
		batch := arns[:min(100, len(arns))]
		arns = arns[len(batch):]
		out, err := client.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: batch})
		if err != nil {
			return nil, fmt.Errorf("describing %d ECS clusters: %w", len(batch), err)
		}
		for _, c := range out.Clusters {
			if aws.ToString(c.Status) != "INACTIVE" {
				active[aws.ToString(c.ClusterArn)] = true
			}
		}
	}
	return active, nil
}

// liveNATGateways counts per environment the NAT gateways not deleted: a deleted NAT gateway
// stays visible, and tagged, in the "deleted" state for about an hour.
func liveNATGateways(ctx context.Context, client *ec2.Client, nats map[string][]string) (map[string]int, error) {
	envOf := map[string]string{}
	var ids []string
	for env, list := range nats {
		for _, id := range list {
			envOf[id] = env
			ids = append(ids, id)
		}
	}
	live := map[string]int{}
	if len(ids) == 0 {
		return live, nil
	}
	sort.Strings(ids)
	pages := ec2.NewDescribeNatGatewaysPaginator(client, &ec2.DescribeNatGatewaysInput{NatGatewayIds: ids})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describing %d NAT gateways: %w", len(ids), err)
		}
		for _, n := range page.NatGateways {
			switch n.State {
			case ec2types.NatGatewayStateDeleted, ec2types.NatGatewayStateDeleting, ec2types.NatGatewayStateFailed:
				continue
			}
			if env, ok := envOf[aws.ToString(n.NatGatewayId)]; ok {
				live[env]++
			}
		}
	}
	return live, nil
}

// creationTimes reads each environment's database secret creation date with one paginated
// ListSecrets call for all of them.
func creationTimes(ctx context.Context, client *sm.Client, byEnv map[string]*Environment) error {
	pages := sm.NewListSecretsPaginator(client, &sm.ListSecretsInput{
		Filters: []smtypes.Filter{
			{Key: smtypes.FilterNameStringTypeTagKey, Values: []string{engine.TagManagedBy}},
			{Key: smtypes.FilterNameStringTypeTagValue, Values: []string{engine.ManagedByValue}},
		},
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("listing the secrets tagged %s=%s: %w", engine.TagManagedBy, engine.ManagedByValue, err)
		}
		for _, s := range page.SecretList {
			tags := map[string]string{}
			for _, t := range s.Tags {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			env := byEnv[tags[engine.TagEnvironment]]
			if env == nil || tags[engine.TagManagedBy] != engine.ManagedByValue || s.CreatedDate == nil {
				continue
			}
			if created := s.CreatedDate.UTC(); env.Created == nil || created.Before(*env.Created) {
				env.Created = &created
			}
			// The secret's own tags are fresher than the tagging index, which lags tag changes.
			noteExpiry(env, tags)
		}
	}
	return nil
}

// noteExpiry takes the environment's expiry from its secret's tags, when they hold one.
func noteExpiry(env *Environment, tags map[string]string) {
	if t, ok := provision.ParseExpiry(tags[provision.TagExpires]); ok {
		env.Expires = &t
	}
}

func tagMap(tags []taggingtypes.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// byEnvMesh is the mesh choice of the environment named, "" when it is not listed.
func byEnvMesh(byEnv map[string]*Environment, name string) string {
	if e := byEnv[name]; e != nil {
		return e.Mesh
	}
	return ""
}
