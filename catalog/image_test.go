package catalog

import (
	"strings"
	"testing"
)

func TestCheckImageFollowsTheReferenceGrammar(t *testing.T) {
	digest := "sha256:" + strings.Repeat("a1", 32)
	for _, image := range []string{
		"nginx", "nginx:1.27", "amazon/amazon-ecs-sample", "public.ecr.aws/nginx/nginx:1.27",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com/payment-service-pr6906:v2",
		"localhost:5000/team/app", "registry.example.com:443/shop:v2@" + digest, "shop@" + digest,
		"[::1]:5000/app:Latest_1", "a__b/c--d/e.f_g", "Registry.Example.com/app", "x:" + strings.Repeat("t", 128),
	} {
		if err := CheckImage(image); err != nil {
			t.Errorf("CheckImage(%q) = %v, want nil", image, err)
		}
	}
	for image, want := range map[string]string{
		"":                              "an image reference is required",
		"nginx:1.27 ":                   "not a container image reference",
		"Nginx:1.27":                    "repository paths are lowercase",
		"team/App":                      "repository paths are lowercase",
		"nginx:":                        "not a container image reference",
		"nginx:-1":                      "not a container image reference",
		"x:" + strings.Repeat("t", 129): "not a container image reference",
		"a//b":                          "not a container image reference",
		"a/":                            "not a container image reference",
		"/a":                            "not a container image reference",
		"a..b":                          "not a container image reference",
		"a___b":                         "not a container image reference",
		"http://registry/app":           "not a container image reference",
		"app@sha256:abc":                "not a container image reference",
		"app@" + digest + ":v1":         "not a container image reference",
		"ex ample/app":                  "not a container image reference",
		strings.Repeat("a", 256):        "is 256 characters; ECS takes an image reference of at most 255",
	} {
		err := CheckImage(image)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("CheckImage(%q) = %v, want one line containing %q", image, err, want)
		}
	}
}
