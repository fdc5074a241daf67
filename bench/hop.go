package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The hop baseline runs as a child process, so that /proc gives its own CPU time and RSS, as
// it does for sseproxy. The child is this same executable started with roleEnv=hop.
const (
	roleEnv      = "SSEPROXY_BENCH_ROLE"
	hopTargetEnv = "SSEPROXY_BENCH_HOP_TARGET"
)

// runRole runs the child role named by roleEnv, if any, and reports whether it did.
func runRole() (bool, error) {
	switch os.Getenv(roleEnv) {
	case "":
		return false, nil
	case "hop":
		return true, serveHop(os.Getenv(hopTargetEnv))
	default:
		return true, fmt.Errorf("bench: unknown role %q", os.Getenv(roleEnv))
	}
}

// serveHop serves the hop on a free loopback port, prints "listening ADDR" on stdout, and
// exits when its stdin closes: the parent holds the other end, so the hop cannot outlive it.
func serveHop(target string) error {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return fmt.Errorf("bench: hop: invalid target %q", target)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("listening %s\n", ln.Addr())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	srv := &http.Server{Handler: newHop(u), ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	return srv.Serve(ln)
}

// newHop is the plain reverse proxy of the hop baseline: the stdlib's, with the Host header
// kept (the client signed it) and the same transport settings as sseproxy's backend client,
// so that the two differ in what they do to the bytes, not in how they pool connections.
func newHop(target *url.URL) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host
		},
		Transport: backendTransport(),
		ErrorLog:  log.New(os.Stderr, "hop: ", log.LstdFlags),
	}
}

// backendTransport mirrors the transport sseproxy's backend package builds.
func backendTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 256
	t.MaxIdleConns = 256
	t.WriteBufferSize = 256 << 10
	t.ReadBufferSize = 256 << 10
	t.DisableCompression = true
	return t
}

// child is a server process the bench started: a hop or an sseproxy.
type child struct {
	name  string
	addr  string // host:port
	admin string // sseproxy's admin listener, "http://host:port"; "" for none
	log   string // path of its log file
	cmd   *exec.Cmd
	done  chan struct{}
	in    io.Closer // the hop's stdin; closing it stops the hop
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// stop kills the process and waits for it.
func (c *child) stop() {
	if c == nil || c.cmd.Process == nil {
		return
	}
	if c.in != nil {
		c.in.Close()
	}
	_ = c.cmd.Process.Kill()
	<-c.done
}

// startHop starts a hop process in front of backend (a base URL).
func startHop(dir, name, backend string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	c := &child{name: name, log: filepath.Join(dir, name+".log"), done: make(chan struct{})}
	logf, err := os.Create(c.log)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	c.cmd = exec.Command(exe)
	c.cmd.Env = append(os.Environ(), roleEnv+"=hop", hopTargetEnv+"="+backend)
	c.cmd.Stderr = logf
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stdin, err := c.cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	c.in = stdin
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		c.stop()
		logs, _ := os.ReadFile(c.log)
		return nil, fmt.Errorf("bench: %s did not start: %v %q\n%s", name, err, line, logs)
	}
	c.addr = addr
	return c, nil
}

// fetchCounter is an in-process hop that records every response it relays: how many bytes
// sseproxy fetched from the backend, for which request. It adds a hop, so it only sits in
// front of the sseproxy instance that measures fetches, never in a timed path.
type fetchCounter struct {
	proxy    *httputil.ReverseProxy
	srv      *http.Server
	addr     string
	inflight atomic.Int64

	mu      sync.Mutex
	fetches []fetch
}

// fetch is one backend request relayed by a fetchCounter.
type fetch struct {
	Method string `json:"method"`
	Query  string `json:"query,omitempty"`
	Range  string `json:"range,omitempty"`
	Status int    `json:"status"`
	Bytes  int64  `json:"bytes"` // response body bytes relayed
}

func startFetchCounter(backend string) (*fetchCounter, error) {
	u, err := url.Parse(backend)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &fetchCounter{proxy: newHop(u), addr: ln.Addr().String()}
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = f.srv.Serve(ln) }()
	return f, nil
}

func (f *fetchCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.inflight.Add(1)
	defer f.inflight.Add(-1)
	cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
	f.proxy.ServeHTTP(cw, r)
	f.mu.Lock()
	f.fetches = append(f.fetches, fetch{Method: r.Method, Query: r.URL.RawQuery, Range: r.Header.Get("Range"), Status: cw.status, Bytes: cw.n})
	f.mu.Unlock()
}

// take waits until no request is in flight and returns the fetches recorded since the last
// take.
func (f *fetchCounter) take() ([]fetch, error) {
	deadline := time.Now().Add(5 * time.Second)
	for f.inflight.Load() > 0 {
		if time.Now().After(deadline) {
			return nil, errors.New("bench: fetch counter: a backend request did not finish")
		}
		time.Sleep(time.Millisecond)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.fetches
	f.fetches = nil
	return out, nil
}

func (f *fetchCounter) close() { _ = f.srv.Close() }

type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (w *countingWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

// Flush lets the reverse proxy flush through the counter.
func (w *countingWriter) Flush() {
	if fl, ok := w.ResponseWriter.(http.Flusher); ok {
		fl.Flush()
	}
}
