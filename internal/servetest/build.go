package servetest

import "runtime/debug"

// BuildFlags returns the go build flags that build a program as this test
// binary was built: its build tags, so that a program a test builds and
// starts (sockserve, an example) runs the engine under test; under
// `go test -tags socketserver_portable`, the portable one.
func BuildFlags() []string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	for _, s := range info.Settings {
		if s.Key == "-tags" && s.Value != "" {
			return []string{"-tags", s.Value}
		}
	}
	return nil
}
