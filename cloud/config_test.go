package cloud

import (
	"strings"
	"testing"
)

func TestValidateEndpoint(t *testing.T) {
	for _, ok := range []string{"", "http://127.0.0.1:4566", "https://ecs.us-east-1.amazonaws.com", "http://[::1]:5000", "http://localhost:5000/prefix"} {
		if err := ValidateEndpoint(ok); err != nil {
			t.Errorf("ValidateEndpoint(%q) = %v, want nil", ok, err)
		}
	}
	for bad, want := range map[string]string{
		"foo":                        "must be an http:// or https:// URL",
		"localhost:4566":             "must be an http:// or https:// URL",
		"127.0.0.1:4566":             "invalid --endpoint",
		"ftp://host":                 "must be an http:// or https:// URL",
		"http://":                    "names no host",
		"http:///path":               "names no host",
		"http://host:port":           "invalid port",
		"http://user:pw@host":        "only scheme, host, port and path",
		"http://host/?a=b":           "only scheme, host, port and path",
		"http://host\nX-Injected: 1": "invalid --endpoint",
	} {
		err := ValidateEndpoint(bad)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ValidateEndpoint(%q) = %v, want one line containing %q", bad, err, want)
		}
	}
}
