package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/sseproxy/sseproxy/sse"
)

// prepare writes the objects the rounds read but never write, and checks every target round
// trips bytes correctly (and that the encrypting ones do encrypt) before anything is timed.
func prepare(ctx context.Context, e *env, o Options) error {
	for _, t := range e.targets {
		if err := verifyTarget(ctx, e, t); err != nil {
			return fmt.Errorf("bench: checking %s: %w", t.name, err)
		}
		if err := writeReadFixtures(ctx, t, o); err != nil {
			return fmt.Errorf("bench: writing objects to %s: %w", t.name, err)
		}
		if o.skips("small") {
			continue
		}
		for _, size := range []int64{1 << 10, 64 << 10} {
			var next atomic.Int64
			_, err := parallel(ctx, min(16, o.SmallKeys), func(ctx context.Context, _ int) error {
				for {
					i := int(next.Add(1) - 1)
					if i >= o.SmallKeys {
						return nil
					}
					if err := t.put(ctx, smallKey(size, i), size); err != nil {
						return err
					}
				}
			})
			if err != nil {
				return fmt.Errorf("bench: writing small objects to %s: %w", t.name, err)
			}
		}
	}
	return nil
}

// writeReadFixtures writes the large objects that selected GET workloads read when the PUT
// workload that writes them is not selected (-workloads).
func writeReadFixtures(ctx context.Context, t *target, o Options) error {
	sel := map[string]bool{}
	for _, w := range workloads(o) {
		sel[w.id] = true
	}
	n := 0
	if (sel["get-x1"] || sel["ranged-get-1b"]) && !sel["put-x1"] {
		n = 1 // get-x1 runs before put-xN in a round
	}
	if sel["get-xN"] && !sel["put-xN"] {
		n = o.Streams
	}
	for i := range n {
		if err := t.put(ctx, fmt.Sprintf("big-%d", i), o.Size); err != nil {
			return err
		}
	}
	if sel["ranged-get"] && !sel["multipart-put"] {
		return t.putMultipart(ctx, "mpu", o.Size, o.PartSize, o.PartWorkers)
	}
	return nil
}

// verifyTarget round-trips an object of a few unaligned packages, whole and ranged.
func verifyTarget(ctx context.Context, e *env, t *target) error {
	const name, size = "verify", 3<<20 + 12345
	if err := t.put(ctx, name, size); err != nil {
		return err
	}
	if err := t.get(ctx, name, 0, 0, size, newVerifier(size, seedOf(name), 0)); err != nil {
		return err
	}
	const off, n = 70000, 200000
	if err := t.get(ctx, name, off, n, n, newVerifier(size, seedOf(name), off)); err != nil {
		return err
	}
	switch t.name {
	case targetSSEProxy, targetSSEProxyKMS:
		// The stored object is the ciphertext: 32 bytes more per 64 KiB package.
		info, err := e.backendCore().StatObject(ctx, benchBucket, t.key(name), minio.StatObjectOptions{})
		if want, _ := sse.EncryptedSize(size); err == nil && info.Size != want {
			err = fmt.Errorf("stored size %d, want the ciphertext size %d: is sseproxy encrypting?", info.Size, want)
		}
		if err != nil {
			return err
		}
		// A HEAD through the proxy names the encryption its default chose.
		info, err = t.core.StatObject(ctx, benchBucket, t.key(name), minio.StatObjectOptions{})
		want := proxyEncryption(t.name)
		if got := info.Metadata.Get("X-Amz-Server-Side-Encryption"); err == nil && got != want {
			err = fmt.Errorf("x-amz-server-side-encryption = %q through sseproxy, want %s: is encryption.default applied?", got, want)
		}
		if got := info.Metadata.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"); err == nil && want == encKMS && got == "" {
			err = errors.New("no x-amz-server-side-encryption-aws-kms-key-id on an aws:kms object")
		}
		return err
	case targetNative, targetNativeHop:
		info, err := t.core.StatObject(ctx, benchBucket, t.key(name), minio.StatObjectOptions{})
		if got := info.Metadata.Get("X-Amz-Server-Side-Encryption"); err == nil && got != "AES256" {
			err = fmt.Errorf("x-amz-server-side-encryption = %q, want AES256: is MinIO encrypting?", got)
		}
		return err
	}
	return nil
}

// backendCore is a client of the plain MinIO itself.
func (e *env) backendCore() minio.Core {
	c, _ := newCore(hostOf(e.minio.Endpoint), e.minio.AccessKey, e.minio.SecretKey)
	return c
}

// measure runs w once on t and charges the CPU the proxy and backend processes used meanwhile.
func measure(ctx context.Context, t *target, w workload) (sample, error) {
	p0, err := cpuSeconds(t.proxyPID)
	if err != nil {
		return sample{}, err
	}
	b0, err := cpuSeconds(t.backendPID)
	if err != nil {
		return sample{}, err
	}
	c0 := selfCPU()
	s, err := w.run(ctx, t)
	if err != nil {
		return s, err
	}
	c1 := selfCPU()
	p1, _ := cpuSeconds(t.proxyPID)
	b1, _ := cpuSeconds(t.backendPID)
	s.proxyCPU, s.backendCPU, s.clientCPU = p1-p0, b1-b0, c1-c0
	return s, nil
}

// runRounds runs every workload on every target, o.Rounds times. Within a round a workload
// runs on all targets back to back, starting from a different target each time, so paired
// ratios compare measurements taken moments apart and no target always goes first.
func runRounds(ctx context.Context, e *env, o Options, res *Results, w io.Writer) error {
	fmt.Fprintln(w, "checking targets and writing fixtures...")
	if err := prepare(ctx, e, o); err != nil {
		return err
	}
	wls := workloads(o)
	if len(wls) == 0 {
		return nil
	}
	for r := range o.Rounds {
		fmt.Fprintf(w, "round %d/%d (load average %s)\n", r+1, o.Rounds, loadAvg())
		busy0, ours0, t0 := machineBusy0(), e.ourCPU(), time.Now()
		for i, wl := range wls {
			n := len(e.targets)
			line := fmt.Sprintf("  %-40s", wl.name)
			vals := map[string]float64{}
			for k := range n {
				t := e.targets[(r+i+k)%n]
				s, err := measure(ctx, t, wl)
				if err != nil {
					return fmt.Errorf("bench: %s on %s: %w", wl.name, t.name, err)
				}
				res.add(wl, t.name, s)
				vals[t.name] = s.value(wl.kind)
			}
			for _, t := range e.targets {
				line += fmt.Sprintf(" %s=%.0f", t.name, vals[t.name])
			}
			fmt.Fprintln(w, line)
		}
		ri := RoundInfo{Round: r + 1, WallSeconds: round3(time.Since(t0).Seconds()), LoadAvg: loadAvg()}
		ri.ForeignCPUSeconds = round3(max(0, machineBusy0()-busy0-(e.ourCPU()-ours0)))
		if ri.WallSeconds > 0 {
			ri.ForeignShare = round3(ri.ForeignCPUSeconds / (ri.WallSeconds * float64(runtime.NumCPU())))
		}
		res.Rounds = append(res.Rounds, ri)
		fmt.Fprintf(w, "  other processes used %.0f%% of the machine during round %d\n", 100*ri.ForeignShare, r+1)
	}
	return nil
}

func machineBusy0() float64 {
	v, _ := machineBusy()
	return v
}

// ourCPU is the CPU time of every process of the run: the bench, MinIO, hops and sseproxy.
func (e *env) ourCPU() float64 {
	total := selfCPU()
	pids := []int{e.minioPID, e.nativePID}
	for _, c := range e.children {
		pids = append(pids, c.pid())
	}
	for _, pid := range pids {
		v, _ := cpuSeconds(pid)
		total += v
	}
	return total
}
