package devstore

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
)

func TestChunkedReader(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr error
	}{
		{"signed chunks", "5;chunk-signature=aa\r\nhello\r\n6;chunk-signature=bb\r\n world\r\n0;chunk-signature=cc\r\n\r\n", "hello world", nil},
		{"unsigned trailer", "5\r\nhello\r\n0\r\nx-amz-checksum-crc32c:AAAAAA==\n\r\n\r\n", "hello", nil},
		{"signed trailer", "5;chunk-signature=aa\r\nhello\r\n0;chunk-signature=bb\r\nx-amz-checksum-crc32c:AAAAAA==\n\r\nx-amz-trailer-signature:cc\r\n\r\n", "hello", nil},
		{"empty payload", "0;chunk-signature=aa\r\n\r\n", "", nil},
		{"upper-case hex", "A\r\n0123456789\r\n0\r\n\r\n", "0123456789", nil},
		{"chunk of 64KiB", "10000\r\n" + strings.Repeat("x", 1<<16) + "\r\n0\r\n\r\n", strings.Repeat("x", 1<<16), nil},
		{"truncated payload", "5\r\nhel", "", io.ErrUnexpectedEOF},
		{"no CRLF after payload", "5\r\nhelloX\r\n0\r\n\r\n", "", errChunked},
		{"no final chunk", "5\r\nhello\r\n", "", errChunked},
		{"size not hex", "zz\r\nhello\r\n0\r\n\r\n", "", errChunked},
		{"negative size", "-1\r\nx\r\n0\r\n\r\n", "", errChunked},
		{"size overflows", "10000000000000000\r\n", "", errChunked},
		{"LF-only header", "5\nhello\r\n0\r\n\r\n", "", errChunked},
		{"empty body", "", "", errChunked},
		{"header too long", strings.Repeat("0", maxChunkHeader+1) + "\r\n", "", errChunked},
		{"trailer too long", "0\r\n" + strings.Repeat("x", maxTrailer+1), "", errChunked},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			name := tt.name
			var in io.Reader = strings.NewReader(tt.in)
			if oneByte {
				name += "/one byte reads"
				in = iotest.OneByteReader(in)
			}
			t.Run(name, func(t *testing.T) {
				got, err := io.ReadAll(newChunkedReader(in))
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("read(%.40q) error = %v, want %v", tt.in, err, tt.wantErr)
				}
				if tt.wantErr == nil && string(got) != tt.want {
					t.Errorf("read(%.40q) = %.40q, want %.40q", tt.in, got, tt.want)
				}
			})
		}
	}
}

func FuzzChunkedReader(f *testing.F) {
	f.Add([]byte("5;chunk-signature=aa\r\nhello\r\n0;chunk-signature=bb\r\n\r\n"))
	f.Add([]byte("5\r\nhello\r\n0\r\nx-amz-checksum-crc32c:AAAAAA==\n\r\n\r\n"))
	f.Add([]byte("fffffffffffffff\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, _ := io.ReadAll(newChunkedReader(bytes.NewReader(data)))
		if len(got) > len(data) {
			t.Fatalf("decoded %d bytes from %d", len(got), len(data))
		}
	})
}

func TestDecodeChunked(t *testing.T) {
	tests := []struct {
		name     string
		header   map[string]string
		ok       bool
		wantEnc  string
		wantSize int64
	}{
		{"aws-chunked only", map[string]string{"X-Amz-Decoded-Content-Length": "5", "Content-Encoding": "aws-chunked"}, true, "", 5},
		{"keeps other encodings", map[string]string{"X-Amz-Decoded-Content-Length": "5", "Content-Encoding": "aws-chunked, gzip"}, true, "gzip", 5},
		{"zero length", map[string]string{"X-Amz-Decoded-Content-Length": "0"}, true, "", 0},
		{"missing decoded length", map[string]string{"Content-Encoding": "aws-chunked"}, false, "", 0},
		{"negative decoded length", map[string]string{"X-Amz-Decoded-Content-Length": "-1"}, false, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPut, "/b/k", strings.NewReader("5\r\nhello\r\n0\r\n\r\n"))
			r.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
			r.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32c")
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			if ok := decodeChunked(r); ok != tt.ok {
				t.Fatalf("decodeChunked = %v, want %v", ok, tt.ok)
			}
			if !tt.ok {
				return
			}
			if r.ContentLength != tt.wantSize || r.Header.Get("Content-Length") != strings.TrimSpace(tt.header["X-Amz-Decoded-Content-Length"]) {
				t.Errorf("length = %d, header %q, want %d", r.ContentLength, r.Header.Get("Content-Length"), tt.wantSize)
			}
			if got := r.Header.Get("Content-Encoding"); got != tt.wantEnc {
				t.Errorf("Content-Encoding = %q, want %q", got, tt.wantEnc)
			}
			for _, h := range []string{"X-Amz-Decoded-Content-Length", "X-Amz-Trailer"} {
				if v := r.Header.Get(h); v != "" {
					t.Errorf("%s = %q, want it removed", h, v)
				}
			}
			if got := r.Header.Get("X-Amz-Content-Sha256"); got != "UNSIGNED-PAYLOAD" {
				t.Errorf("X-Amz-Content-Sha256 = %q, want UNSIGNED-PAYLOAD", got)
			}
			if body, err := io.ReadAll(r.Body); err != nil || string(body) != "hello" {
				t.Errorf("body = %q, %v, want hello", body, err)
			}
		})
	}
}

func TestNormalizeRequestMetadata(t *testing.T) {
	tests := []struct {
		name   string
		method string
		header map[string]string
		want   string // requestMetaHeader as the next handler sees it
	}{
		{"copy lists sent metadata", http.MethodPut,
			map[string]string{"X-Amz-Copy-Source": "/b/src", "x-amz-meta-one": "1", "Content-Type": "text/plain", "X-Amz-Date": "d"},
			"Content-Type,X-Amz-Meta-One"},
		{"copy without metadata", http.MethodPut, map[string]string{"X-Amz-Copy-Source": "/b/src"}, ""},
		{"forged list on a copy is replaced", http.MethodPut,
			map[string]string{"X-Amz-Copy-Source": "/b/src", requestMetaHeader: "X-Amz-Meta-Forged"}, ""},
		{"forged list on a put is removed", http.MethodPut, map[string]string{requestMetaHeader: "X-Amz-Meta-Forged"}, ""},
		{"get untouched", http.MethodGet, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			h := normalize(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Get(requestMetaHeader) }))
			r := httptest.NewRequest(tt.method, "/b/dst", nil)
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got != tt.want {
				t.Errorf("%s = %q, want %q", requestMetaHeader, got, tt.want)
			}
		})
	}
}

func TestNormalizeDropsInternalHeaders(t *testing.T) {
	tests := []struct {
		name, header string
		want         bool // the next handler sees it
	}{
		{"part sizes", partSizesMeta, false},
		{"any internal name", internalPrefix + "Other", false},
		{"lower case", "x-amz-devstore-part-sizes", false},
		{"user metadata", "X-Amz-Meta-Devstore", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got bool
			h := normalize(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, got = r.Header[http.CanonicalHeaderKey(tt.header)]
				if !got {
					_, got = r.Header[tt.header]
				}
			}))
			r := httptest.NewRequest(http.MethodPut, "/b/k", nil)
			r.Header[tt.header] = []string{"1"}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got != tt.want {
				t.Errorf("header %s passed on = %v, want %v", tt.header, got, tt.want)
			}
		})
	}
}
