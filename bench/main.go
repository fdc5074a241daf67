// Command bench measures sseproxy against the baselines it has to be compared with, all on
// loopback and in one run (docs/benchmarks.md explains every row):
//
//	direct          a real MinIO process, plain
//	hop             a plain httputil.ReverseProxy process (Host kept) in front of that MinIO
//	sseproxy        the real sseproxy binary, encryption AES256, in front of the same MinIO
//	sseproxy-kms    a second sseproxy process, encryption aws:kms (same keyring, same MinIO)
//	native-sse      a second MinIO with its own SSE (MINIO_KMS_SECRET_KEY), PUTs with SSE-S3
//	native-sse-hop  the hop in front of the native-SSE MinIO
//
// One minio-go client drives every target. Each round runs every workload against every
// target back to back, in an order that rotates from round to round, so that each ratio is
// taken between measurements made moments apart (the machines we run on are shared and
// noisy). Besides throughput and ops/s it reports the CPU seconds per GiB of the proxy process
// (/proc/PID/stat), the cost of the chunk cipher alone, the proxy's peak RSS (VmHWM), the
// backend bytes a 1-byte ranged GET fetches, and the KMS calls per PUT and per cold and warm
// GET, read from the proxy's own metrics.
//
//	go run ./bench                       # default sizes, a few minutes on 2 cores
//	go run ./bench -size 1GiB -rounds 5  # bigger objects, more rounds
//	go run ./bench -rss-size 10GiB -rss-streams 64
//
// It is not part of `go test`; bench/main_test.go runs it in -short mode when
// SSEPROXY_BENCH_SMOKE=1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Options configures one run. newOptions returns the defaults; shortOptions the smoke sizes.
type Options struct {
	Out    string // JSON result file
	Rounds int    // A/B rounds of every workload

	Size        int64 // object size of the large-object workloads
	Streams     int   // concurrent streams of the "xN" workloads
	PartSize    int64 // multipart part size
	PartWorkers int   // concurrent part uploads

	RangeSize    int64 // ranged GET throughput: range length
	RangeCount   int   // ranges per target per round
	RangeClients int   // concurrent ranged GETs
	TinyRanges   int   // 1-byte ranged GETs per target per round

	SmallClients  int           // concurrent clients of the small-object workloads
	SmallDuration time.Duration // length of each small-object measurement
	SmallKeys     int           // distinct keys per small size

	RSSSize       int64 // single-stream RSS probe object
	RSSStreams    int   // concurrent streams of the concurrent RSS probe
	RSSStreamSize int64 // object size of each concurrent RSS stream

	CipherSize int64 // bytes the cipher floor encrypts and decrypts in-process

	KMSObjects int // requests per step of the kms phase

	// UnsignedPayload makes the client send PUT bodies as UNSIGNED-PAYLOAD instead of
	// minio-go's default over http, the streaming chunk signature (a SHA-256 of every byte
	// that the receiver, MinIO or sseproxy, must verify).
	UnsignedPayload bool

	Targets   []string // subset of allTargets
	Workloads []string // workload ids to run; empty runs all
	Skip      []string // phases to skip: throughput, small, cipher, rss, fetch, kms

	SSEProxy string // prebuilt sseproxy binary; "" builds ./cmd/sseproxy
	MinIO    string // MinIO binary; "" finds it in the tools dir or on PATH
	Dir      string // parent of the work dir; "" is os.TempDir()
	Keep     bool   // keep the work dir (MinIO data, logs)
	Short    bool   // smoke mode: tiny sizes, one round
}

func newOptions() Options {
	return Options{
		Out: "bench-results.json", Rounds: 3,
		Size: 64 << 20, Streams: 8, PartSize: 8 << 20, PartWorkers: 4,
		RangeSize: 1 << 20, RangeCount: 128, RangeClients: 4, TinyRanges: 100,
		SmallClients: 16, SmallDuration: 1500 * time.Millisecond, SmallKeys: 256,
		RSSSize: 256 << 20, RSSStreams: 8, RSSStreamSize: 100 << 20,
		CipherSize: 1 << 30,
		KMSObjects: 10,
		Targets:    allTargets,
	}
}

// shortOptions shrinks o to a smoke run that only proves every path works.
func shortOptions(o Options) Options {
	o.Short, o.Rounds = true, 1
	o.Size, o.Streams, o.PartSize, o.PartWorkers = 12<<20, 2, 5<<20, 2
	o.RangeSize, o.RangeCount, o.RangeClients, o.TinyRanges = 256<<10, 4, 2, 5
	o.SmallClients, o.SmallDuration, o.SmallKeys = 4, 150*time.Millisecond, 16
	o.RSSSize, o.RSSStreams, o.RSSStreamSize = 12<<20, 2, 6<<20
	o.CipherSize = 16 << 20
	o.KMSObjects = 3
	return o
}

func (o Options) skips(phase string) bool {
	for _, s := range o.Skip {
		if s == phase {
			return true
		}
	}
	return false
}

func (o Options) validate() error {
	for _, name := range o.Targets {
		if !contains(allTargets, name) {
			return fmt.Errorf("bench: unknown target %q (have %s)", name, strings.Join(allTargets, ","))
		}
	}
	ids := map[string]bool{}
	for _, w := range workloads(Options{Size: 1, Streams: 1, PartSize: 1, RangeSize: 1, SmallClients: 1}) {
		ids[w.id] = true
	}
	for _, id := range o.Workloads {
		if !ids[id] {
			return fmt.Errorf("bench: unknown workload %q", id)
		}
	}
	for _, s := range o.Skip {
		if !contains(phases, s) {
			return fmt.Errorf("bench: unknown phase %q (have %s)", s, strings.Join(phases, ","))
		}
	}
	switch {
	case o.Rounds < 1 || o.Streams < 1 || o.PartWorkers < 1 || o.RangeClients < 1 || o.SmallClients < 1 || o.RSSStreams < 1 || o.KMSObjects < 1:
		return errors.New("bench: rounds, streams, client and object counts must be at least 1")
	case o.Size < 1 || o.RangeSize < 1 || o.RangeSize > o.Size:
		return errors.New("bench: -range-size must be between 1 and -size")
	case o.PartSize < 5<<20 || o.PartSize%(64<<10) != 0:
		return errors.New("bench: -part-size must be at least 5 MiB (S3) and a multiple of 64 KiB (sseproxy)")
	case o.SmallKeys < o.SmallClients:
		return errors.New("bench: -small-keys must be at least -small-clients")
	case o.CipherSize < 1 || o.RSSSize < 1 || o.RSSStreamSize < 1:
		return errors.New("bench: sizes must be positive")
	}
	return nil
}

// phases are the parts of a run that -skip can leave out.
var phases = []string{"throughput", "small", "cipher", "rss", "fetch", "kms"}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func main() {
	if handled, err := runRole(); handled {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		stop()
		os.Exit(1)
	}
}

func parseFlags(args []string) (Options, error) {
	o := newOptions()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	short := fs.Bool("short", false, "smoke mode: tiny sizes, one round (overrides the size flags)")
	fs.StringVar(&o.Out, "out", o.Out, "JSON result file")
	fs.IntVar(&o.Rounds, "rounds", o.Rounds, "A/B rounds of every workload")
	fs.Var((*sizeFlag)(&o.Size), "size", "object size of the large-object workloads (e.g. 64MiB, 1GiB)")
	fs.IntVar(&o.Streams, "streams", o.Streams, "concurrent streams of the xN workloads")
	fs.Var((*sizeFlag)(&o.PartSize), "part-size", "multipart part size")
	fs.IntVar(&o.PartWorkers, "part-workers", o.PartWorkers, "concurrent part uploads")
	fs.Var((*sizeFlag)(&o.RangeSize), "range-size", "range length of the ranged GET throughput workload")
	fs.IntVar(&o.RangeCount, "range-count", o.RangeCount, "ranged GETs per target per round")
	fs.IntVar(&o.RangeClients, "range-clients", o.RangeClients, "concurrent ranged GETs")
	fs.IntVar(&o.TinyRanges, "tiny-ranges", o.TinyRanges, "1-byte ranged GETs per target per round")
	fs.IntVar(&o.SmallClients, "small-clients", o.SmallClients, "concurrent clients of the small-object workloads")
	fs.DurationVar(&o.SmallDuration, "small-duration", o.SmallDuration, "length of each small-object measurement")
	fs.IntVar(&o.SmallKeys, "small-keys", o.SmallKeys, "distinct keys per small object size")
	fs.Var((*sizeFlag)(&o.RSSSize), "rss-size", "object size of the single-stream RSS probe (the issue's figure: 10GiB)")
	fs.IntVar(&o.RSSStreams, "rss-streams", o.RSSStreams, "concurrent streams of the concurrent RSS probe (the issue's figure: 64)")
	fs.Var((*sizeFlag)(&o.RSSStreamSize), "rss-stream-size", "object size of each concurrent RSS stream")
	fs.Var((*sizeFlag)(&o.CipherSize), "cipher-size", "bytes the in-process cipher floor encrypts and decrypts")
	fs.IntVar(&o.KMSObjects, "kms-objects", o.KMSObjects, "requests per step of the kms phase (PUTs, cold and warm GETs, ranged GETs, HEADs)")
	fs.BoolVar(&o.UnsignedPayload, "unsigned-payload", false, "PUT with UNSIGNED-PAYLOAD instead of streaming chunk signatures (no SHA-256 of the body)")
	targets := fs.String("targets", strings.Join(o.Targets, ","), "targets to run (sseproxy is needed for ratios)")
	skip := fs.String("skip", "", "phases to skip: "+strings.Join(phases, ","))
	only := fs.String("workloads", "", "workload ids to run, e.g. get-x1,ranged-get-1b (default all; ids are in the JSON)")
	fs.StringVar(&o.SSEProxy, "sseproxy", "", "prebuilt sseproxy binary (default: go build ./cmd/sseproxy)")
	fs.StringVar(&o.MinIO, "minio", "", "MinIO binary (default: $SSEPROXY_TOOLS or ~/.cache/sseproxy-tools/bin/minio, then PATH)")
	fs.StringVar(&o.Dir, "dir", "", "parent directory of the work dir, on disk (default: the temp dir)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the work dir (MinIO data and process logs)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	o.Targets = splitList(*targets)
	o.Skip = splitList(*skip)
	o.Workloads = splitList(*only)
	if *short {
		o = shortOptions(o)
	}
	return o, o.validate()
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// sizeFlag parses byte sizes: 123, 64KiB, 8MiB, 1GiB, 10GiB.
type sizeFlag int64

func (s *sizeFlag) String() string { return formatSize(int64(*s)) }

func (s *sizeFlag) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s = sizeFlag(n)
	return nil
}

func parseSize(v string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}} {
		if strings.HasSuffix(v, u.suffix) {
			v, mult = strings.TrimSuffix(v, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("bench: invalid size %q (want e.g. 512KiB, 64MiB, 1GiB)", v)
	}
	return n * mult, nil
}

// formatSize writes n in the largest binary unit that divides it.
func formatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.mult && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// run performs one benchmark run, prints the tables to w and writes o.Out.
func run(ctx context.Context, o Options, w io.Writer) (*Results, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	res := newResults(o, start)
	e, err := setupEnv(ctx, o, w)
	if err != nil {
		return nil, err
	}
	defer e.close()
	res.Targets = e.describeTargets()
	res.SSEProxySource = e.proxySrc

	if !o.skips("throughput") || !o.skips("small") {
		if err := runRounds(ctx, e, o, res, w); err != nil {
			return nil, err
		}
	}
	if !o.skips("kms") {
		fmt.Fprintln(w, "counting KMS calls per request...")
		if res.KMS, err = measureKMS(ctx, e, o, w); err != nil {
			return nil, err
		}
	}
	if !o.skips("cipher") {
		fmt.Fprintln(w, "measuring the cipher floor in-process...")
		if res.Cipher, err = measureCipher(o.CipherSize); err != nil {
			return nil, err
		}
	}
	if !o.skips("fetch") {
		fmt.Fprintln(w, "counting backend bytes of 1-byte ranged GETs...")
		if res.RangeFetch, err = measureRangeFetch(ctx, e, o); err != nil {
			return nil, err
		}
	}
	if !o.skips("rss") {
		fmt.Fprintln(w, "measuring peak RSS...")
		if res.RSS, err = measureRSS(ctx, e, o, w); err != nil {
			return nil, err
		}
	}
	res.finish(time.Since(start))
	res.print(w)
	if o.Out != "" {
		if err := res.write(o.Out); err != nil {
			return res, err
		}
		fmt.Fprintf(w, "\nresults written to %s\n", o.Out)
	}
	return res, nil
}
