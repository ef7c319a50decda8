package catalog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

func TestTemplateLoadsBackToTheDefaultCatalog(t *testing.T) {
	got, err := Parse("tapctl.yaml", Template(Default()))
	if err != nil {
		t.Fatalf("the written default file does not load: %v\n%s", err, Template(Default()))
	}
	if !reflect.DeepEqual(got, Default()) {
		t.Fatalf("loaded %+v, want %+v", got, Default())
	}
	for _, f := range fieldOrder {
		if !strings.Contains(string(Template(Default())), f) {
			t.Errorf("the written file does not mention field %s", f)
		}
	}
}

func TestTemplateRoundTripsEveryField(t *testing.T) {
	svc := Service{Name: "search", PathPattern: "/search/v1/*", Priority: 40, Port: 8080, Image: "public.ecr.aws/nginx/nginx:1.27",
		CPU: 512, Memory: 3072, Desired: 1, MinCount: 1, MaxCount: 4, CPUTarget: 55.5, HealthPath: "/healthz",
		Environment: map[string]string{"LOG_LEVEL": "debug", "FEATURE_X": "on: \"yes\""}}
	services := append(Default(), svc)
	got, err := Parse("x.yaml", Template(services))
	if err != nil {
		t.Fatalf("%v\n%s", err, Template(services))
	}
	if !reflect.DeepEqual(got, services) {
		t.Fatalf("loaded %+v, want %+v", got, services)
	}
}

func TestOmittedFieldsTakeTheirDefaults(t *testing.T) {
	got, err := Parse("f.yaml", []byte("services:\n  - name: search\n    priority: 20\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := WithDefaults("search", 20); !reflect.DeepEqual(got, []Service{want}) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestValidationErrorsNameFileLineAndField(t *testing.T) {
	const base = "version: 1\nservices:\n  - name: payment\n    priority: 10\n"
	for _, tc := range []struct {
		name, yaml string
		want       []string // one line per problem, in file order
	}{
		{"bad fargate memory", base + "  - name: search\n    priority: 11\n    cpu: 1024\n    memory: 3000\n",
			[]string{"f.yaml:8: services[1].memory: 3000 is not a valid Fargate memory for cpu 1024 (2048–8192 in 1024 steps)"}},
		{"memory too small for the default cpu", base + "  - name: search\n    priority: 11\n    memory: 512\n",
			[]string{"f.yaml:7: services[1].memory: 512 is not a valid Fargate memory for cpu 1024 (2048–8192 in 1024 steps)"}},
		{"bad cpu", base + "  - name: search\n    priority: 11\n    cpu: 300\n",
			[]string{"f.yaml:7: services[1].cpu: 300 is not a Fargate CPU size"}},
		{"unknown field", base + "    memroy: 2048\n",
			[]string{"f.yaml:5: services[0].memroy: unknown field (known: name, path, priority"}},
		{"unknown top-level field", "servces: []\n",
			[]string{"f.yaml:1: servces: unknown field", "f.yaml:1: services: required"}},
		{"missing name and priority", base + "  - port: 8080\n",
			[]string{"f.yaml:5: services[1].name: required", "f.yaml:5: services[1].priority: required"}},
		{"duplicate priority", base + "  - name: search\n    priority: 10\n",
			[]string{"f.yaml:6: services[1].priority: 10 is already the priority of services[0]"}},
		{"duplicate name", base + "  - name: payment\n    priority: 11\n    path: /pay2/*\n",
			[]string{"f.yaml:5: services[1].name: \"payment\" is already the name of services[0]"}},
		{"duplicate path", base + "  - name: search\n    priority: 11\n    path: /payment/*\n",
			[]string{"f.yaml:7: services[1].path: \"/payment/*\" is already the path of services[0]"}},
		{"priority out of range", base + "  - name: search\n    priority: 50001\n",
			[]string{"f.yaml:6: services[1].priority: 50001 is out of range (1-50000)"}},
		{"bad name", base + "  - name: Search_1\n    priority: 11\n",
			[]string{"f.yaml:5: services[1].name: \"Search_1\": a service name starts with a lowercase letter and holds only lowercase letters and digits"}},
		{"long name", base + "  - name: averylongservicenamexy\n    priority: 11\n",
			[]string{"f.yaml:5: services[1].name: \"averylongservicenamexy\" is 22 characters; a service name has at most 20"}},
		{"hyphen in a name", base + "  - name: api-v2\n    priority: 11\n",
			[]string{"f.yaml:5: services[1].name: \"api-v2\": hyphens are not allowed in a service name, because AWS names are {service}-...-{env} and " +
				"service \"api-v2\" in environment pr1 and service \"api\" in environment v2-pr1 would share names (task definition family api-v2-pr1); use \"apiv2\""}},
		{"path without slash", base + "  - name: search\n    priority: 11\n    path: search/*\n",
			[]string{"f.yaml:7: services[1].path: \"search/*\": a path pattern starts with /"}},
		{"counts out of order", base + "  - name: search\n    priority: 11\n    minCount: 3\n    desiredCount: 2\n",
			[]string{"f.yaml:8: services[1].desiredCount: counts must satisfy minCount <= desiredCount <= maxCount (here 3, 2, 10)"}},
		{"port out of range", base + "  - name: search\n    priority: 11\n    port: 70000\n",
			[]string{"f.yaml:7: services[1].port: 70000 is out of range (1-65535)"}},
		{"cpu target out of range", base + "  - name: search\n    priority: 11\n    cpuTarget: 120\n",
			[]string{"f.yaml:7: services[1].cpuTarget: 120 is out of range"}},
		{"not a number", base + "  - name: search\n    priority: ten\n",
			[]string{"f.yaml:6: services[1].priority: \"ten\" is not a whole number"}},
		{"secret in environment", base + "    environment:\n      DB_SECRET: x\n",
			[]string{"f.yaml:6: services[0].environment.DB_SECRET: looks like a secret"}},
		{"reserved variable", base + "    environment:\n      PORT: \"81\"\n",
			[]string{"f.yaml:6: services[0].environment.PORT: set by tapctl itself"}},
		{"services twice, as cat >> appends", base + "services:\n  - name: search\n    priority: 11\n",
			[]string{"f.yaml:5: services: given twice, at lines 2 and 5; keep one list and put every service in it"}},
		{"version twice", base + "version: 1\n", []string{"f.yaml:5: version: given twice, at lines 1 and 5; keep one"}},
		{"a field twice", base + "    port: 8080\n    priority: 12\n",
			[]string{"f.yaml:6: services[0].priority: given twice, at lines 4 and 6; keep one"}},
		{"a variable twice", base + "    environment:\n      LOG_LEVEL: info\n      LOG_LEVEL: debug\n",
			[]string{"f.yaml:7: services[0].environment.LOG_LEVEL: given twice, at lines 6 and 7; keep one"}},
		{"bad image", base + "    image: nginx:latest tag\n",
			[]string{"f.yaml:5: services[0].image: \"nginx:latest tag\": not a container image reference"}},
		{"empty list", "services: []\n", []string{"f.yaml:1: services: must list at least one service"}},
		{"empty file", "", []string{"f.yaml: the file is empty"}},
		{"yaml syntax", "services:\n  - name: a\n   priority: 1\n", []string{"f.yaml:1: did not find expected"}},
		{"several problems, each on its line", base + "  - name: search\n    priority: 0\n    port: 0\n",
			[]string{"f.yaml:6: services[1].priority: 0 is out of range", "f.yaml:7: services[1].port: 0 is out of range"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tc.yaml))
			var inv *InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("got %v, want an *InvalidError", err)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(lines), len(tc.want), err)
			}
			for i, want := range tc.want {
				if !strings.HasPrefix(lines[i], want) {
					t.Errorf("problem %d:\n got  %s\n want %s...", i, lines[i], want)
				}
			}
		})
	}
}

func TestLoadMissingFileSaysHowToMakeOne(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "tapctl.yaml"))
	if err == nil || !strings.Contains(err.Error(), "tapctl init") {
		t.Fatalf("got %v", err)
	}
}

// What cannot be a catalog file is refused in one line naming it, at once and without reading
// more than MaxFileSize+1 bytes: a directory, a FIFO (no hang waiting for a writer), a device,
// a file over 1 MiB (a sparse 2 GiB one is not read through).
func TestLoadRefusesWhatIsNotACatalogFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.yaml")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(2 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for path, want := range map[string]string{
		dir:         dir + ": is a directory, not a file; --config names the catalog file",
		fifo:        fifo + ": is a named pipe (FIFO), not a file",
		"/dev/zero": "/dev/zero: is a device, not a file",
		huge:        huge + ": larger than 1 MiB",
	} {
		_, err := Load(path)
		var inv *InvalidError
		if !errors.As(err, &inv) || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Load(%s) = %v, want one problem starting %q", path, err, want)
		}
	}
}

// Fifty services fit the load balancer; the fifty-first is refused in one line saying why.
func TestAtMostFiftyServices(t *testing.T) {
	services := make([]Service, MaxServices)
	for i := range services {
		services[i] = WithDefaults(fmt.Sprintf("svc%d", i), int32(i+1))
	}
	if _, err := Parse("f.yaml", Template(services)); err != nil {
		t.Fatalf("50 services: %v", err)
	}
	services = append(services, WithDefaults("onetoomany", 99))
	_, err := Parse("f.yaml", Template(services))
	line := strings.Count(strings.Split(string(Template(services)), "\nservices:")[0], "\n") + 3 // the list starts below "services:"
	want := fmt.Sprintf("f.yaml:%d: services: 51 services;", line) + " at most 50 fit one load balancer: each service takes two target groups and one listener rule, and AWS allows 100 target groups and 100 rules per Application Load Balancer"
	if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("51 services: %v", err)
	}
}

// A file of exactly MaxFileSize bytes is read; one byte more is refused.
func TestLoadReadsUpToOneMebibyte(t *testing.T) {
	head := "services:\n  - name: a\n    priority: 1\n#"
	body := head + strings.Repeat("x", MaxFileSize-len(head)-1) + "\n"
	path := filepath.Join(t.TempDir(), "tapctl.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err != nil {
		t.Fatalf("a file of exactly 1 MiB: %v", err)
	}
	if err := os.WriteFile(path, []byte(body+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Fatalf("a file of 1 MiB + 1 byte: %v", err)
	}
}

func TestLoadReadsAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tapctl.yaml")
	if err := os.WriteFile(path, Template(Default()), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil || !reflect.DeepEqual(got, Default()) {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestFargateMemory(t *testing.T) {
	for _, tc := range []struct {
		cpu, mem int32
		ok       bool
	}{{256, 512, true}, {256, 3072, false}, {512, 4096, true}, {1024, 2048, true}, {1024, 9216, false},
		{4096, 30720, true}, {8192, 20480, true}, {8192, 18432, false}, {16384, 122880, true}} {
		if got := validMemory(tc.cpu, tc.mem); got != tc.ok {
			t.Errorf("validMemory(%d, %d) = %v, want %v", tc.cpu, tc.mem, got, tc.ok)
		}
	}
}

// The README's walkthrough appends a fourth service to the file tapctl init writes.
func TestReadmeWalkthroughAppendsAService(t *testing.T) {
	file := string(Template(Default())) + `  - name: search
    priority: 13
    healthCheckPath: /healthz
    environment:
      LOG_LEVEL: info
`
	got, err := Parse("tapctl.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	want := WithDefaults("search", 13)
	want.HealthPath, want.Environment = "/healthz", map[string]string{"LOG_LEVEL": "info"}
	if len(got) != 4 || !reflect.DeepEqual(got[3], want) {
		t.Fatalf("got %+v", got)
	}
}
