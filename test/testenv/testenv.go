// Package testenv starts the real components end-to-end tests run against:
// a MinIO server process on a free loopback port with a fresh data
// directory, and the command-line clients installed by scripts/install-test-deps.sh.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ToolsDir is where scripts/install-test-deps.sh caches the binaries it
// builds; SSEPROXY_TOOLS overrides it.
func ToolsDir() string {
	if d := os.Getenv("SSEPROXY_TOOLS"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "sseproxy-tools")
}

// Binary finds an installed tool: in ToolsDir()/bin, then on PATH. It fails
// the test when the tool is missing, naming the install command.
func Binary(t testing.TB, name string) string {
	t.Helper()
	if p := filepath.Join(ToolsDir(), "bin", name); isExecutable(p) {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	t.Fatalf("testenv: %s is not installed; run scripts/install-test-deps.sh (the README's test command does)", name)
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// FreePort returns a free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// S3Server is a running S3-compatible server process.
type S3Server struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string
	Dir       string
	cmd       *exec.Cmd
	log       *os.File
}

// Close stops the server.
func (s *S3Server) Close() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
	}
	if s.log != nil {
		s.log.Close()
	}
}

// MinIO is a running MinIO server process.
type MinIO struct {
	S3Server
}

// StartVersityGW starts versitygw (posix backend) with a fresh data
// directory under dir and waits until it answers.
func StartVersityGW(dir, bin string) (*S3Server, error) {
	s := &S3Server{AccessKey: "versityadmin", SecretKey: "versityadmin-secret", Dir: filepath.Join(dir, "versity-data")}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	s.Endpoint = "http://127.0.0.1:" + strconv.Itoa(port)
	if s.log, err = os.Create(filepath.Join(dir, "versitygw.log")); err != nil {
		return nil, err
	}
	s.cmd = exec.Command(bin, "--port", "127.0.0.1:"+strconv.Itoa(port), "posix", s.Dir)
	s.cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+s.AccessKey, "ROOT_SECRET_KEY="+s.SecretKey)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	// versitygw has no health endpoint: any HTTP answer means it is up.
	if err := waitHTTP(s.Endpoint+"/", s.cmd, 60*time.Second); err != nil {
		s.Close()
		logs, _ := os.ReadFile(filepath.Join(dir, "versitygw.log"))
		return nil, fmt.Errorf("testenv: versitygw did not start: %v\n%s", err, logs)
	}
	return s, nil
}

// StartMinIO starts MinIO with a fresh data directory under dir and waits
// until it is live. extraEnv adds environment variables (e.g. MINIO_KMS_SECRET_KEY).
func StartMinIO(dir string, bin string, extraEnv ...string) (*MinIO, error) {
	m := &MinIO{S3Server{AccessKey: "minioadmin", SecretKey: "minioadmin-secret", Dir: filepath.Join(dir, "minio-data")}}
	if err := os.MkdirAll(m.Dir, 0o700); err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		console, err := FreePort()
		if err != nil {
			return nil, err
		}
		m.Endpoint = "http://127.0.0.1:" + strconv.Itoa(port)
		if m.log, err = os.Create(filepath.Join(dir, "minio.log")); err != nil {
			return nil, err
		}
		m.cmd = exec.Command(bin, "server", m.Dir, "--quiet",
			"--address", "127.0.0.1:"+strconv.Itoa(port),
			"--console-address", "127.0.0.1:"+strconv.Itoa(console))
		m.cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+m.AccessKey, "MINIO_ROOT_PASSWORD="+m.SecretKey,
			"MINIO_BROWSER=off", "MINIO_UPDATE=off")
		m.cmd.Env = append(m.cmd.Env, extraEnv...)
		m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
		if err := m.cmd.Start(); err != nil {
			return nil, err
		}
		if lastErr = waitHealthy(m.Endpoint+"/minio/health/live", m.cmd, 60*time.Second); lastErr == nil {
			return m, nil
		}
		m.Close()
	}
	logs, _ := os.ReadFile(filepath.Join(dir, "minio.log"))
	return nil, fmt.Errorf("testenv: minio did not start: %v\n%s", lastErr, logs)
}

// waitHealthy polls url until it answers 200, the process exits, or the
// timeout passes.
func waitHealthy(url string, cmd *exec.Cmd, timeout time.Duration) error {
	return wait(url, cmd, timeout, func(status int) bool { return status == http.StatusOK })
}

// waitHTTP polls url until it answers at all.
func waitHTTP(url string, cmd *exec.Cmd, timeout time.Duration) error {
	return wait(url, cmd, timeout, func(int) bool { return true })
}

func wait(url string, cmd *exec.Cmd, timeout time.Duration, ready func(status int) bool) error {
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if ready(resp.StatusCode) {
				go func() { <-exited }()
				return nil
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("process exited: %v", err)
		case <-ctx.Done():
			return errors.New("timed out waiting for " + url)
		case <-tick.C:
		}
	}
}

// AWSCLI returns the command line of Debian's aws-cli v2 (/usr/bin/aws, not
// an older aws on PATH) with credentials for endpoint and no user config.
func AWSCLI(t testing.TB, endpoint, accessKey, secretKey string, args ...string) *exec.Cmd {
	t.Helper()
	bin := "/usr/bin/aws"
	if !isExecutable(bin) {
		t.Fatalf("testenv: /usr/bin/aws is not installed; run scripts/install-test-deps.sh")
	}
	cmd := exec.Command(bin, append([]string{"--endpoint-url", endpoint, "--no-cli-pager"}, args...)...)
	cmd.Env = cleanEnv("AWS_", "AWS_ACCESS_KEY_ID="+accessKey, "AWS_SECRET_ACCESS_KEY="+secretKey,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true")
	return cmd
}

// cleanEnv returns the environment without variables starting with prefix,
// plus extra.
func cleanEnv(prefix string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, prefix) {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}
