package cloud

import (
	"context"
	"testing"
)

// Path-style addressing follows any endpoint override, and only an override.
func TestNewS3UsesPathStyleOnlyWithAnEndpointOverride(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	load := func(endpoint string) bool {
		t.Helper()
		cfg, err := Load(context.Background(), Options{Region: "us-east-1", Endpoint: endpoint})
		if err != nil {
			t.Fatal(err)
		}
		return NewS3(cfg).Options().UsePathStyle
	}
	if load("") {
		t.Error("path-style on AWS's own endpoints")
	}
	if !load("http://127.0.0.1:4566") {
		t.Error("no path-style with --endpoint")
	}
	t.Setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:4566")
	if !load("") {
		t.Error("no path-style with AWS_ENDPOINT_URL_S3")
	}
}
