package provision

import "fmt"

// Everything the platform records in the state file, in one place.
//
// A shared resource is recorded under a fixed key, and a service's resource under
// serviceKey(service, kind); each key is also the name of the step that records it
// (engine.PlanDeletes relies on it). The network records one key per subnet and route table.
const (
	keyVPC             = "vpc"
	keyInternetGateway = "internet-gateway"
	keyElasticIP       = "elastic-ip"
	keyNATGateway      = "nat-gateway"
	keySecret          = "secret"
	keyLogKey          = "log-key"
	keyCluster         = "cluster"
	keyNamespace       = "namespace"
	// keyNamespaceOperation holds a create operation until it finishes: the namespace has no ID
	// before that, and a killed run must resume the operation rather than start a second one.
	keyNamespaceOperation = "namespace/operation"
	keyALBSecurityGroup   = "alb-security-group"
	keyTaskSecurityGroup  = "task-security-group"
	// keyEndpointSecurityGroup: the group of the interface endpoints (network.interfaceEndpoints).
	keyEndpointSecurityGroup = "endpoint-security-group"
	keyALB                   = "alb"
	keyListener              = "listener"
	keyDashboard             = "dashboard"
	keyMesh                  = "mesh"
)

// subnetKey records one of the six subnets: kind Public or Private, az 0 to AZCount-1.
func subnetKey(kind string, az int) string { return fmt.Sprintf("subnet/%s/%d", kind, az) }

// natKey and elasticIPKey record the NAT gateway of AZ az (0-2) and its address; the first
// AZ's keep the keys of the one gateway environments had before network.natGateways.
func natKey(az int) string {
	if az == 0 {
		return keyNATGateway
	}
	return fmt.Sprintf("%s/%d", keyNATGateway, az)
}

func elasticIPKey(az int) string {
	if az == 0 {
		return keyElasticIP
	}
	return fmt.Sprintf("%s/%d", keyElasticIP, az)
}

// vpcEndpointKey records the VPC endpoint of one service (s3, dynamodb, ecr.api, ...).
func vpcEndpointKey(kind string) string { return "vpc-endpoint/" + kind }

// routeTableKey records the public or the private route table.
func routeTableKey(kind string) string { return "route-table/" + kind }

// Kinds of a service's resources: serviceKey(service, kind) records one.
const (
	kindECRRepository      = "ecr-repository"
	kindLogGroup           = "log-group"
	kindExecutionRole      = "execution-role"
	kindTaskRole           = "task-role"
	kindInfrastructureRole = "infrastructure-role" // ECS moves load balancer traffic with it (blue/green)
	kindTaskDefinition     = "task-definition"
	kindTargetGroup        = "target-group"
	kindAltTargetGroup     = "alt-target-group"
	kindListenerRule       = "listener-rule"
	kindAlarms             = "alarms" // the ID is the alarms' names, comma-separated
	kindDiscoveryService   = "discovery-service"
	kindECSService         = "ecs-service"
	kindScaling            = "scaling"
	kindVirtualNode        = "virtual-node"
	kindVirtualService     = "virtual-service"
	// kindDeployment is the revision deploy or rollback made current; no step records it.
	kindDeployment = "deployment"
)

func serviceKey(service, kind string) string { return service + "/" + kind }

// DeploymentKey records the deployment deploy or rollback made of a service: the revision as
// ID, with the attributes AttrImage, AttrPrevious and AttrPreviousImage.
func DeploymentKey(service string) string { return serviceKey(service, kindDeployment) }

// Attributes recorded beside a resource's ID.
const (
	attrDNS            = "dns"            // load balancer: its DNS name (output LoadBalancerDns)
	attrURI            = "uri"            // ECR repository: its URI (outputs EcrRepo<Service>)
	attrName           = "name"           // ECS service: its name
	attrSubnet         = "subnet"         // NAT gateway: the subnet it was made in
	attrServiceConnect = "serviceConnect" // ECS service: the Service Connect configuration applied last (service_connect.go)

	AttrImage         = "image"         // deployment: the image deployed, which up keeps
	AttrPrevious      = "previous"      // deployment: the revision before it, for rollback
	AttrPreviousImage = "previousImage" // deployment: that revision's image
)

// Settings: what the state file records of the environment as a whole.
const (
	// SettingRegion binds a state file to its region, SettingAccount to its account: another
	// region's or account's run is refused before any call that changes anything.
	SettingRegion  = "region"
	SettingAccount = "account"
	// SettingServices lists the services the environment has (names, comma-separated), so that
	// a service taken out of the catalog is found and removed.
	SettingServices = "services"
	// The environment's choices (Choices), remembered for the runs without flags.
	SettingMesh           = "mesh"
	SettingDeployStrategy = "deployStrategy"
	SettingBakeTime       = "bakeTime"
	// SettingBase is an overlay's base environment (up --base), kept for every later run.
	SettingBase = "base"
	// SettingNetwork is the network section up applied last (NetworkSetting), for the commands
	// that read no catalog file's network (status, graph, down).
	SettingNetwork = "network"
)
