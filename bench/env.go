package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"

	"github.com/sseproxy/sseproxy/test/testenv"
)

// The targets, in the order tables list them.
const (
	targetDirect      = "direct"
	targetHop         = "hop"
	targetSSEProxy    = "sseproxy"
	targetSSEProxyKMS = "sseproxy-kms"
	targetNative      = "native-sse"
	targetNativeHop   = "native-sse-hop"
)

var allTargets = []string{targetDirect, targetHop, targetSSEProxy, targetSSEProxyKMS, targetNative, targetNativeHop}

var targetDescriptions = map[string]string{
	targetDirect:      "MinIO, plain, no proxy",
	targetHop:         "httputil.ReverseProxy process (Host kept) -> the plain MinIO",
	targetSSEProxy:    "sseproxy process, encryption AES256, local keyring -> the plain MinIO",
	targetSSEProxyKMS: "a second sseproxy process, encryption aws:kms under kms.default_key, the same local keyring -> the plain MinIO",
	targetNative:      "a second MinIO with MINIO_KMS_SECRET_KEY; PUTs with SSE-S3 (x-amz-server-side-encryption: AES256)",
	targetNativeHop:   "httputil.ReverseProxy process -> the native-SSE MinIO; PUTs with SSE-S3",
}

// The encryption.default of the sseproxy targets, as the proxy echoes it in
// x-amz-server-side-encryption.
const (
	encAES256 = "AES256"
	encKMS    = "aws:kms"
)

// proxyEncryption is the encryption.default of an sseproxy target, "" for the others.
func proxyEncryption(target string) string {
	switch target {
	case targetSSEProxy:
		return encAES256
	case targetSSEProxyKMS:
		return encKMS
	}
	return ""
}

// defaultKey is the kms.default_key of every sseproxy instance: the keyring key that wraps
// the data keys of both AES256 and aws:kms objects.
const defaultKey = "default"

// Client credentials sseproxy accepts.
const (
	clientAccessKey = "bench-client"
	clientSecretKey = "bench-client-secret"
	benchBucket     = "bench"
)

// env is everything a run starts, and stops again in close.
type env struct {
	dir       string
	keep      bool
	proxyBin  string
	proxySrc  string         // what proxyBin was built from
	minio     *testenv.MinIO // plain
	native    *testenv.MinIO // with MINIO_KMS_SECRET_KEY
	minioPID  int
	nativePID int
	keyring   string
	children  []*child
	targets   []*target
}

func (e *env) close() {
	for _, c := range e.children {
		c.stop()
	}
	if e.native != nil {
		e.native.Close()
	}
	if e.minio != nil {
		e.minio.Close()
	}
	if !e.keep {
		_ = os.RemoveAll(e.dir)
	}
}

func (e *env) target(name string) *target {
	for _, t := range e.targets {
		if t.name == name {
			return t
		}
	}
	return nil
}

func (e *env) describeTargets() []TargetInfo {
	var out []TargetInfo
	for _, t := range e.targets {
		out = append(out, TargetInfo{Name: t.name, Description: targetDescriptions[t.name], Endpoint: "http://" + t.host})
	}
	return out
}

// setupEnv starts the MinIO processes, the hops and sseproxy, and makes the buckets.
func setupEnv(ctx context.Context, o Options, w io.Writer) (*env, error) {
	parent := o.Dir
	if parent == "" {
		parent = os.TempDir()
	}
	if onTmpfs(parent) && !o.Short {
		return nil, fmt.Errorf("bench: %s is a tmpfs; give -dir a directory on disk (MinIO keeps deleted data for a while)", parent)
	}
	dir, err := os.MkdirTemp(parent, "sseproxy-bench-")
	if err != nil {
		return nil, err
	}
	e := &env{dir: dir, keep: o.Keep}
	ok := false
	defer func() {
		if !ok {
			e.close()
		}
	}()
	if o.Keep {
		fmt.Fprintf(w, "work dir: %s (kept)\n", dir)
	}
	minioBin, err := findMinIO(o.MinIO)
	if err != nil {
		return nil, err
	}
	if e.proxyBin, e.proxySrc, err = buildProxy(ctx, o.SSEProxy, dir, w); err != nil {
		return nil, err
	}
	need := func(names ...string) bool {
		for _, n := range names {
			if contains(o.Targets, n) {
				return true
			}
		}
		return false
	}
	fmt.Fprintln(w, "starting MinIO...")
	if e.minio, e.minioPID, err = startMinIO(filepath.Join(dir, "minio"), minioBin); err != nil {
		return nil, err
	}
	if need(targetNative, targetNativeHop) {
		var secret [32]byte
		_, _ = rand.Read(secret[:])
		kms := "MINIO_KMS_SECRET_KEY=bench-key:" + base64.StdEncoding.EncodeToString(secret[:])
		if e.native, e.nativePID, err = startMinIO(filepath.Join(dir, "minio-sse"), minioBin, kms); err != nil {
			return nil, err
		}
	}
	e.keyring = filepath.Join(dir, "keyring.json")
	for _, name := range o.Targets {
		t := &target{name: name, backendPID: e.minioPID, unsigned: o.UnsignedPayload}
		switch name {
		case targetDirect:
			t.host = hostOf(e.minio.Endpoint)
		case targetNative:
			t.host, t.backendPID, t.sse = hostOf(e.native.Endpoint), e.nativePID, encrypt.NewSSE()
		case targetHop, targetNativeHop:
			backend := e.minio.Endpoint
			if name == targetNativeHop {
				backend, t.backendPID, t.sse = e.native.Endpoint, e.nativePID, encrypt.NewSSE()
			}
			c, err := startHop(dir, name, backend)
			if err != nil {
				return nil, err
			}
			e.children = append(e.children, c)
			t.host, t.proxyPID = c.addr, c.pid()
		case targetSSEProxy, targetSSEProxyKMS:
			c, err := e.startProxy(name, e.minio.Endpoint, proxyEncryption(name))
			if err != nil {
				return nil, err
			}
			t.host, t.proxyPID, t.admin = c.addr, c.pid(), c.admin
		}
		ak, sk := e.minio.AccessKey, e.minio.SecretKey
		if proxyEncryption(name) != "" {
			ak, sk = clientAccessKey, clientSecretKey
		}
		if t.core, err = newCore(t.host, ak, sk); err != nil {
			return nil, err
		}
		e.targets = append(e.targets, t)
	}
	for _, m := range []*testenv.MinIO{e.minio, e.native} {
		if m == nil {
			continue
		}
		c, err := newCore(hostOf(m.Endpoint), m.AccessKey, m.SecretKey)
		if err != nil {
			return nil, err
		}
		if err := c.MakeBucket(ctx, benchBucket, minio.MakeBucketOptions{}); err != nil {
			return nil, fmt.Errorf("bench: making the bucket: %w", err)
		}
	}
	for _, t := range e.targets {
		fmt.Fprintf(w, "  %-15s http://%s  proxy pid %d, MinIO pid %d\n", t.name, t.host, t.proxyPID, t.backendPID)
	}
	ok = true
	return e, nil
}

func findMinIO(bin string) (string, error) {
	if bin != "" {
		return bin, nil
	}
	if p := filepath.Join(testenv.ToolsDir(), "bin", "minio"); isFile(p) {
		return p, nil
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p, nil
	}
	return "", errors.New("bench: minio is not installed; run scripts/install-test-deps.sh or pass -minio")
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// startMinIO starts a MinIO process with testenv and finds its PID by its data directory.
func startMinIO(dir, bin string, env ...string) (*testenv.MinIO, int, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, 0, err
	}
	m, err := testenv.StartMinIO(dir, bin, env...)
	if err != nil {
		return nil, 0, err
	}
	pid, err := findPID(m.Dir)
	if err != nil {
		m.Close()
		return nil, 0, err
	}
	return m, pid, nil
}

// buildProxy returns the sseproxy binary and what it was built from: bin when given, else a
// fresh build of ./cmd/sseproxy of the module the bench runs in, described by its git commit
// ("+dirty" when the working tree has changes).
func buildProxy(ctx context.Context, bin, dir string, w io.Writer) (string, string, error) {
	if bin != "" {
		return bin, "prebuilt " + bin, nil
	}
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	mod := strings.TrimSpace(string(out))
	if err != nil || mod == "" || mod == os.DevNull {
		return "", "", errors.New("bench: not inside the sseproxy module; run from the repository or pass -sseproxy")
	}
	root := filepath.Dir(mod)
	fmt.Fprintln(w, "building sseproxy...")
	bin = filepath.Join(dir, "sseproxy")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/sseproxy")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("bench: go build ./cmd/sseproxy: %v\n%s(pass -sseproxy to use a prebuilt binary)", err, out)
	}
	src := "working tree"
	if rev, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short", "HEAD").Output(); err == nil {
		src = "commit " + strings.TrimSpace(string(rev))
		if st, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
			src += "+dirty"
		}
	}
	return bin, src, nil
}

// startProxy starts an sseproxy process in front of backend, with the shared keyring and
// encryption.default = encryption (encAES256 or encKMS), and waits for its "listening" log
// line. Its admin listener (health, metrics), where the binary has one, listens on a free
// port, so that several instances can run; a binary that does not know the [admin] table yet
// is started again without it (and the kms phase then cannot count).
func (e *env) startProxy(name, backend, encryption string) (*child, error) {
	c, err := e.startProxyConfig(name, backend, encryption, "[admin]\nlisten = \"127.0.0.1:0\"\n")
	if err != nil && strings.Contains(err.Error(), "admin") {
		c, err = e.startProxyConfig(name, backend, encryption, "")
	}
	return c, err
}

func (e *env) startProxyConfig(name, backend, encryption, extra string) (*child, error) {
	cfgPath := filepath.Join(e.dir, name+".toml")
	cfg := fmt.Sprintf(`[server]
listen = "127.0.0.1:0"
[backend]
endpoint = %q
access_key = %q
secret_key = %q
[[credentials]]
access_key = %q
secret_key = %q
[encryption]
default = %q
[kms]
provider = "local"
keyring = %q
default_key = %q
[log]
level = "info"
format = "json"
%s`, backend, e.minio.AccessKey, e.minio.SecretKey, clientAccessKey, clientSecretKey, encryption, e.keyring, defaultKey, extra)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	c := &child{name: name, log: filepath.Join(e.dir, name+".log"), done: make(chan struct{})}
	logf, err := os.Create(c.log)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	c.cmd = exec.Command(e.proxyBin, "serve", "--config", cfgPath)
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	e.children = append(e.children, c)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c.addr, c.admin = listeningAddr(c.log); c.addr != "" {
			return c, nil
		}
		select {
		case <-c.done:
			e.forget(c)
			logs, _ := os.ReadFile(c.log)
			return nil, fmt.Errorf("bench: %s exited at start:\n%s", name, logs)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			e.stopChild(c)
			logs, _ := os.ReadFile(c.log)
			return nil, fmt.Errorf("bench: %s did not log its address:\n%s", name, logs)
		}
	}
}

// listeningAddr finds the S3 address (host:port) in sseproxy's JSON "listening" log lines,
// and the admin listener's URL if there is one. sseproxy logs the admin listener before the
// S3 one, so once addr is found admin is final.
func listeningAddr(logPath string) (addr, admin string) {
	f, err := os.Open(logPath)
	if err != nil {
		return "", ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var line struct {
			Msg      string `json:"msg"`
			Address  string `json:"address"`
			URL      string `json:"url"`
			Listener string `json:"listener"` // "admin" for the operator listener
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Msg != "listening" {
			continue
		}
		switch {
		case line.Listener == "admin":
			admin = line.URL
		case line.Address != "" && line.Listener == "":
			return line.Address, admin
		}
	}
	return "", ""
}

// stopChild stops one child and forgets it.
func (e *env) stopChild(c *child) {
	c.stop()
	e.forget(c)
}

func (e *env) forget(c *child) {
	for i, x := range e.children {
		if x == c {
			e.children = append(e.children[:i], e.children[i+1:]...)
			break
		}
	}
}
