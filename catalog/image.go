package catalog

import (
	"fmt"
	"regexp"
	"strings"
)

// The container image reference grammar of github.com/distribution/reference (reference.go),
// which Docker, containerd and ECS follow:
//
//	reference        := name [ ":" tag ] [ "@" digest ]
//	name             := [domain "/"] path
//	domain           := host [":" port-number]
//	host             := domain-name | IPv4address | "[" IPv6address "]"
//	domain-name      := domain-component ["." domain-component]*
//	domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
//	path             := path-component ["/" path-component]*
//	path-component   := alpha-numeric [separator alpha-numeric]*
//	alpha-numeric    := /[a-z0-9]+/
//	separator        := /[_.]|__|[-]+/
//	tag              := /[\w][\w.-]{0,127}/
//	digest           := algorithm ":" hex, algorithm components /[A-Za-z][A-Za-z0-9]*/
//	                    joined by /[+._-]/, hex /[0-9a-fA-F]{32,}/
const (
	imageDomainComponent = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
	imageDomain          = `(?:` + imageDomainComponent + `(?:\.` + imageDomainComponent + `)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?`
	imagePathComponent   = `[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+)*`
	imagePath            = imagePathComponent + `(?:/` + imagePathComponent + `)*`
	imageTag             = `[\w][\w.-]{0,127}`
	imageDigest          = `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`
)

var imageReference = regexp.MustCompile(`^(?:` + imageDomain + `/)?` + imagePath + `(?::` + imageTag + `)?(?:@` + imageDigest + `)?$`)

// MaxImageLength is ECS's limit on a container definition's image (RegisterTaskDefinition).
const MaxImageLength = 255

// CheckImage says what is wrong with a container image reference, nil when nothing. The
// message starts with the quoted reference.
func CheckImage(image string) error {
	switch {
	case image == "":
		return fmt.Errorf(`"": an image reference is required, e.g. "public.ecr.aws/nginx/nginx:1.27"`)
	case len(image) > MaxImageLength:
		return fmt.Errorf("%q is %d characters; ECS takes an image reference of at most %d", image, len(image), MaxImageLength)
	case !imageReference.MatchString(image):
		return fmt.Errorf("%q: not a container image reference: [registry[:port]/]path[:tag][@algorithm:hex], the path in lowercase letters, digits and single . _ __ or - between them (e.g. \"public.ecr.aws/nginx/nginx:1.27\")%s",
			image, uppercaseHint(image))
	}
	return nil
}

// uppercaseHint points at the most common slip: capitals in the repository path.
func uppercaseHint(image string) string {
	if lower := strings.ToLower(image); lower != image && imageReference.MatchString(lower) {
		return "; repository paths are lowercase"
	}
	return ""
}
