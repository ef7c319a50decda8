package engine

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

func TestPlanFieldsMaskSecretsAndDropNoise(t *testing.T) {
	f := Fields(&secretsmanager.CreateSecretInput{
		Name: aws.String("db-credentials-e1"), SecretString: aws.String(`{"password":"hunter2"}`),
		ClientRequestToken: aws.String("tok"), Tags: []smtypes.Tag{{Key: aws.String("Name"), Value: aws.String("x")}},
	})
	raw, _ := json.Marshal(f)
	if strings.Contains(string(raw), "hunter2") || f["SecretString"] != "(sensitive)" || f["Name"] != "db-credentials-e1" {
		t.Errorf("fields = %s", raw)
	}
	for _, noise := range []string{"Tags", "ClientRequestToken", "Description", "KmsKeyId"} {
		if _, ok := f[noise]; ok {
			t.Errorf("fields hold %s: %s", noise, raw)
		}
	}
	td := Fields(&ecs.RegisterTaskDefinitionInput{Family: aws.String("payment-e1"), ContainerDefinitions: []ecstypes.ContainerDefinition{{
		Name:    aws.String("payment-container"),
		Secrets: []ecstypes.Secret{{Name: aws.String("DB_PASSWORD"), ValueFrom: aws.String("arn:secret:password::")}},
	}}})
	if raw, _ := json.Marshal(td); !strings.Contains(string(raw), `"Secrets":"(sensitive)"`) || strings.Contains(string(raw), "DB_PASSWORD") {
		t.Errorf("task definition fields = %s", raw)
	}
}
