package sse

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The tests in this file check FORMAT.md against the code: every sse-vector block of the
// document is parsed and recomputed, so a wrong number in the document fails the build.

// vector is one sse-vector block of FORMAT.md: its "name: value" lines, and its other lines.
type vector struct {
	kind   string
	fields map[string]string
	lines  []string
}

func readVectors(t *testing.T) []vector {
	t.Helper()
	doc, err := os.ReadFile("FORMAT.md")
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	var cur *vector
	for i, line := range strings.Split(string(doc), "\n") {
		switch {
		case line == "```sse-vector":
			cur = &vector{fields: map[string]string{}}
		case cur != nil && line == "```":
			if cur.kind == "" {
				t.Fatalf("FORMAT.md:%d: sse-vector block without kind", i+1)
			}
			vs = append(vs, *cur)
			cur = nil
		case cur != nil:
			name, value, ok := strings.Cut(line, ": ")
			if !ok {
				cur.lines = append(cur.lines, line)
				continue
			}
			if name == "kind" {
				cur.kind = value
				continue
			}
			if _, dup := cur.fields[name]; dup {
				t.Fatalf("FORMAT.md:%d: field %q given twice", i+1, name)
			}
			cur.fields[name] = value
		}
	}
	return vs
}

// vectors returns the vectors of one kind, and fails unless there are at least min.
func vectors(t *testing.T, kind string, min int) []vector {
	t.Helper()
	var vs []vector
	for _, v := range readVectors(t) {
		if v.kind == kind {
			vs = append(vs, v)
		}
	}
	if len(vs) < min {
		t.Fatalf("FORMAT.md has %d %s vectors, want at least %d", len(vs), kind, min)
	}
	return vs
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q in FORMAT.md: %v", s, err)
	}
	return b
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("bad number %q in FORMAT.md: %v", s, err)
	}
	return n
}

// plaintextOf decodes `"hello"` or `65537 x "a"`.
func plaintextOf(t *testing.T, s string) []byte {
	t.Helper()
	n, lit, repeated := strings.Cut(s, ` x `)
	if !repeated {
		lit = n
	}
	lit, err := strconv.Unquote(lit)
	if err != nil {
		t.Fatalf("bad plaintext %q in FORMAT.md: %v", s, err)
	}
	if !repeated {
		return []byte(lit)
	}
	return bytes.Repeat([]byte(lit), int(atoi(t, n)))
}

func TestFormatStreams(t *testing.T) {
	for i, v := range vectors(t, "stream", 2) {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			key := unhex(t, v.fields["key"])
			nonce := [12]byte(unhex(t, v.fields["nonce"]))
			plain := plaintextOf(t, v.fields["plaintext"])
			r, err := encryptReader(bytes.NewReader(plain), key, &nonce)
			if err != nil {
				t.Fatal(err)
			}
			ct, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if want := atoi(t, v.fields["ciphertext-size"]); int64(len(ct)) != want {
				t.Errorf("len(ciphertext) = %d, want %d", len(ct), want)
			}
			if size, _ := EncryptedSize(int64(len(plain))); size != int64(len(ct)) {
				t.Errorf("EncryptedSize(%d) = %d, want %d", len(plain), size, len(ct))
			}
			checked := 0
			for name, value := range v.fields {
				var n int
				var part string
				if _, err := fmt.Sscanf(name, "package %d %s", &n, &part); err != nil {
					continue
				}
				start, end := n*PackageSize, min((n+1)*PackageSize, len(ct))
				if start+overhead > len(ct) {
					t.Fatalf("%s: no package %d in %d bytes", name, n, len(ct))
				}
				got := ct[start : start+headerSize]
				if part == "tag" {
					got = ct[end-tagSize : end]
				}
				if want := unhex(t, value); !bytes.Equal(got, want) {
					t.Errorf("%s = %x, want %x", name, got, want)
				}
				checked++
			}
			if checked == 0 {
				t.Error("vector checks no package header or tag")
			}
			if want, ok := v.fields["ciphertext"]; ok && !bytes.Equal(ct, unhex(t, want)) {
				t.Errorf("ciphertext = %x, want %s", ct, want)
			}
			if want, ok := v.fields["ciphertext-sha256"]; ok {
				if sum := sha256.Sum256(ct); !bytes.Equal(sum[:], unhex(t, want)) {
					t.Errorf("sha256(ciphertext) = %x, want %s", sum, want)
				}
			}
			got, err := io.ReadAll(DecryptReader(bytes.NewReader(ct), key, WholeWindow(int64(len(plain)))))
			if err != nil || !bytes.Equal(got, plain) {
				t.Errorf("DecryptReader(vector) = %d bytes, %v; want the plaintext", len(got), err)
			}
		})
	}
}

func TestFormatSizes(t *testing.T) {
	for _, v := range vectors(t, "sizes", 1) {
		for _, line := range v.lines {
			if c, ok := strings.CutPrefix(line, "invalid "); ok {
				if got, err := DecryptedSize(atoi(t, c)); err != ErrInvalidSize {
					t.Errorf("DecryptedSize(%s) = %d, %v, want ErrInvalidSize", c, got, err)
				}
				continue
			}
			p, c, ok := strings.Cut(line, " -> ")
			if !ok {
				t.Fatalf("bad sizes line %q in FORMAT.md", line)
			}
			if got, err := EncryptedSize(atoi(t, p)); err != nil || got != atoi(t, c) {
				t.Errorf("EncryptedSize(%s) = %d, %v, want %s", p, got, err, c)
			}
			if got, err := DecryptedSize(atoi(t, c)); err != nil || got != atoi(t, p) {
				t.Errorf("DecryptedSize(%s) = %d, %v, want %s", c, got, err, p)
			}
		}
	}
}

func TestFormatRanges(t *testing.T) {
	for _, v := range vectors(t, "range", 2) {
		var off, length, size int64
		if _, err := fmt.Sscanf(v.fields["range"], "%d %d of %d", &off, &length, &size); err != nil {
			t.Fatalf("bad range %q in FORMAT.md: %v", v.fields["range"], err)
		}
		var want Window
		if _, err := fmt.Sscanf(v.fields["window"], "offset %d length %d sequence %d skip %d count %d partial %t",
			&want.Offset, &want.Length, &want.Sequence, &want.Skip, &want.Count, &want.Partial); err != nil {
			t.Fatalf("bad window %q in FORMAT.md: %v", v.fields["window"], err)
		}
		if got := RangeWindow(off, length, size); got != want {
			t.Errorf("RangeWindow(%d, %d, %d) = %+v, want %+v", off, length, size, got, want)
		}
	}
}

func TestFormatAssociatedData(t *testing.T) {
	for _, v := range vectors(t, "associated-data", 2) {
		got := AssociatedData(v.fields["bucket"], v.fields["object"])
		if want := unhex(t, v.fields["hex"]); !bytes.Equal(got, want) {
			t.Errorf("AssociatedData(%q, %q) = %x, want %x", v.fields["bucket"], v.fields["object"], got, want)
		}
	}
}

func TestFormatPartKeys(t *testing.T) {
	for _, v := range vectors(t, "part-key", 1) {
		key, part := unhex(t, v.fields["key"]), int(atoi(t, v.fields["part"]))
		if got, want := PartKey(key, part), unhex(t, v.fields["hex"]); !bytes.Equal(got, want) {
			t.Errorf("PartKey(%x, %d) = %x, want %x", key, part, got, want)
		}
	}
}

// TestFormatMetadataNames checks that the metadata table of FORMAT.md lists exactly the
// names the code writes and reads.
func TestFormatMetadataNames(t *testing.T) {
	doc, err := os.ReadFile("FORMAT.md")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range regexp.MustCompile("(?m)^\\| `x-amz-meta-(sseproxy-[a-z-]+)`").FindAllSubmatch(doc, -1) {
		got = append(got, string(m[1]))
	}
	want := []string{MetaFormat, MetaAlgorithm, MetaKeyID, MetaWrappedKey, MetaETag, MetaContext, MetaMultipart}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("FORMAT.md metadata table = %v, want %v", got, want)
	}
	for _, name := range want {
		if !strings.HasPrefix(name, MetaPrefix) {
			t.Errorf("metadata name %q lacks prefix %q", name, MetaPrefix)
		}
	}
}
