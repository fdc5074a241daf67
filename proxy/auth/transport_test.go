package auth

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// rawSend writes the first cut bytes of req as serialised on the wire
// (all of it when cut < 0) to srv over TCP, then half-closes the
// connection: a client that dies mid-body.
func rawSend(t *testing.T, addr string, req *http.Request, cut int) {
	t.Helper()
	var wire bytes.Buffer
	if err := req.Write(&wire); err != nil {
		t.Fatal(err)
	}
	b := wire.Bytes()
	if cut >= 0 {
		b = b[:cut]
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := conn.Write(b); err != nil {
		t.Fatal(err)
	}
	conn.(*net.TCPConn).CloseWrite()
	go io.Copy(io.Discard, conn)
}

func TestTruncatedBodyOverTCP(t *testing.T) {
	data := bytes.Repeat([]byte("truncate"), (100<<10)/8)
	tests := []struct {
		name  string
		build func(base string) *http.Request
		keep  func(wireLen int) int // bytes of the serialised request sent
	}{
		{
			name: "signed payload, half the body",
			build: func(b string) *http.Request {
				return signV4(newReq("PUT", b, "/bucket/key", nil, data), data, rtSecret)
			},
			keep: func(n int) int { return n - len(data)/2 },
		},
		{
			name: "signed payload, all but the last byte",
			build: func(b string) *http.Request {
				return signV4(newReq("PUT", b, "/bucket/key", nil, data), data, rtSecret)
			},
			keep: func(n int) int { return n - 1 },
		},
		{
			name:  "aws-chunked, in the second chunk",
			build: func(b string) *http.Request { return streaming(newReq("PUT", b, "/bucket/key", nil, data), data, nil) },
			keep:  func(n int) int { return n - 20<<10 },
		},
		{
			name:  "aws-chunked, in the final chunk",
			build: func(b string) *http.Request { return streaming(newReq("PUT", b, "/bucket/key", nil, data), data, nil) },
			keep:  func(n int) int { return n - 10 },
		},
		{
			name: "unsigned trailer, in the trailer",
			build: func(b string) *http.Request {
				return unsignedTrailer(newReq("PUT", b, "/bucket/key", nil, data), data, checksumHeader(algCRC32C, data))
			},
			keep: func(n int) int { return n - 8 },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := New(Options{Credentials: staticCreds{rtAccessKey: rtSecret}})
			srv, outcomes := startServer(t, v, 32<<10)
			req := tt.build(srv.URL)
			var wire bytes.Buffer
			req.Write(&wire)
			req = tt.build(srv.URL) // the body was consumed
			rawSend(t, srv.Listener.Addr().String(), req, tt.keep(wire.Len()))
			select {
			case o := <-outcomes:
				if o.err != nil {
					t.Fatalf("Verify() = %v, want success", o.err)
				}
				errorIs(t, "reading Body", o.readErr, ErrIncompleteBody)
				if len(o.body) >= len(data) {
					t.Errorf("read %d bytes of %d, want the last byte withheld", len(o.body), len(data))
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no outcome")
			}
		})
	}
}

// aws-chunked inside HTTP chunked transfer coding: no Content-Length at all.
func TestAWSChunkedOverTransferEncodingChunked(t *testing.T) {
	data := bytes.Repeat([]byte("te-chunked"), 20<<10)
	for _, tt := range []struct {
		name  string
		build func(base string) *http.Request
	}{
		{"signed chunks", func(b string) *http.Request { return streaming(newReq("PUT", b, "/k", nil, data), data, nil) }},
		{"signed trailer", func(b string) *http.Request {
			return streaming(newReq("PUT", b, "/k", nil, data), data, checksumHeader(algCRC32, data))
		}},
		{"unsigned trailer", func(b string) *http.Request {
			return unsignedTrailer(newReq("PUT", b, "/k", nil, data), data, checksumHeader(algCRC64NVME, data))
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := New(Options{Credentials: staticCreds{rtAccessKey: rtSecret}})
			srv, outcomes := startServer(t, v, 32<<10)
			req := tt.build(srv.URL)
			req.ContentLength = -1 // the transport falls back to Transfer-Encoding: chunked
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			o := <-outcomes
			if o.err != nil || o.readErr != nil || !bytes.Equal(o.body, data) {
				t.Fatalf("outcome = %v, %v, %d bytes, want %d bytes", o.err, o.readErr, len(o.body), len(data))
			}
			if o.res.ContentLength != int64(len(data)) {
				t.Errorf("ContentLength = %d, want %d", o.res.ContentLength, len(data))
			}
		})
	}
}
