package awskms_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/sseproxy/sseproxy/keys/awskms"
	"github.com/sseproxy/sseproxy/test/testenv"
)

// The keys every local-kms instance is seeded with.
const (
	region  = "us-east-1"
	account = "111122223333"

	keyA = "alias/sseproxy-a"
	keyB = "alias/sseproxy-b"
)

// seedKeyIDs maps the seeded aliases to their key ids.
var seedKeyIDs = map[string]string{
	keyA: "6a9ee2d4-0c52-4d07-9a0b-6f1f3c1a0001",
	keyB: "6a9ee2d4-0c52-4d07-9a0b-6f1f3c1a0002",
}

// keyARN returns the ARN local-kms gives the seeded key behind alias.
func keyARN(alias string) string {
	return "arn:aws:kms:" + region + ":" + account + ":key/" + seedKeyIDs[alias]
}

// localKMS is a running local-kms process (github.com/nsmithuk/local-kms), the AWS KMS API
// server the tests run against.
type localKMS struct {
	Endpoint string // http://127.0.0.1:PORT

	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has exited
	log    *testenv.SyncBuffer
}

// startLocalKMS starts local-kms on a free loopback port with a fresh data directory, seeded
// with keyA and keyB (random material), and waits until it answers. The process is killed when
// the test ends.
//
// local-kms listens on all interfaces and has no option to bind one: the test binary runs in a
// private network namespace when it can (see TestMain), and connects via 127.0.0.1 only.
func startLocalKMS(t *testing.T) *localKMS {
	t.Helper()
	bin := testenv.Binary(t, "local-kms")
	dir := t.TempDir()
	seed := filepath.Join(dir, "seed.yaml")
	if err := os.WriteFile(seed, seedYAML(), 0o600); err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for range 3 { // a free port can be taken by someone else before local-kms binds it
		port, err := testenv.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.MkdirTemp(dir, "data-")
		if err != nil {
			t.Fatal(err)
		}
		k := &localKMS{
			Endpoint: "http://127.0.0.1:" + strconv.Itoa(port),
			cmd:      exec.Command(bin),
			exited:   make(chan struct{}),
			log:      &testenv.SyncBuffer{},
		}
		k.cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "KMS_DATA_PATH="+data,
			"KMS_REGION="+region, "KMS_ACCOUNT_ID="+account, "KMS_SEED_PATH="+seed)
		k.cmd.Stdout, k.cmd.Stderr = k.log, k.log
		dieWithParent(k.cmd)
		if err := k.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { _ = k.cmd.Wait(); close(k.exited) }()
		if lastErr = k.waitReady(30 * time.Second); lastErr == nil {
			t.Cleanup(k.Kill)
			return k
		}
		k.Kill()
	}
	t.Fatalf("local-kms did not start: %v", lastErr)
	return nil
}

// seedYAML returns a local-kms seed file defining two AES keys with fresh random material and
// the aliases keyA and keyB.
func seedYAML() []byte {
	var b bytes.Buffer
	b.WriteString("Keys:\n  Symmetric:\n    Aes:\n")
	for _, alias := range []string{keyA, keyB} {
		fmt.Fprintf(&b, "      - Metadata:\n          KeyId: %s\n        BackingKeys:\n          - %s\n",
			seedKeyIDs[alias], hex.EncodeToString(randomBytes(32)))
	}
	b.WriteString("Aliases:\n")
	for _, alias := range []string{keyA, keyB} {
		fmt.Fprintf(&b, "  - AliasName: %s\n    TargetKeyId: %s\n", alias, seedKeyIDs[alias])
	}
	return b.Bytes()
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// waitReady polls local-kms with a real API call until the seeded alias resolves, the process
// exits, or timeout passes.
func (k *localKMS) waitReady(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	api := k.Admin()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, time.Second)
		_, err := api.DescribeKey(attempt, &kms.DescribeKeyInput{KeyId: aws.String(keyA)})
		cancelAttempt()
		if err == nil {
			return nil
		}
		select {
		case <-k.exited:
			return fmt.Errorf("local-kms exited: %s", k.log.String())
		case <-ctx.Done():
			return fmt.Errorf("local-kms not ready after %v: %v\n%s", timeout, err, k.log.String())
		case <-tick.C:
		}
	}
}

// Kill stops local-kms and waits until it has exited.
func (k *localKMS) Kill() {
	_ = k.cmd.Process.Kill()
	<-k.exited
}

// Admin returns a plain SDK client for key management (create, disable, delete keys), which
// the provider does not offer.
func (k *localKMS) Admin() *kms.Client {
	return kms.NewFromConfig(aws.Config{
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider("admin", "admin-secret", ""),
		RetryMaxAttempts: 1,
	}, func(o *kms.Options) { o.BaseEndpoint = aws.String(k.Endpoint) })
}

// Options returns provider options for this server: static credentials (local-kms accepts
// any) and an HTTP client through awsFidelity, so that the server behaves like AWS KMS where
// the contract depends on it.
func (k *localKMS) Options() awskms.Options {
	return awskms.Options{
		Endpoint:   k.Endpoint,
		Region:     region,
		AccessKey:  "sseproxy-test",
		SecretKey:  "sseproxy-test-secret",
		HTTPClient: &http.Client{Transport: &awsFidelity{admin: k.Admin(), next: http.DefaultTransport.(*http.Transport).Clone()}},
	}
}

// Client returns a provider for this server with o's fields overriding Options().
func (k *localKMS) Client(t *testing.T, edit func(*awskms.Options)) *awskms.Client {
	t.Helper()
	o := k.Options()
	if edit != nil {
		edit(&o)
	}
	c, err := awskms.New(t.Context(), o)
	if err != nil {
		t.Fatalf("awskms.New(%+v) = %v", redact(o), err)
	}
	return c
}

// redact returns o without its secret key, for failure messages.
func redact(o awskms.Options) awskms.Options {
	if o.SecretKey != "" {
		o.SecretKey = "<redacted>"
	}
	return o
}
