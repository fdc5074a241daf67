package backend

import (
	"context"
	"io"
	"net"
	"sync"
)

// bodyBufSize is the write size of request bodies on plain connections:
// two packages of the proxy's ciphertext (64 KiB + 32 bytes each) fit. One
// is held per PUT in flight: 256 KiB would save few more syscalls (loopback
// carries 64 KiB segments either way) and cost 16 MiB more at 64 concurrent
// PUTs (measured with the bench's RSS probe).
const bodyBufSize = 128<<10 + 64

var bodyBufs = sync.Pool{New: func() any { b := make([]byte, bodyBufSize); return &b }}

// bulkConn is a plain connection that takes request bodies in 128 KiB
// writes. net/http sends a body through the connection's ReadFrom (to let a
// TCP connection splice from a file), and a *net.TCPConn given a reader
// that is neither a file nor a socket falls back to io.Copy with a 32 KiB
// buffer, whatever the transport's WriteBufferSize: twice the syscalls, and
// an encrypting reader asked for 32 KiB must seal each 64 KiB package into
// its own buffer and copy it out in pieces. Offered two packages' worth, it
// seals them straight into the buffer that is written.
type bulkConn struct {
	net.Conn
}

// ReadFrom copies r to the connection in writes of up to bodyBufSize.
func (c bulkConn) ReadFrom(r io.Reader) (int64, error) {
	bp := bodyBufs.Get().(*[]byte)
	defer bodyBufs.Put(bp)
	// Hide the connection's own ReadFrom, or CopyBuffer would call it.
	return io.CopyBuffer(struct{ io.Writer }{c.Conn}, r, *bp)
}

// bulkDialer wraps the plain connections dial makes in bulkConn.
func bulkDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return bulkConn{c}, nil
	}
}
