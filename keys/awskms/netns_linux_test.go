package awskms_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"unsafe"
)

// runInPrivateNetwork runs this test binary again, with the same arguments, in a new user and
// network namespace (what `unshare -rn` does), and returns its exit code, or an error if it
// could not start it. That namespace has
// its own loopback interface and nothing else, so local-kms, which listens on all interfaces,
// is reachable from the tests and from nowhere else. It needs unprivileged user namespaces;
// where they are disabled (some container runtimes, kernel.unprivileged_userns_clone=0) it
// returns an error and the tests run in the host's network.
func runInPrivateNetwork() (int, error) {
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), netnsEnv+"=child")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		Pdeathsig:   syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("cannot create a user and network namespace: %w", err)
	}
	err := cmd.Wait()
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		return exitErr.ExitCode(), nil
	case err != nil:
		fmt.Fprintf(os.Stderr, "awskms tests: %v\n", err)
		return 1, nil
	}
	return 0, nil
}

// setUpPrivateNetwork brings up the loopback interface of a new network namespace (it starts
// down) and checks that 127.0.0.1 accepts connections.
func setUpPrivateNetwork() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var ifr struct { // struct ifreq with ifr_flags
		name  [syscall.IFNAMSIZ]byte
		flags uint16
		_     [22]byte
	}
	copy(ifr.name[:], "lo")
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&ifr))); errno != 0 {
		return fmt.Errorf("SIOCGIFFLAGS lo: %w", errno)
	}
	ifr.flags |= syscall.IFF_UP
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&ifr))); errno != 0 {
		return fmt.Errorf("SIOCSIFFLAGS lo up: %w", errno)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("loopback is up but unusable: %w", err)
	}
	return l.Close()
}

// dieWithParent makes cmd's process get SIGKILL when this process dies, so that a test binary
// killed by a timeout leaves no local-kms behind.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
