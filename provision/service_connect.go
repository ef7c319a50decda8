package provision

import (
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/naming"
)

// Service Connect: each service publishes its named port in the environment's namespace with a
// client alias equal to its catalog name, so any other service of the environment reaches it
// as http://payment (port 80). The source design's Cloud Map DNS service ({svc}.{env}.local)
// stays in the same namespace (registersDNS says when tasks are registered in it), so the
// discovery name differs from the catalog name to keep both.

// PortName is the name of a service's port mapping, which Service Connect refers to.
func PortName(svc catalog.Service) string { return naming.Names{}.ServiceConnectPort(svc.Name) }

func serviceConnectConfig(e *Env, svc catalog.Service, namespaceARN string) *ecstypes.ServiceConnectConfiguration {
	return &ecstypes.ServiceConnectConfiguration{
		Enabled:   true,
		Namespace: aws.String(namespaceARN),
		Services: []ecstypes.ServiceConnectService{{
			PortName:      aws.String(PortName(svc)),
			DiscoveryName: aws.String(PortName(svc)),
			ClientAliases: []ecstypes.ServiceConnectClientAlias{{Port: aws.Int32(svc.Port), DnsName: aws.String(svc.Name)}},
		}},
		// The Service Connect proxy logs to the service's encrypted log group.
		LogConfiguration: &ecstypes.LogConfiguration{
			LogDriver: ecstypes.LogDriverAwslogs,
			Options: map[string]string{
				"awslogs-group": e.Names.LogGroup(svc.Name), "awslogs-region": e.Region,
				"awslogs-stream-prefix": svc.Name + "-service-connect",
			},
		},
	}
}

// serviceConnectFingerprint names a configuration ("off" for none) compactly for the state file.
func serviceConnectFingerprint(c *ecstypes.ServiceConnectConfiguration) string {
	if c == nil || !c.Enabled {
		return "off"
	}
	raw, _ := json.Marshal(struct {
		Namespace, Port, Discovery, Alias, LogGroup, Prefix string
		AliasPort                                           int32
	}{
		aws.ToString(c.Namespace), aws.ToString(c.Services[0].PortName), aws.ToString(c.Services[0].DiscoveryName),
		aws.ToString(c.Services[0].ClientAliases[0].DnsName), c.LogConfiguration.Options["awslogs-group"],
		c.LogConfiguration.Options["awslogs-stream-prefix"], aws.ToInt32(c.Services[0].ClientAliases[0].Port),
	})
	return requestToken(string(raw))
}

// reportedServiceConnect is the configuration of the service's primary deployment, where ECS
// reports it; nil when it reports none.
func reportedServiceConnect(svc *ecstypes.Service) *ecstypes.ServiceConnectConfiguration {
	for _, d := range svc.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			return d.ServiceConnectConfiguration
		}
	}
	return nil
}

// serviceConnectMatches compares what ECS reports, or, when it reports nothing, what tapctl
// recorded applying.
func serviceConnectMatches(reported *ecstypes.ServiceConnectConfiguration, recorded string, want *ecstypes.ServiceConnectConfiguration) bool {
	if reported != nil && len(reported.Services) > 0 && len(reported.Services[0].ClientAliases) > 0 && reported.LogConfiguration != nil {
		return serviceConnectFingerprint(reported) == serviceConnectFingerprint(want)
	}
	if reported != nil && !reported.Enabled {
		return want == nil
	}
	if recorded == "" {
		recorded = "off"
	}
	return recorded == serviceConnectFingerprint(want)
}
