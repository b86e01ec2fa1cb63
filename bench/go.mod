module github.com/socketserver-go/socketserver/bench

go 1.26.0

require (
	github.com/lesismal/nbio v1.6.12
	github.com/panjf2000/gnet/v2 v2.10.0
	github.com/socketserver-go/socketserver v0.0.0
	go.uber.org/goleak v1.3.0
)

// The suite's tests use the repository's test helpers.
replace github.com/socketserver-go/socketserver => ../

require (
	github.com/panjf2000/ants/v2 v2.12.1 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	go.uber.org/multierr v1.11.0 // indirect
	go.uber.org/zap v1.28.0 // indirect
	golang.org/x/sync v0.11.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	gopkg.in/natefinch/lumberjack.v2 v2.2.1 // indirect
)
