//go:build race

package socketserver_test

// raceEnabled: the race detector's instrumentation deepens stacks, so
// tests of stack sizes run without it (.ci/run runs them so too).
const raceEnabled = true
