package naming

import (
	"strings"
	"testing"
)

var defaultServices = []string{"payment", "order", "notification"}

func TestValidateEnvAcceptsGoodNames(t *testing.T) {
	for _, env := range []string{"pr6906", "a", "dev-1", "feature-x1", "abcdefghijklmn"} {
		if err := ValidateEnv(env, defaultServices); err != nil {
			t.Errorf("ValidateEnv(%q) = %v, want nil", env, err)
		}
	}
}

func TestValidateEnvRejectsBadNames(t *testing.T) {
	cases := map[string]string{
		"":                "required",
		"PR6906":          "lowercase",
		"6906":            "start with a lowercase letter",
		"-pr":             "start with a lowercase letter",
		"pr_6906":         "hyphens",
		"pr 6906":         "hyphens",
		"pr-":             "end with a hyphen",
		"abcdefghijklmno": "load balancer name",
		"pr6906.x":        "hyphens",
	}
	for env, want := range cases {
		err := ValidateEnv(env, defaultServices)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateEnv(%q) = %v, want an error mentioning %q", env, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("ValidateEnv(%q) error spans lines: %q", env, err)
		}
	}
}

// Every name generated for the longest accepted env fits its AWS limit.
func TestLongestAcceptedEnvFitsEveryLimit(t *testing.T) {
	max := MaxEnvLength(defaultServices)
	if max != 14 {
		t.Fatalf("MaxEnvLength = %d, want 14 (microservices-alb-{env} <= 32)", max)
	}
	n := Names{Env: strings.Repeat("a", max)}
	for _, l := range envLimits {
		if got := l.name(n, ""); len(got) > l.max {
			t.Errorf("%s %q is %d > %d", l.kind, got, len(got), l.max)
		}
	}
	for _, svc := range defaultServices {
		for _, l := range serviceLimits {
			if got := l.name(n, svc); len(got) > l.max {
				t.Errorf("%s %q is %d > %d", l.kind, got, len(got), l.max)
			}
		}
	}
}

// A long service name (from a later catalog file) shortens the env allowed.
func TestLongServiceNameLimitsEnv(t *testing.T) {
	err := ValidateEnv("pr6906", []string{"averyveryverylongservice"})
	if err == nil || !strings.Contains(err.Error(), "target group name") {
		t.Fatalf("got %v, want a target group length error", err)
	}
}

func FuzzValidateEnv(f *testing.F) {
	for _, s := range []string{"pr6906", "", "A", "a-", "a--b", strings.Repeat("a", 100), "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, env string) {
		err := ValidateEnv(env, defaultServices)
		if err == nil {
			n := Names{Env: env}
			if len(n.ALB()) > 32 || len(n.TargetGroup("notification")) > 32 {
				t.Fatalf("accepted %q whose names exceed 32 characters", env)
			}
			if !envPattern.MatchString(env) {
				t.Fatalf("accepted %q which breaks the character rule", env)
			}
		} else if strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line error for %q", env)
		}
	})
}

func TestValidateService(t *testing.T) {
	for _, svc := range []string{"payment", "a", "apiv2", "s3", strings.Repeat("a", 20)} {
		if err := ValidateService(svc); err != nil {
			t.Errorf("ValidateService(%q) = %v, want nil", svc, err)
		}
	}
	for svc, want := range map[string]string{
		"api-v2":                `hyphens are not allowed in a service name, because AWS names are {service}-...-{env} and service "api-v2" in environment pr1 and service "api" in environment v2-pr1 would share names (task definition family api-v2-pr1); use "apiv2"`,
		"Api-v2":                `hyphens are not allowed in a service name, because AWS names are {service}-...-{env} and service "api-v2" in environment pr1 and service "api" in environment v2-pr1 would share names (task definition family api-v2-pr1); use a name such as "apiv2"`,
		"":                      "starts with a lowercase letter",
		"2fa":                   "starts with a lowercase letter",
		"Search":                "holds only lowercase letters and digits",
		"pay_ment":              "holds only lowercase letters and digits",
		strings.Repeat("a", 21): "is 21 characters; a service name has at most 20",
	} {
		err := ValidateService(svc)
		if err == nil || !strings.HasPrefix(err.Error(), `"`+svc+`"`) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ValidateService(%q) = %v, want one line starting with the name and containing %q", svc, err, want)
		}
	}
}

// ValidateEnv also checks the service names it is given, as every command passes the catalog's.
func TestValidateEnvRefusesABadServiceName(t *testing.T) {
	err := ValidateEnv("pr1", []string{"payment", "api-v2"})
	if err == nil || !strings.HasPrefix(err.Error(), `invalid service name "api-v2": hyphens are not allowed`) {
		t.Fatalf("got %v", err)
	}
}
