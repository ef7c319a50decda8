// Package catalog is the one place that says which services the platform runs.
// A later issue loads it from a file; today it is the source design's three services.
package catalog

// Service is one microservice of the platform.
type Service struct {
	Name        string
	PathPattern string
	Priority    int32
	Port        int32
	Image       string
	CPU         int32
	Memory      int32
	Desired     int32
	MinCount    int32
	MaxCount    int32
	CPUTarget   float64
	HealthPath  string
}

// Default is the catalog of the source design (SPEC rows 18-22).
func Default() []Service {
	mk := func(name string, priority int32) Service {
		return Service{
			Name:        name,
			PathPattern: "/" + name + "/*",
			Priority:    priority,
			Port:        80,
			Image:       "amazon/amazon-ecs-sample",
			CPU:         1024,
			Memory:      2048,
			Desired:     2,
			MinCount:    2,
			MaxCount:    10,
			CPUTarget:   70,
			HealthPath:  "/",
		}
	}
	return []Service{mk("payment", 10), mk("order", 11), mk("notification", 12)}
}
