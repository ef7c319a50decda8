// Package catalog is the one place that says which services the platform runs: the source
// design's three services (Default), or the ones a catalog file lists (Load).
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
	// Environment holds plain, non-secret variables for the container (secrets come from
	// Secrets Manager); nil when there are none.
	Environment map[string]string
}

// Defaults of every field a catalog file may leave out (SPEC rows 18-22).
const (
	DefaultPort       = 80
	DefaultImage      = "amazon/amazon-ecs-sample"
	DefaultCPU        = 1024
	DefaultMemory     = 2048
	DefaultDesired    = 2
	DefaultMinCount   = 2
	DefaultMaxCount   = 10
	DefaultCPUTarget  = 70
	DefaultHealthPath = "/"
)

// WithDefaults is a service of the given name and priority with every other field at its default.
func WithDefaults(name string, priority int32) Service {
	return Service{
		Name:        name,
		PathPattern: "/" + name + "/*",
		Priority:    priority,
		Port:        DefaultPort,
		Image:       DefaultImage,
		CPU:         DefaultCPU,
		Memory:      DefaultMemory,
		Desired:     DefaultDesired,
		MinCount:    DefaultMinCount,
		MaxCount:    DefaultMaxCount,
		CPUTarget:   DefaultCPUTarget,
		HealthPath:  DefaultHealthPath,
	}
}

// Default is the catalog of the source design (SPEC rows 18-22).
func Default() []Service {
	return []Service{WithDefaults("payment", 10), WithDefaults("order", 11), WithDefaults("notification", 12)}
}

// Names lists the services' names in catalog order.
func Names(services []Service) []string {
	out := make([]string, 0, len(services))
	for _, s := range services {
		out = append(out, s.Name)
	}
	return out
}
