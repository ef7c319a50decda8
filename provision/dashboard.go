package provision

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

// dashboardStep owns the CloudWatch dashboard of SPEC row 23.
type dashboardStep struct{}

func (dashboardStep) Name() string        { return keyDashboard }
func (dashboardStep) DependsOn() []string { return []string{keyCluster, keyALB} }

// The dashboard body format: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html
type dashboardBody struct {
	Widgets []dashboardWidget `json:"widgets"`
}

type dashboardWidget struct {
	Type       string `json:"type"`
	X          int    `json:"x"`
	Y          int    `json:"y"`
	Width      int    `json:"width"`
	Height     int    `json:"height"`
	Properties any    `json:"properties"` // widgetProperties or textProperties
}

type textProperties struct {
	Markdown string `json:"markdown"`
}

// ownerMarker is the text widget that proves a dashboard is the environment's: PutDashboard
// takes no tags, so the proof is written in the same call as the body (ownership.go).
func ownerMarker(e *Env) string {
	return fmt.Sprintf("Managed by tapctl: environment **%s**. Changes made here are replaced by the next `tapctl up`.", e.Name)
}

type widgetProperties struct {
	Title   string     `json:"title"`
	Region  string     `json:"region"`
	Stat    string     `json:"stat"`
	Period  int        `json:"period"`
	View    string     `json:"view"`
	Metrics [][]string `json:"metrics"`
}

// body builds the dashboard: cluster CPU and memory, each service's CPU and memory, and the
// load balancer's request count, response time, 4XX and 5XX; last, the owner marker.
func (d dashboardStep) body(e *Env) (string, error) {
	widgets, err := d.metricWidgets(e)
	if err != nil {
		return "", err
	}
	y := 0
	if n := len(widgets); n > 0 {
		y = widgets[n-1].Y + widgets[n-1].Height
	}
	widgets = append(widgets, dashboardWidget{Type: "text", X: 0, Y: y, Width: 24, Height: 1, Properties: textProperties{Markdown: ownerMarker(e)}})
	raw, err := json.Marshal(dashboardBody{Widgets: widgets})
	return string(raw), err
}

// owned proves a dashboard by its body: the marker, or exactly the metric widgets tapctl
// wrote before it wrote the marker (they name the environment's own cluster and load balancer).
func (d dashboardStep) owned(e *Env, body string) bool {
	var have struct {
		Widgets []struct {
			Type       string          `json:"type"`
			Properties json.RawMessage `json:"properties"`
		} `json:"widgets"`
	}
	if json.Unmarshal([]byte(body), &have) != nil {
		return false
	}
	for _, w := range have.Widgets {
		var text textProperties
		if w.Type == "text" && json.Unmarshal(w.Properties, &text) == nil && text.Markdown == ownerMarker(e) {
			return true
		}
	}
	legacy, err := d.metricWidgets(e)
	if err != nil {
		return false
	}
	raw, _ := json.Marshal(dashboardBody{Widgets: legacy})
	return sameJSON(body, string(raw))
}

func (dashboardStep) metricWidgets(e *Env) ([]dashboardWidget, error) {
	alb, err := e.Require(keyALB)
	if err != nil {
		return nil, err
	}
	lbDimension := loadBalancerDimension(alb.ID)
	cluster := e.Names.Cluster()
	widget := func(i int, title, stat string, metrics ...[]string) dashboardWidget {
		return dashboardWidget{
			Type: "metric", X: (i % 2) * 12, Y: (i / 2) * 6, Width: 12, Height: 6,
			Properties: widgetProperties{Title: title, Region: e.Region, Stat: stat, Period: 300, View: "timeSeries", Metrics: metrics},
		}
	}
	var widgets []dashboardWidget
	add := func(title, stat string, metrics ...[]string) {
		widgets = append(widgets, widget(len(widgets), title, stat, metrics...))
	}
	add("Cluster CPU utilization", "Average", []string{"AWS/ECS", "CPUUtilization", "ClusterName", cluster})
	add("Cluster memory utilization", "Average", []string{"AWS/ECS", "MemoryUtilization", "ClusterName", cluster})
	for _, svc := range e.Catalog {
		name := e.Names.Service(svc.Name)
		add(svc.Name+" CPU and memory", "Average",
			[]string{"AWS/ECS", "CPUUtilization", "ClusterName", cluster, "ServiceName", name},
			[]string{"AWS/ECS", "MemoryUtilization", "ClusterName", cluster, "ServiceName", name})
	}
	add("ALB request count", "Sum", []string{"AWS/ApplicationELB", "RequestCount", "LoadBalancer", lbDimension})
	add("ALB target response time", "Average", []string{"AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", lbDimension})
	add("ALB target 4XX and 5XX", "Sum",
		[]string{"AWS/ApplicationELB", "HTTPCode_Target_4XX_Count", "LoadBalancer", lbDimension},
		[]string{"AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", lbDimension})
	return widgets, nil
}

// find reads the dashboard's body once per run; a dashboard of that name without the
// environment's marker is someone else's.
func (d dashboardStep) find(ctx context.Context, e *Env) (string, bool, error) {
	body, err := engine.Discover(e.Run, "dashboard", func() (*string, error) {
		return engine.FindOwned(e.Run, engine.Lookup[string]{
			Kind: "dashboard", Name: e.Names.Dashboard(),
			ByName: func() (*string, error) {
				out, err := e.AWS.CloudWatch.GetDashboard(ctx, &cloudwatch.GetDashboardInput{DashboardName: aws.String(e.Names.Dashboard())})
				if cloud.IsNotFound(err) {
					return nil, nil
				}
				if err != nil {
					return nil, fmt.Errorf("reading dashboard %s: %w", e.Names.Dashboard(), err)
				}
				return out.DashboardBody, nil
			},
			Tags: func(body *string) (map[string]string, error) {
				if d.owned(e, aws.ToString(body)) {
					return map[string]string{engine.TagManagedBy: engine.ManagedByValue, engine.TagEnvironment: e.Name}, nil
				}
				return nil, nil
			},
			ID: func(*string) string { return e.Names.Dashboard() },
		})
	})
	if err != nil || body == nil {
		return "", false, err
	}
	return *body, true, nil
}

func (d dashboardStep) Claim(ctx context.Context, e *Env) error {
	_, _, err := d.find(ctx, e)
	return err
}

func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func (d dashboardStep) Up(ctx context.Context, e *Env) error {
	want, err := d.body(e)
	if err != nil {
		return err
	}
	name := e.Names.Dashboard()
	have, exists, err := d.find(ctx, e)
	if err != nil {
		return err
	}
	if exists && sameJSON(have, want) {
		e.Unchanged("dashboard "+name, name)
		return e.Record(keyDashboard, state.Resource{ID: name})
	}
	if _, err := e.AWS.CloudWatch.PutDashboard(ctx, &cloudwatch.PutDashboardInput{DashboardName: aws.String(name), DashboardBody: aws.String(want)}); err != nil {
		return fmt.Errorf("putting dashboard %s: %w", name, err)
	}
	if err := e.Record(keyDashboard, state.Resource{ID: name}); err != nil {
		return err
	}
	if exists {
		e.Updated("dashboard "+name, name, "widgets")
	} else {
		e.Created("dashboard "+name, name)
	}
	return nil
}

func (d dashboardStep) Down(ctx context.Context, e *Env) error {
	name := e.Names.Dashboard()
	_, exists, err := d.find(ctx, e)
	if err != nil {
		return err
	}
	return deleteThenForget(e, keyDashboard, exists, "dashboard "+name, name, func() error {
		_, err := e.AWS.CloudWatch.DeleteDashboards(ctx, &cloudwatch.DeleteDashboardsInput{DashboardNames: []string{name}})
		return err
	})
}

func (d dashboardStep) Inspect(ctx context.Context, e *Env) []Status {
	_, exists, err := d.find(ctx, e)
	return []Status{{Resource: "dashboard " + e.Names.Dashboard(), StateID: e.StateID(keyDashboard),
		AWS: engine.Observe(err, exists, func() string { return "present" })}}
}
