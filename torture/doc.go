// Package torture holds the fault, load and bad-input suite: its tests
// start a server process for each concurrency mode, put it through one
// scenario at a time (slow clients, connection storms, descriptor
// exhaustion, failing handlers, shutdown under load, datagram floods),
// and report tried / survived / lost for each, then a table.
//
//	go test ./torture            # the bounded run CI makes, about 3 minutes
//	go test ./torture -soak      # five times the counts
//
// Everything runs on loopback. The package has no API: it is this doc
// and the tests.
package torture
