package cloud

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwschemas "github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"
)

// Clients holds one client per AWS service tapctl talks to.
type Clients struct {
	EC2         *ec2.Client
	ECS         *ecs.Client
	ECR         *ecr.Client
	ELB         *elbv2.Client
	IAM         *iam.Client
	KMS         *kms.Client
	Logs        *cloudwatchlogs.Client
	CloudWatch  *cloudwatch.Client
	Secrets     *secretsmanager.Client
	ServiceDisc *servicediscovery.Client
	AutoScaling *applicationautoscaling.Client
	AppMesh     *appmesh.Client
	STS         *sts.Client
	// Tagging finds every tapctl resource of a region in one paginated call (tapctl list).
	Tagging *resourcegroupstaggingapi.Client
	// Quotas reads the region's VPC and Elastic IP quotas before up creates either.
	Quotas *servicequotas.Client
}

// NewClients builds every client from one configuration.
func NewClients(cfg aws.Config) *Clients {
	return &Clients{
		EC2:  ec2.NewFromConfig(cfg),
		ECS:  ecs.NewFromConfig(cfg),
		ECR:  ecr.NewFromConfig(cfg),
		ELB:  elbv2.NewFromConfig(cfg),
		IAM:  iam.NewFromConfig(cfg),
		KMS:  kms.NewFromConfig(cfg),
		Logs: cloudwatchlogs.NewFromConfig(cfg),
		CloudWatch: cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
			// CloudWatch serves both CBOR and the query protocol; emulators serve only query,
			// so query is the choice that is right everywhere.
			o.Protocol = awsquery.New(cwschemas.GraniteServiceVersion20100801)
		}),
		Secrets:     secretsmanager.NewFromConfig(cfg),
		ServiceDisc: servicediscovery.NewFromConfig(cfg),
		AutoScaling: applicationautoscaling.NewFromConfig(cfg),
		AppMesh:     appmesh.NewFromConfig(cfg),
		STS:         sts.NewFromConfig(cfg),
		Tagging:     resourcegroupstaggingapi.NewFromConfig(cfg),
		Quotas: servicequotas.NewFromConfig(cfg, func(o *servicequotas.Options) {
			// A quota that cannot be read falls back to AWS's default (provision/quotas.go): an
			// endpoint that does not answer is not worth the retries of a call that must succeed.
			o.Retryer = &quickWhenUnreachable{Retryer: o.Retryer}
		}),
	}
}

// NewS3 builds the client of the state bucket (--state s3://...). With an endpoint override
// (--endpoint, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3) it addresses buckets by path
// (http://host/bucket/key): emulators answer on one host and cannot serve a bucket's own
// subdomain, while AWS's endpoints use virtual-hosted addressing as the SDK does by default.
func NewS3(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if o.BaseEndpoint != nil {
			o.UsePathStyle = true
		}
		// The SDK would print a line to stderr for every answer without a checksum (a small
		// object, an emulator); tapctl's output stays its own.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
}
