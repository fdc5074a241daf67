//go:build !linux

package awskms_test

import (
	"errors"
	"os/exec"
)

func runInPrivateNetwork() (int, error) {
	return 0, errors.New("network namespaces are Linux-only")
}

func setUpPrivateNetwork() error { return errors.New("network namespaces are Linux-only") }

func dieWithParent(*exec.Cmd) {}
