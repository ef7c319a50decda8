package catalog

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"gopkg.in/yaml.v3"

	"github.com/tapctl/tapctl/naming"
)

// FileName is the catalog file tapctl reads from the working directory when --config is not given.
const FileName = "tapctl.yaml"

// Problem is one thing wrong with a catalog file, at a line, in a field.
type Problem struct {
	File  string
	Line  int
	Field string // e.g. "services[3].memory"; "" for the file as a whole
	Msg   string
}

func (p Problem) Error() string {
	where := p.File
	if p.Line > 0 {
		where += ":" + strconv.Itoa(p.Line)
	}
	if p.Field == "" {
		return where + ": " + p.Msg
	}
	return where + ": " + p.Field + ": " + p.Msg
}

// InvalidError lists every problem of a catalog file, in file order; Error gives one per line.
type InvalidError struct{ Problems []Problem }

func (e *InvalidError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// MaxFileSize bounds what tapctl reads as a catalog file. Fifty services take a few KiB; a
// --config that names /dev/zero or a large file by mistake must not fill the memory.
const MaxFileSize = 1 << 20

// Load reads and validates a catalog file. It makes no AWS call.
func Load(path string) ([]Service, error) {
	raw, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, raw)
}

// readFile reads a regular file of at most MaxFileSize bytes. What cannot be a catalog file
// (missing, a directory, a FIFO or device, too large, unreadable) is a Problem: bad input.
func readFile(path string) ([]byte, error) {
	refuse := func(format string, a ...any) error {
		return &InvalidError{[]Problem{{File: path, Msg: fmt.Sprintf(format, a...)}}}
	}
	// O_NONBLOCK: opening a FIFO would wait for a writer; it is refused below instead.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, refuse("no such file (tapctl init writes one)")
	case errors.Is(err, os.ErrPermission):
		return nil, refuse("not readable (permission denied)")
	case err != nil:
		return nil, fmt.Errorf("reading catalog file %s: %w", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading catalog file %s: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return nil, refuse("is %s, not a file; --config names the catalog file (tapctl init writes one)", fileKind(info.Mode()))
	}
	raw, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading catalog file %s: %w", path, err)
	}
	if len(raw) > MaxFileSize {
		return nil, refuse("larger than 1 MiB, the most tapctl reads as a catalog (one of 50 services takes a few KiB); is it the right file?")
	}
	return raw, nil
}

// fileKind names what a path is when it is not a regular file.
func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// yamlLine finds the line yaml.v3 reports in its messages ("yaml: line 3: ...").
var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// Parse reads a catalog from raw; file names the source in error messages. Fields a service
// leaves out take their defaults; every problem found is reported, with its line and field.
func Parse(file string, raw []byte) ([]Service, error) {
	f, err := ParseFile(file, raw)
	return f.Services, err
}

// ParseFile is Parse with the file's network section (DefaultNetwork when it has none).
func ParseFile(file string, raw []byte) (File, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		p := Problem{File: file, Msg: err.Error()}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			p.Line, _ = strconv.Atoi(m[1])
			p.Msg = m[2]
		}
		return File{}, &InvalidError{[]Problem{p}}
	}
	r := &reader{file: file, net: DefaultNetwork()}
	services := r.document(&doc)
	if len(r.problems) == 0 {
		r.crossCheck(services)
	}
	if len(r.problems) > 0 {
		return File{}, &InvalidError{r.problems}
	}
	return File{Services: services, Network: r.net}, nil
}

// reader walks the YAML tree, collecting problems instead of stopping at the first.
type reader struct {
	file     string
	problems []Problem
	// lines remembers where each service's fields are, for the checks across services.
	lines []map[string]int
	// net is the network section read (network.go).
	net Network
}

func (r *reader) add(n *yaml.Node, field, format string, a ...any) {
	r.problems = append(r.problems, Problem{File: r.file, Line: n.Line, Field: field, Msg: fmt.Sprintf(format, a...)})
}

func (r *reader) document(doc *yaml.Node) []Service {
	if doc.Kind == 0 || len(doc.Content) == 0 {
		r.problems = append(r.problems, Problem{File: r.file, Msg: "the file is empty; it needs a services list (tapctl init writes an example)"})
		return nil
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		r.add(top, "", "the file must be a mapping with a services list")
		return nil
	}
	var services []Service
	keys := map[string]int{}
	for i := 0; i+1 < len(top.Content); i += 2 {
		key, val := top.Content[i], top.Content[i+1]
		if r.givenAgain(keys, key, key.Value) {
			continue
		}
		switch key.Value {
		case "version":
			if val.Value != "1" {
				r.add(val, "version", "unsupported version %q: this tapctl reads version 1", val.Value)
			}
		case "services":
			services = r.serviceList(val)
		case "network":
			r.net = r.network(val)
		default:
			r.add(key, key.Value, "unknown field (the file holds version, services and network)")
		}
	}
	if _, seen := keys["services"]; !seen {
		r.add(top, "services", "required: the list of services")
	}
	return services
}

// MaxServices is what the environment's one load balancer holds. Each service takes two target
// groups (blue and green) and one listener rule; the Elastic Load Balancing quotas allow 100
// target groups per Application Load Balancer (not adjustable) and 100 rules (by default).
const MaxServices = 50

// givenAgain reports a mapping key seen before, naming both lines, and says whether it was.
// yaml.v3 refuses a repeated key only when it decodes into Go values; into a yaml.Node it keeps
// both, and the later one would silently replace the earlier (two services: blocks, say, after
// appending to the file with cat >>).
func (r *reader) givenAgain(keys map[string]int, key *yaml.Node, field string) bool {
	if key.Kind != yaml.ScalarNode {
		return false // not a field name; reported as an unknown field
	}
	first, again := keys[key.Value]
	if !again {
		keys[key.Value] = key.Line
		return false
	}
	r.add(key, field, "given twice, at lines %d and %d; keep one%s", first, key.Line, mergeHint(key.Value))
	return true
}

// mergeHint says what to do with a second services list.
func mergeHint(key string) string {
	if key == "services" {
		return " list and put every service in it"
	}
	return ""
}

func (r *reader) serviceList(n *yaml.Node) []Service {
	if n.Kind != yaml.SequenceNode {
		r.add(n, "services", "must be a list of services")
		return nil
	}
	if len(n.Content) == 0 {
		r.add(n, "services", "must list at least one service")
	}
	if len(n.Content) > MaxServices {
		r.add(n, "services", "%d services; at most %d fit one load balancer: each service takes two target groups and one listener rule, and AWS allows 100 target groups and 100 rules per Application Load Balancer (Elastic Load Balancing quotas)", len(n.Content), MaxServices)
	}
	var out []Service
	for i, item := range n.Content {
		out = append(out, r.service(item, fmt.Sprintf("services[%d]", i)))
	}
	return out
}

// service reads one list item; checks that need only this service happen here.
func (r *reader) service(n *yaml.Node, at string) Service {
	lines := map[string]int{"": n.Line}
	r.lines = append(r.lines, lines)
	svc := Service{
		Port: DefaultPort, Image: DefaultImage, CPU: DefaultCPU, Memory: DefaultMemory,
		Desired: DefaultDesired, MinCount: DefaultMinCount, MaxCount: DefaultMaxCount,
		CPUTarget: DefaultCPUTarget, HealthPath: DefaultHealthPath,
	}
	if n.Kind != yaml.MappingNode {
		r.add(n, at, "must be a mapping of fields (name, path, priority, ...)")
		return svc
	}
	fields, keys := map[string]*yaml.Node{}, map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		field := at + "." + key.Value
		if r.givenAgain(keys, key, field) {
			continue
		}
		if _, known := fieldDocs[key.Value]; !known {
			r.add(key, field, "unknown field (known: %s)", strings.Join(fieldOrder, ", "))
			continue
		}
		fields[key.Value] = val
		lines[key.Value] = val.Line
	}
	if v, ok := fields["name"]; ok {
		svc.Name = r.name(v, at+".name")
	} else {
		r.add(n, at+".name", "required")
	}
	svc.PathPattern = "/" + svc.Name + "/*"
	if v, ok := fields["path"]; ok {
		svc.PathPattern = r.pathPattern(v, at+".path")
	}
	if v, ok := fields["priority"]; ok {
		svc.Priority = r.integer(v, at+".priority", 1, 50000)
	} else {
		r.add(n, at+".priority", "required: the listener rule priority, 1-50000, unique")
	}
	if v, ok := fields["port"]; ok {
		svc.Port = r.integer(v, at+".port", 1, 65535)
	}
	if v, ok := fields["image"]; ok {
		svc.Image = r.image(v, at+".image")
	}
	cpuOK, memOK := true, true
	if v, ok := fields["cpu"]; ok {
		n := len(r.problems)
		svc.CPU = r.integer(v, at+".cpu", 0, math.MaxInt32)
		cpuOK = len(r.problems) == n
		if _, valid := fargateMemory[svc.CPU]; cpuOK && !valid {
			r.add(v, at+".cpu", "%d is not a Fargate CPU size (256, 512, 1024, 2048, 4096, 8192 or 16384)", svc.CPU)
			cpuOK = false
		}
	}
	memNode := fields["memory"]
	if memNode != nil {
		n := len(r.problems)
		svc.Memory = r.integer(memNode, at+".memory", 0, math.MaxInt32)
		memOK = len(r.problems) == n
	} else {
		memNode = n
	}
	if cpuOK && memOK && !validMemory(svc.CPU, svc.Memory) {
		r.add(memNode, at+".memory", "%d is not a valid Fargate memory for cpu %d (%s)", svc.Memory, svc.CPU, fargateMemory[svc.CPU].describe())
	}
	for _, c := range []struct {
		key string
		dst *int32
	}{{"desiredCount", &svc.Desired}, {"minCount", &svc.MinCount}, {"maxCount", &svc.MaxCount}} {
		if v, ok := fields[c.key]; ok {
			*c.dst = r.integer(v, at+"."+c.key, 0, 1000)
		}
	}
	if svc.MinCount > svc.Desired || svc.Desired > svc.MaxCount {
		field, node := "desiredCount", fields["desiredCount"]
		if svc.MinCount > svc.MaxCount {
			field, node = "minCount", fields["minCount"]
		}
		if node == nil {
			node = n
		}
		r.add(node, at+"."+field, "counts must satisfy minCount <= desiredCount <= maxCount (here %d, %d, %d)", svc.MinCount, svc.Desired, svc.MaxCount)
	}
	if svc.MaxCount < 1 && fields["maxCount"] != nil {
		r.add(fields["maxCount"], at+".maxCount", "must be at least 1")
	}
	if v, ok := fields["cpuTarget"]; ok {
		svc.CPUTarget = r.percent(v, at+".cpuTarget")
	}
	if v, ok := fields["healthCheckPath"]; ok {
		svc.HealthPath = r.healthPath(v, at+".healthCheckPath")
	}
	if v, ok := fields["environment"]; ok {
		svc.Environment = r.environment(v, at+".environment")
	}
	return svc
}

// crossCheck finds what no single service shows: the same name, priority or path twice.
func (r *reader) crossCheck(services []Service) {
	names, priorities, paths := map[string]int{}, map[int32]int{}, map[string]int{}
	for i, svc := range services {
		at := fmt.Sprintf("services[%d]", i)
		line := func(field string) int {
			if l, ok := r.lines[i][field]; ok {
				return l
			}
			return r.lines[i][""]
		}
		if j, dup := names[svc.Name]; dup {
			r.problems = append(r.problems, Problem{r.file, line("name"), at + ".name", fmt.Sprintf("%q is already the name of services[%d]", svc.Name, j)})
		} else {
			names[svc.Name] = i
		}
		if j, dup := priorities[svc.Priority]; dup {
			r.problems = append(r.problems, Problem{r.file, line("priority"), at + ".priority", fmt.Sprintf("%d is already the priority of services[%d]; listener rule priorities are unique", svc.Priority, j)})
		} else {
			priorities[svc.Priority] = i
		}
		if j, dup := paths[svc.PathPattern]; dup {
			r.problems = append(r.problems, Problem{r.file, line("path"), at + ".path", fmt.Sprintf("%q is already the path of services[%d]", svc.PathPattern, j)})
		} else {
			paths[svc.PathPattern] = i
		}
	}
}

func (r *reader) scalar(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		r.add(n, field, "must be a single value")
		return "", false
	}
	if n.Tag == "!!null" {
		r.add(n, field, "has no value")
		return "", false
	}
	return n.Value, true
}

func (r *reader) integer(n *yaml.Node, field string, lo, hi int64) int32 {
	s, ok := r.scalar(n, field)
	if !ok {
		return 0
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n.Tag != "!!int" {
		r.add(n, field, "%q is not a whole number", s)
		return 0
	}
	if v < lo || v > hi {
		r.add(n, field, "%d is out of range (%d-%d)", v, lo, hi)
		return 0
	}
	return int32(v)
}

// name checks a service name by naming's rule, the one every command applies.
func (r *reader) name(n *yaml.Node, field string) string {
	s, ok := r.scalar(n, field)
	if !ok {
		return ""
	}
	if err := naming.ValidateService(s); err != nil {
		r.add(n, field, "%v", err)
	}
	return s
}

// pathChars are the characters an ALB path-pattern condition accepts.
var pathChars = regexp.MustCompile(`^/[A-Za-z0-9_\-.$/~"'@:+&*?]*$`)

func (r *reader) pathPattern(n *yaml.Node, field string) string {
	s, ok := r.scalar(n, field)
	if !ok {
		return ""
	}
	switch {
	case !pathChars.MatchString(s):
		r.add(n, field, "%q: a path pattern starts with / and holds only letters, digits and _-.$/~\"'@:+&*?", s)
	case len(s) > 128:
		r.add(n, field, "%d characters; a path pattern has at most 128", len(s))
	}
	return s
}

func (r *reader) healthPath(n *yaml.Node, field string) string {
	s, ok := r.scalar(n, field)
	if !ok {
		return ""
	}
	if !strings.HasPrefix(s, "/") || len(s) > 1024 || strings.ContainsAny(s, " \t\r\n") {
		r.add(n, field, "%q: a health check path starts with /, has no spaces and at most 1024 characters", s)
	}
	return s
}

func (r *reader) image(n *yaml.Node, field string) string {
	s, ok := r.scalar(n, field)
	if !ok {
		return ""
	}
	if err := CheckImage(s); err != nil {
		r.add(n, field, "%v", err)
	}
	return s
}

func (r *reader) percent(n *yaml.Node, field string) float64 {
	s, ok := r.scalar(n, field)
	if !ok {
		return 0
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || (n.Tag != "!!int" && n.Tag != "!!float") {
		r.add(n, field, "%q is not a number", s)
		return 0
	}
	if v < 1 || v > 100 {
		r.add(n, field, "%g is out of range: a CPU target is a percentage from 1 to 100", v)
	}
	return v
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reservedEnv are set by tapctl itself (task_definitions.go).
var reservedEnv = map[string]bool{"SERVICE_NAME": true, "ENVIRONMENT": true, "PORT": true, "DB_PASSWORD": true, "DB_USERNAME": true}

// secretLike names belong in Secrets Manager: task definition variables are readable by anyone
// who may describe the task definition.
var secretLike = regexp.MustCompile(`(?i)password|secret|passwd|private_?key|token`)

func (r *reader) environment(n *yaml.Node, field string) map[string]string {
	if n.Kind != yaml.MappingNode {
		r.add(n, field, "must be a mapping of variable names to values")
		return nil
	}
	out, keys := map[string]string{}, map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		at := field + "." + key.Value
		if r.givenAgain(keys, key, at) {
			continue
		}
		switch {
		case !envName.MatchString(key.Value):
			r.add(key, at, "not a valid variable name (letters, digits, _; not starting with a digit)")
			continue
		case reservedEnv[key.Value]:
			r.add(key, at, "set by tapctl itself; choose another name")
			continue
		case secretLike.MatchString(key.Value):
			r.add(key, at, "looks like a secret: task definition variables are readable by anyone who may describe the task definition; keep secrets in Secrets Manager")
			continue
		}
		if val.Kind != yaml.ScalarNode {
			r.add(val, at, "must be a single value (quote it to keep it text)")
			continue
		}
		out[key.Value] = val.Value
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
