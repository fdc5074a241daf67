package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
)

// blockSize is the period of the payload generator: a prime, so that no object repeats in
// step with the 64 KiB packages of the format or any part size.
const blockSize = 4<<20 + 15

// block is the generator's pseudo-random material, made once from a fixed seed. Payloads copy
// from it, so generating a byte costs a memcpy rather than a random number: the client must
// spend its CPU on the transfer, not on making data.
var block = func() []byte {
	b := make([]byte, blockSize+8)
	r := rand.New(rand.NewPCG(0x5eed, 0x5e5e))
	for i := 0; i+8 <= len(b); i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b[:blockSize]
}()

// payload reads n deterministic bytes, the same for the same seed. Objects of different seeds
// start at different places of block. It never holds more than block in memory.
type payload struct {
	start int64 // where in block byte 0 of the object lies
	pos   int64 // next byte of the object
	n     int64
}

func newPayload(n int64, seed uint64) *payload {
	return &payload{start: int64(seed * 0x9e3779b97f4a7c15 % blockSize), n: n}
}

// seek positions the payload at byte off of the object, for comparing a range.
func (p *payload) seek(off int64) { p.pos = off }

func (p *payload) Read(b []byte) (int, error) {
	if p.pos >= p.n {
		return 0, io.EOF
	}
	if rest := p.n - p.pos; int64(len(b)) > rest {
		b = b[:rest]
	}
	total := 0
	for len(b) > 0 {
		c := copy(b, block[(p.start+p.pos)%blockSize:])
		b = b[c:]
		p.pos += int64(c)
		total += c
	}
	return total, nil
}

// verifier is an io.Writer that checks what it is given against a payload.
type verifier struct {
	want *payload
	buf  []byte
	n    int64
}

func newVerifier(size int64, seed uint64, off int64) *verifier {
	p := newPayload(size, seed)
	p.seek(off)
	return &verifier{want: p, buf: make([]byte, 256<<10)}
}

var errMismatch = errors.New("bench: downloaded bytes differ from the uploaded payload")

func (v *verifier) Write(b []byte) (int, error) {
	done := 0
	for done < len(b) {
		chunk := min(len(b)-done, len(v.buf))
		n, _ := io.ReadFull(v.want, v.buf[:chunk])
		if n < chunk || !bytes.Equal(v.buf[:n], b[done:done+n]) {
			return done, fmt.Errorf("%w (at byte %d)", errMismatch, v.n)
		}
		done += n
		v.n += int64(n)
	}
	return done, nil
}

// drain reads r to the end through buf and returns the byte count. Unlike io.Copy to
// io.Discard it reads with the caller's large buffer, not an 8 KiB one.
func drain(r io.Reader, buf []byte) (int64, error) {
	var total int64
	for {
		n, err := r.Read(buf)
		total += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}
