package sse

import (
	"bytes"
	"io"
	"testing"
)

// BenchmarkDecryptSmall measures a whole 1 KiB object read the way the
// proxy reads it (exactly Count bytes, then one more Read to the end).
func BenchmarkDecryptSmall(b *testing.B) {
	key := bytes.Repeat([]byte{1}, KeySize)
	r, _ := EncryptReader(bytes.NewReader(make([]byte, 1024)), key)
	ct, _ := io.ReadAll(r)
	buf := make([]byte, 1024)
	b.ReportAllocs()
	for b.Loop() {
		d := DecryptReader(bytes.NewReader(ct), key, WholeWindow(1024))
		if _, err := io.ReadFull(d, buf); err != nil {
			b.Fatal(err)
		}
		if _, err := d.Read(buf[:1]); err != io.EOF {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncryptSmall measures encrypting a 1 KiB object read with a
// large buffer, as the HTTP transport reads a request body.
func BenchmarkEncryptSmall(b *testing.B) {
	key := bytes.Repeat([]byte{1}, KeySize)
	plain := make([]byte, 1024)
	buf := make([]byte, 256<<10)
	b.ReportAllocs()
	for b.Loop() {
		r, err := EncryptReader(bytes.NewReader(plain), key)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Read(buf); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkDecryptRange measures a 1-byte ranged read of a 3-package object the
// way the proxy serves it: the window's packages, Count bytes, then one more
// Read to the end.
func BenchmarkDecryptRange(b *testing.B) {
	key := bytes.Repeat([]byte{1}, KeySize)
	const size = 3 * PayloadSize
	r, _ := EncryptReader(bytes.NewReader(make([]byte, size)), key)
	ct, _ := io.ReadAll(r)
	w := RangeWindow(PayloadSize+1000, 1, size)
	window := ct[w.Offset : w.Offset+w.Length]
	buf := make([]byte, 1)
	b.ReportAllocs()
	for b.Loop() {
		d := DecryptReader(bytes.NewReader(window), key, w)
		if _, err := io.ReadFull(d, buf); err != nil {
			b.Fatal(err)
		}
		if _, err := d.Read(buf[:1]); err != io.EOF {
			b.Fatal(err)
		}
	}
}
