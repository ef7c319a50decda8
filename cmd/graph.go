package cmd

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/aws/smithy-go/middleware"
	"github.com/urfave/cli/v2"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/naming"
	"github.com/tapctl/tapctl/provision"
)

// A step's state in the picture, from engine.Inspect's answers for its resources.
const (
	graphCreated  = "created"
	graphMissing  = "missing"
	graphPartial  = "partial" // some of the step's resources exist, some are missing
	graphDrifted  = "drifted" // exists, but up would change it (plan has an update for it)
	graphError    = "error"   // AWS did not answer the read
	graphNoAWS    = ""        // --offline: no state drawn
	graphNoTarget = "no resource"
)

// graphNode is one step: its name, what it waits for, its state.
type graphNode struct {
	Name      string
	DependsOn []string
	State     string
	Service   string // the catalog service the step belongs to, "" for shared steps
}

func graphCommand(opts Options) *cli.Command {
	return &cli.Command{
		Name:  "graph",
		Usage: "draw the environment's resources and their dependencies (Graphviz dot or Mermaid), coloured by state",
		Description: `Each box is one step of up (a resource or a small group), each arrow goes from a step to the
steps that wait for it. The colour is what AWS says now (read calls only): created, missing,
partial (some of the step's resources missing), error (AWS did not answer). --offline draws the
platform without any AWS call and without --env (or with --env, in that environment's mesh and
deployment choices).

Examples:
   tapctl graph --env pr6906 | dot -Tsvg -o pr6906.svg
   tapctl graph --env pr6906 --format mermaid > pr6906.mmd
   tapctl graph --offline | dot -Tpng -o platform.png`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "env", Aliases: []string{"e"}, Usage: "environment name (not needed with --offline)"},
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "dot", Usage: "dot or mermaid"},
			&cli.BoolFlag{Name: "offline", Usage: "no AWS call: the platform's shape only"},
			configFlag(),
		},
		Action: func(c *cli.Context) error {
			format := c.String("format")
			if format != "dot" && format != "mermaid" {
				return usagef("invalid --format %q: use dot or mermaid", format)
			}
			var nodes []graphNode
			var err error
			if c.Bool("offline") {
				nodes, err = offlineGraph(c, opts)
			} else {
				nodes, err = liveGraph(c, opts)
			}
			if err != nil {
				return err
			}
			if format == "mermaid" {
				return writeMermaid(opts.Stdout, nodes)
			}
			return writeDot(opts.Stdout, nodes)
		},
	}
}

// offlineGraph is the platform's shape: the environment's choices when its state file is
// here, else the defaults.
func offlineGraph(c *cli.Context, opts Options) ([]graphNode, error) {
	f, err := loadCatalogFile(c, opts)
	if err != nil {
		return nil, err
	}
	services := f.Services
	choices := provision.DefaultChoices()
	choices.Network = f.Network // the catalog file's network, as up would build it
	if env := c.String("env"); env != "" {
		if err := naming.ValidateEnv(env, serviceNames(services)); err != nil {
			return nil, usageError{err}
		}
		st, err := openState(c, opts, env)
		if err != nil {
			return nil, err
		}
		choices = storedChoices(st)
	}
	return graphNodes(provision.Platform(services, choices), nil, services, nil)
}

// liveGraph colours each step by engine.Inspect (exists or not) and provision.Plan (would
// up change it: drifted), with read calls only (mutations refused, as for plan) and no lock.
func liveGraph(c *cli.Context, opts Options) ([]graphNode, error) {
	if c.String("env") == "" {
		return nil, usagef("graph needs --env (or --offline for the platform's shape)")
	}
	readOnly := opts
	readOnly.APIOptions = append([]func(*middleware.Stack) error{cloud.RefuseMutations}, opts.APIOptions...)
	s, err := openSession(c, readOnly, false)
	if err != nil {
		return nil, err
	}
	defer s.close()
	choices := rememberedChoices(s)
	steps := provision.Platform(s.env.Catalog, choices)
	statuses, err := engine.Inspect(c.Context, s.env, steps)
	if err != nil {
		return nil, err
	}
	changes, err := provision.Plan(c.Context, s.env, steps, nil, choices, defaultParallelism)
	if err != nil {
		return nil, err
	}
	drifted := map[string]bool{}
	for _, ch := range changes {
		if ch.Action == engine.Update {
			drifted[ch.Step] = true
		}
	}
	return graphNodes(steps, statuses, s.env.Catalog, drifted)
}

// graphNodes orders the steps as up runs them; nil statuses means offline.
func graphNodes(steps []provision.Step, statuses []engine.Status, services []catalog.Service, drifted map[string]bool) ([]graphNode, error) {
	ordered, err := engine.Order(steps)
	if err != nil {
		return nil, err
	}
	byStep := map[string][]engine.Status{}
	for _, st := range statuses {
		byStep[st.Step] = append(byStep[st.Step], st)
	}
	nodes := make([]graphNode, 0, len(ordered))
	for _, s := range ordered {
		state := graphNoAWS
		if statuses != nil {
			state = stepState(byStep[s.Name()])
			if drifted[s.Name()] && (state == graphCreated || state == graphPartial) {
				state = graphDrifted
			}
		}
		service := ""
		if prefix, _, ok := strings.Cut(s.Name(), "/"); ok && slices.Contains(serviceNames(services), prefix) {
			service = prefix
		}
		nodes = append(nodes, graphNode{Name: s.Name(), DependsOn: s.DependsOn(), State: state, Service: service})
	}
	return nodes, nil
}

// stepState folds the statuses of a step's resources into one state.
func stepState(statuses []engine.Status) string {
	if len(statuses) == 0 {
		return graphNoTarget // a step that only checks or waits, or has nothing to remove
	}
	missing := 0
	for _, st := range statuses {
		switch st.AWS.Kind {
		case engine.Failed:
			return graphError
		case engine.Missing:
			missing++
		}
	}
	switch missing {
	case 0:
		return graphCreated
	case len(statuses):
		return graphMissing
	}
	return graphPartial
}

// graphStyles: fill colour and line style per state, shared by both formats.
var graphStyles = map[string]struct{ fill, stroke, dash string }{
	graphCreated:  {"#c8e6c9", "#2e7d32", ""},
	graphMissing:  {"#eeeeee", "#757575", "dashed"},
	graphPartial:  {"#fff9c4", "#f9a825", ""},
	graphDrifted:  {"#ffe0b2", "#e65100", ""},
	graphError:    {"#ffcdd2", "#c62828", ""},
	graphNoAWS:    {"#e3f2fd", "#1565c0", ""},
	graphNoTarget: {"#ffffff", "#9e9e9e", "dotted"},
}

// label is the step's name, without the service prefix inside the service's box.
func (n graphNode) label() string {
	if n.Service != "" {
		return strings.TrimPrefix(n.Name, n.Service+"/")
	}
	return n.Name
}

// writeGroups writes the nodes a group at a time, groups in first-seen order: a service's nodes
// inside the box that open starts and closing ends, the platform's at the top level.
func writeGroups(b *strings.Builder, nodes []graphNode, open func(service string), node func(indent string, n graphNode), closing string) {
	var names []string
	members := map[string][]graphNode{}
	for _, n := range nodes {
		if _, seen := members[n.Service]; !seen {
			names = append(names, n.Service)
		}
		members[n.Service] = append(members[n.Service], n)
	}
	for _, g := range names {
		indent := "  "
		if g != "" {
			open(g)
			indent = "    "
		}
		for _, n := range members[g] {
			node(indent, n)
		}
		if g != "" {
			b.WriteString(closing)
		}
	}
}

func writeDot(w io.Writer, nodes []graphNode) error {
	var b strings.Builder
	b.WriteString("digraph tapctl {\n  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10];\n  edge [color=\"#607d8b\"];\n")
	writeGroups(&b, nodes, func(g string) {
		fmt.Fprintf(&b, "  subgraph %q {\n    label=%q; style=\"rounded\"; color=\"#b0bec5\"; fontname=\"Helvetica\";\n", "cluster_"+g, "service "+g)
	}, func(indent string, n graphNode) {
		st := graphStyles[n.State]
		label := n.label()
		if n.State != graphNoAWS {
			label += "\n" + n.State
		}
		style := "rounded,filled"
		if st.dash != "" {
			style += "," + st.dash
		}
		fmt.Fprintf(&b, "%s%q [label=%q, fillcolor=%q, color=%q, style=%q];\n", indent, n.Name, label, st.fill, st.stroke, style)
	}, "  }\n")
	for _, n := range nodes {
		for _, d := range n.DependsOn {
			fmt.Fprintf(&b, "  %q -> %q;\n", d, n.Name)
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeMermaid(w io.Writer, nodes []graphNode) error {
	ids := map[string]string{}
	for i, n := range nodes {
		ids[n.Name] = fmt.Sprintf("s%d", i)
	}
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	writeGroups(&b, nodes, func(g string) {
		fmt.Fprintf(&b, "  subgraph svc_%s [\"service %s\"]\n", mermaidID(g), g)
	}, func(indent string, n graphNode) {
		label := n.label()
		if n.State != graphNoAWS {
			label += "<br/>" + n.State
		}
		fmt.Fprintf(&b, "%s%s[\"%s\"]\n", indent, ids[n.Name], label)
	}, "  end\n")
	for _, n := range nodes {
		for _, d := range n.DependsOn {
			fmt.Fprintf(&b, "  %s --> %s\n", ids[d], ids[n.Name])
		}
	}
	used := map[string][]string{}
	for _, n := range nodes {
		class := mermaidID(n.State)
		used[class] = append(used[class], ids[n.Name])
	}
	for _, state := range []string{graphCreated, graphMissing, graphPartial, graphDrifted, graphError, graphNoAWS, graphNoTarget} {
		class := mermaidID(state)
		if len(used[class]) == 0 {
			continue
		}
		st := graphStyles[state]
		extra := ""
		if st.dash != "" {
			extra = ",stroke-dasharray:4 3"
		}
		fmt.Fprintf(&b, "  classDef %s fill:%s,stroke:%s%s\n", class, st.fill, st.stroke, extra)
		fmt.Fprintf(&b, "  class %s %s\n", strings.Join(used[class], ","), class)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mermaidID turns a name into letters, digits and underscores; the offline state is "plain".
func mermaidID(s string) string {
	if s == "" {
		return "plain"
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

func serviceNames(services []catalog.Service) []string {
	names := make([]string, 0, len(services))
	for _, s := range services {
		names = append(names, s.Name)
	}
	return names
}
