package catalog

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// fieldOrder is the order of a service's fields in files tapctl writes and in messages.
var fieldOrder = []string{"name", "path", "priority", "port", "image", "cpu", "memory",
	"desiredCount", "minCount", "maxCount", "cpuTarget", "healthCheckPath", "environment"}

// fieldDocs is the comment tapctl init writes beside each field.
var fieldDocs = map[string]string{
	"name":            "required; lowercase letters and digits (no hyphens), at most 20 characters",
	"path":            "path pattern of its load balancer rule (default /{name}/*)",
	"priority":        "required; rule priority, 1-50000, unique",
	"port":            "container port (default 80)",
	"image":           "container image (default amazon/amazon-ecs-sample)",
	"cpu":             "Fargate CPU units: 256, 512, 1024, 2048, 4096, 8192, 16384 (default 1024)",
	"memory":          "MiB, a valid Fargate size for the cpu (default 2048)",
	"desiredCount":    "tasks at creation; later auto scaling owns it (default 2)",
	"minCount":        "auto scaling minimum (default 2)",
	"maxCount":        "auto scaling maximum (default 10)",
	"cpuTarget":       "auto scaling CPU target, percent, 1-100 (default 70)",
	"healthCheckPath": "target group health check path (default /)",
	"environment":     "plain container variables, never secrets (default none)",
}

const templateHeader = `# tapctl service catalog: the services every environment runs.
#
# tapctl reads ./tapctl.yaml when it exists (or the file --config names); without one it uses
# the three services below. Field names are lowerCamelCase. Only name and priority are
# required; every other field may be left out and takes the default shown beside it.
# tapctl checks the whole file before any AWS call and reports file:line: field: problem.
#
# Add a service and run "tapctl up": its resources are created. Remove one and run
# "tapctl up": its resources are deleted. "tapctl plan" shows either first.
version: 1
`

// Template renders services as a catalog file, with a comment beside each field of the first
// service, and the default network section. Parse(Template(s)) gives s back.
func Template(services []Service) []byte {
	return TemplateFile(File{Services: services, Network: DefaultNetwork()})
}

// TemplateFile renders a whole catalog file: ParseFile(TemplateFile(f)) gives f back.
func TemplateFile(f File) []byte {
	services := f.Services
	var b strings.Builder
	b.WriteString(templateHeader)
	// Before the services, so that a service appended to the file lands in their list.
	b.WriteString(networkTemplate(f.Network) + "services:\n")
	for i, svc := range services {
		comment := func(field string) string {
			if i > 0 {
				return ""
			}
			return "# " + fieldDocs[field]
		}
		for j, f := range fieldOrder {
			prefix := "    "
			if j == 0 {
				prefix = "  - "
			}
			if f == "environment" {
				if len(svc.Environment) == 0 {
					if i == 0 {
						fmt.Fprintf(&b, "%-36s %s\n%s#   LOG_LEVEL: info\n", prefix+"# environment:", comment(f), prefix)
					}
					continue
				}
				line := prefix + "environment:"
				if c := comment(f); c != "" {
					line = fmt.Sprintf("%-36s %s", line, c)
				}
				b.WriteString(line + "\n")
				keys := make([]string, 0, len(svc.Environment))
				for k := range svc.Environment {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				for _, k := range keys {
					fmt.Fprintf(&b, "%s  %s: %s\n", prefix, k, quote(svc.Environment[k]))
				}
				continue
			}
			line := prefix + f + ": " + fieldValue(svc, f)
			if c := comment(f); c != "" {
				line = fmt.Sprintf("%-36s %s", line, c)
			}
			b.WriteString(line + "\n")
		}
	}
	return []byte(b.String())
}

func fieldValue(svc Service, field string) string {
	switch field {
	case "name":
		return svc.Name
	case "path":
		return quote(svc.PathPattern)
	case "priority":
		return strconv.Itoa(int(svc.Priority))
	case "port":
		return strconv.Itoa(int(svc.Port))
	case "image":
		return quote(svc.Image)
	case "cpu":
		return strconv.Itoa(int(svc.CPU))
	case "memory":
		return strconv.Itoa(int(svc.Memory))
	case "desiredCount":
		return strconv.Itoa(int(svc.Desired))
	case "minCount":
		return strconv.Itoa(int(svc.MinCount))
	case "maxCount":
		return strconv.Itoa(int(svc.MaxCount))
	case "cpuTarget":
		return strconv.FormatFloat(svc.CPUTarget, 'f', -1, 64)
	case "healthCheckPath":
		return quote(svc.HealthPath)
	}
	return ""
}

// quote writes a string as a JSON string, which is a valid YAML double-quoted scalar.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
