package awskms_test

import (
	"fmt"
	"os"
	"testing"
)

// netnsEnv selects where the tests run: unset, in a private network namespace if the system
// allows one, else in the host network; "off", in the host network; "child", set by
// runInPrivateNetwork for the re-executed binary.
const netnsEnv = "SSEPROXY_TEST_NETNS"

// exitNoNetns is the child's exit code when its namespace is unusable; the parent then runs the
// tests itself, in the host network.
const exitNoNetns = 125

// privateNetwork reports whether the tests run in a private network namespace.
var privateNetwork bool

func TestMain(m *testing.M) {
	switch os.Getenv(netnsEnv) {
	case "child":
		if err := setUpPrivateNetwork(); err != nil {
			fmt.Fprintf(os.Stderr, "awskms tests: private network namespace unusable: %v\n", err)
			os.Exit(exitNoNetns)
		}
		privateNetwork = true
	case "off":
	default:
		code, err := runInPrivateNetwork()
		if err == nil && code != exitNoNetns {
			os.Exit(code)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "awskms tests: %v\n", err)
		}
		fmt.Fprintln(os.Stderr, "awskms tests: running in the host network; local-kms listens on all its interfaces meanwhile")
	}
	os.Exit(m.Run())
}
