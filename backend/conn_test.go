package backend

import (
	"bytes"
	"io"
	"net"
	"testing"
)

// recordingConn is a net.Conn that keeps what is written to it and the size of every write.
type recordingConn struct {
	net.Conn // nil: only Write is used
	buf      bytes.Buffer
	writes   []int
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, len(p))
	return c.buf.Write(p)
}

// TestBulkConnReadFrom: a request body reaches the connection intact, in writes of up to
// bodyBufSize (two ciphertext packages) rather than net.TCPConn's 32 KiB fallback.
func TestBulkConnReadFrom(t *testing.T) {
	tests := []struct {
		size       int
		wantWrites int
	}{
		{0, 0},
		{1, 1},
		{32 << 10, 1},
		{bodyBufSize, 1},
		{bodyBufSize + 1, 2},
		{4*bodyBufSize + 12345, 5},
	}
	for _, tt := range tests {
		body := bytes.Repeat([]byte("sseproxy"), tt.size/8+1)[:tt.size]
		rc := &recordingConn{}
		// The struct hides bytes.Reader's WriteTo, as the transport's LimitedReader does.
		n, err := bulkConn{rc}.ReadFrom(struct{ io.Reader }{bytes.NewReader(body)})
		if err != nil || n != int64(tt.size) {
			t.Fatalf("size %d: ReadFrom = %d, %v", tt.size, n, err)
		}
		if !bytes.Equal(rc.buf.Bytes(), body) {
			t.Errorf("size %d: the connection got other bytes", tt.size)
		}
		if len(rc.writes) != tt.wantWrites {
			t.Errorf("size %d: %d writes %v, want %d", tt.size, len(rc.writes), rc.writes, tt.wantWrites)
		}
		for _, w := range rc.writes {
			if w > bodyBufSize {
				t.Errorf("size %d: a write of %d bytes", tt.size, w)
			}
		}
	}
}
