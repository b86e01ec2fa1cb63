//go:build !unix

package socketserver_test

// forkStandEnv asks for a stand-alone server process: only the Unix tests
// start one.
const forkStandEnv = "FORKTEST_STANDALONE"

// forkTestMain is never called here: no test starts this binary as a
// child.
func forkTestMain() {}
