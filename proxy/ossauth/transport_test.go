package ossauth

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// A client that dies mid-body: the server sees the body end early, and the
// verifying reader must say so without ever handing out the last byte it
// received.
func TestTruncatedBodyOverTCP(t *testing.T) {
	data := bytes.Repeat([]byte("truncate"), (100<<10)/8)
	tests := []struct {
		name    string
		headers []string
		version int
		keep    func(wireLen int) int // bytes of the serialised request sent
	}{
		{"V1, half the body", nil, 1, func(n int) int { return n - len(data)/2 }},
		{"V1, all but the last byte", nil, 1, func(n int) int { return n - 1 }},
		{"V1 with Content-MD5, all but the last byte", []string{"Content-MD5", md5Base64(data)}, 1, func(n int) int { return n - 1 }},
		{"V4, all but the last byte", nil, 4, func(n int) int { return n - 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := New(Options{Credentials: staticCreds{testAccessKey: testSecret}})
			srv, outcomes := startServer(t, v)
			build := func() *http.Request {
				r, err := http.NewRequest("PUT", srv.URL+"/bucket/key", bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; i+1 < len(tt.headers); i += 2 {
					r.Header.Set(tt.headers[i], tt.headers[i+1])
				}
				if tt.version == 4 {
					return signV4(r, testAccessKey, testSecret, time.Now())
				}
				return signV1(r, testAccessKey, testSecret, time.Now())
			}
			var wire bytes.Buffer
			if err := build().Write(&wire); err != nil {
				t.Fatal(err)
			}
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.Write(wire.Bytes()[:tt.keep(wire.Len())]); err != nil {
				t.Fatal(err)
			}
			conn.(*net.TCPConn).CloseWrite()
			go io.Copy(io.Discard, conn)
			select {
			case o := <-outcomes:
				if o.err != nil {
					t.Fatalf("Verify() = %v, want success", o.err)
				}
				errorIs(t, "reading Body", o.readErr, ErrIncompleteBody)
				if sent := len(data) - (wire.Len() - tt.keep(wire.Len())); len(o.body) >= sent {
					t.Errorf("read %d bytes of the %d sent, want the last byte withheld", len(o.body), sent)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no outcome")
			}
		})
	}
}
