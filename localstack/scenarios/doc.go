// Package scenarios holds tapctl's integration tests: each runs the real command line (in-process
// or as the built binary) against the emulator that package localstack starts, through its test
// proxy, and checks what AWS then holds. The package has no code of its own; the helpers the
// scenarios share are in helpers_test.go.
package scenarios
