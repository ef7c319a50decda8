# The README's two commands: `make demo` and `make test`.
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: build test demo bench emulator-install vet fuzz crash-sweep graph architecture architecture-check actionlint

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/tapctl .

vet:
	$(GO) vet ./...

# Every test, including the integration tests against moto (installed into .venv-moto on first use).
# The race detector watches the packages without the emulator, the harness, and the scenarios
# that run tapctl in-process side by side (the fault tests, gc's parallel downs). The scenarios
# run as two test binaries side by side, each with its own emulator (two cores kept busy): the
# first holds the race-watched ones and the crash tests (which kill a separately built binary),
# the second all the others.
# The race detector needs cgo and a C compiler: without them the tests run without it, and say so.
RACE := $(shell [ "$$($(GO) env CGO_ENABLED)" = 1 ] && command -v "$$($(GO) env CC)" >/dev/null 2>&1 && echo -race)
UNIT_PACKAGES = $(shell $(GO) list ./... | grep -v /localstack/scenarios)
SCENARIOS_FIRST := ^(TestLostCreateAnswersLeaveExactlyOneOfEach|TestUpAndDownInBadWeather|TestUpAndDownUnderEventualConsistency|TestNotYetAnswersAfterCreatesAreRetried|TestLostEndpointEndsWithOneShortSummary|TestGC.*|TestKilled.*)$$
test: vet
ifeq ($(RACE),)
	@echo "make test: no C compiler for cgo, so no race detector in this run" >&2
endif
	$(GO) test $(RACE) -count=1 -timeout 10m $(UNIT_PACKAGES)
	$(GO) test $(RACE) -count=1 -timeout 40m -run '$(SCENARIOS_FIRST)' ./localstack/scenarios/ & first=$$!; \
	$(GO) test -count=1 -timeout 40m -skip '$(SCENARIOS_FIRST)' ./localstack/scenarios/; rest=$$?; \
	wait $$first; faults=$$?; [ $$rest = 0 ] && [ $$faults = 0 ]

# Each fuzz target for a count of executions (about 10 s each here; `make fuzz FUZZTIME=10m`
# digs deeper). Counts, not seconds: with a duration, Go 1.26's fuzzing coordinator can fail a
# target with a bare "context deadline exceeded" when a loaded machine delays a worker at the
# deadline (golang/go#75804, fixed in Go 1.27; it failed CI once); a count has no deadline.
FUZZTIME ?=
FUZZ_TARGETS := FuzzOpen:./state/:10000x FuzzParse:./catalog/:100000x FuzzValidateEnv:./naming/:150000x FuzzNamesAreInjective:./naming/:100000x FuzzValidateRegion:./cloud/:60000x FuzzParseChoices:./provision/:60000x
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		name=$${t%%:*}; rest=$${t#*:}; pkg=$${rest%%:*}; budget=$(if $(FUZZTIME),$(FUZZTIME),$${rest#*:}); \
		echo "fuzz $$name for $$budget"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $$budget -fuzzminimizetime 1000x $$pkg; \
	done

# The crash tests at every kill point (make test tries an evenly spread sample): tapctl is
# SIGKILLed after each mutating call of a fresh up and of a down, then run again.
crash-sweep:
	TAPCTL_CRASH_SWEEP=full $(GO) test -count=1 -timeout 60m -v -run 'TestKilledUpIsFinishedByTheNextUp|TestKilledDownIsFinishedByTheNextDown' ./localstack/scenarios/

# Start moto, run tapctl up against it, show status, tear it down, stop moto.
demo: build
	$(GO) run ./localstack/demo --tapctl bin/tapctl

emulator-install:
	$(GO) test -count=1 -run TestEmulatorAnswers ./localstack/

# Through the timing model: fresh up, no-change up and down at parallelism 1 and 10; writes BENCHMARKS.md.
bench:
	$(GO) run ./localstack/bench

# The platform's picture in the README (docs/platform-graph.svg): tapctl graph --offline makes no
# AWS call; Graphviz draws it (Debian/Ubuntu: apt-get install graphviz).
graph: build
	mkdir -p docs
	bin/tapctl graph --offline --format dot | dot -Tsvg -o docs/platform-graph.svg

# The package picture in docs/ARCHITECTURE.md, drawn from the code (go list -json ./...).
architecture:
	$(GO) run ./tools/archgraph -doc docs/ARCHITECTURE.md

# CI: fails when docs/ARCHITECTURE.md's picture differs from the code, or a package has no
# paragraph there. It draws into a temporary file and diffs, so the committed file is not touched.
architecture-check:
	@tmp=$$(mktemp) && trap 'rm -f "$$tmp"' EXIT; \
	$(GO) run ./tools/archgraph -doc docs/ARCHITECTURE.md -o "$$tmp"; drawn=$$?; \
	if ! diff -u docs/ARCHITECTURE.md "$$tmp"; then \
		echo "docs/ARCHITECTURE.md is stale: run make architecture and commit it" >&2; exit 1; \
	fi; exit $$drawn

# The GitHub Actions examples (examples/github-actions/) must pass actionlint, pinned; it runs
# shellcheck on the run: scripts when shellcheck is installed.
ACTIONLINT_VERSION ?= v1.7.12
actionlint:
	GOBIN=$(CURDIR)/bin $(GO) install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)
	bin/actionlint examples/github-actions/*.yml
