package main

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/sseproxy/sseproxy/sse"
)

// CipherResult is the cost of the format's work alone, measured in this process with nothing
// else running: the floor under what sseproxy can spend per GiB.
type CipherResult struct {
	Bytes int64        `json:"bytes"`
	Rows  []CipherCost `json:"rows"`
}

// CipherCost is one in-process measurement.
type CipherCost struct {
	Name          string  `json:"name"`
	CPUSecPerGiB  float64 `json:"cpu_s_per_gib"`
	WallSecPerGiB float64 `json:"wall_s_per_gib"`
	MiBps         float64 `json:"mib_per_s"`
}

// measureCipher times, over size bytes each: the payload generator alone (the client's cost of
// making data, included in the next rows), SHA-256 (what verifying SigV4 chunk signatures costs
// on every PUT, at MinIO or at the proxy), raw AES-256-GCM over 64 KiB packages, and
// sse.EncryptReader and sse.DecryptReader end to end.
func measureCipher(size int64) (*CipherResult, error) {
	key := make([]byte, sse.KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	buf := make([]byte, 256<<10)
	res := &CipherResult{Bytes: size}
	measure := func(name string, fn func() (int64, error)) error {
		runtime.GC()
		c0, t0 := selfCPU(), time.Now()
		n, err := fn()
		if err != nil {
			return fmt.Errorf("bench: cipher floor %s: %w", name, err)
		}
		cpu, wall := selfCPU()-c0, time.Since(t0).Seconds()
		gib := float64(n) / (1 << 30)
		res.Rows = append(res.Rows, CipherCost{Name: name, CPUSecPerGiB: round3(cpu / gib), WallSecPerGiB: round3(wall / gib),
			MiBps: round3(float64(n) / (1 << 20) / wall)})
		return nil
	}
	err := measure("payload generator (memcpy)", func() (int64, error) {
		return drain(newPayload(size, 1), buf)
	})
	if err == nil {
		err = measure("SHA-256 (SigV4 chunk verification)", func() (int64, error) {
			h := sha256.New()
			return io.CopyBuffer(h, struct{ io.Reader }{newPayload(size, 2)}, buf)
		})
	}
	if err == nil {
		err = measure("AES-256-GCM seal, 64 KiB packages (crypto/cipher)", func() (int64, error) {
			return sealPackages(key, size)
		})
	}
	if err == nil {
		err = measure("sse.EncryptReader (generator -> DARE)", func() (int64, error) {
			enc, err := sse.EncryptReader(newPayload(size, 3), key)
			if err != nil {
				return 0, err
			}
			if _, err := drain(enc, buf); err != nil {
				return 0, err
			}
			return size, nil
		})
	}
	if err != nil {
		return nil, err
	}
	// Decrypt a ciphertext held in memory, over and over: at most 64 MiB of it, so a large
	// -cipher-size does not mean a large allocation.
	chunk := min(size, 64<<20)
	ct := bytes.NewBuffer(make([]byte, 0, chunk+chunk/sse.PayloadSize*32+64))
	enc, err := sse.EncryptReader(newPayload(chunk, 4), key)
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(ct, enc); err != nil {
		return nil, err
	}
	err = measure("sse.DecryptReader (memory -> plaintext)", func() (int64, error) {
		var total int64
		for total < size {
			dec := sse.DecryptReader(bytes.NewReader(ct.Bytes()), key, sse.WholeWindow(chunk))
			n, err := drain(dec, buf)
			if err != nil {
				return total, err
			}
			total += n
		}
		return total, nil
	})
	return res, err
}

// sealPackages seals size bytes as 64 KiB AES-256-GCM packages with crypto/cipher directly:
// what any DARE implementation must spend at least.
func sealPackages(key []byte, size int64) (int64, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return 0, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return 0, err
	}
	plain := make([]byte, sse.PayloadSize)
	out := make([]byte, 0, sse.PayloadSize+gcm.Overhead())
	nonce := make([]byte, gcm.NonceSize())
	src := newPayload(size, 5)
	var total int64
	for seq := uint64(0); total < size; seq++ {
		n, _ := io.ReadFull(src, plain)
		for i := range 8 {
			nonce[4+i] = byte(seq >> (8 * i))
		}
		out = gcm.Seal(out[:0], nonce, plain[:n], nil)
		total += int64(n)
	}
	return total, nil
}
