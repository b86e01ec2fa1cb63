// Package torture holds the fault, load and bad-input suite: its tests
// start a server process for each concurrency mode, put it through one
// scenario at a time (slow clients, connection storms, descriptor
// exhaustion, failing handlers, shutdown under load, datagram floods),
// and report tried / survived / lost for each, then a table.
//
//	go test -v ./torture          # the bounded run CI makes, about 2-4 minutes
//	go test -v ./torture -soak    # five times the counts
//
// (-v shows the summary lines and the table; without it, go test prints
// them only when a scenario fails.)
//
// Everything runs on loopback, on Linux (the suite reads /proc and sets
// limits with prlimit). The package has no API: it is this doc and the
// tests.
package torture
