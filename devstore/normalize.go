package devstore

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// normalize rewrites each request into a form gofakes3 handles correctly
// before passing it on:
//
//   - An aws-chunked body (x-amz-content-sha256: STREAMING-...) is decoded
//     here. gofakes3 decodes only the signed variant without trailers, and
//     only for PutObject: minio-go's multipart parts over plain HTTP, which
//     is how the proxy reaches this store, would be stored with their chunk
//     framing.
//   - A copy request gets the list of metadata headers it really sent (see
//     requestMetaHeader). A client cannot forge the list, nor any other
//     internal name: every incoming header starting with internalPrefix is
//     removed first.
func normalize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for name := range r.Header {
			if strings.HasPrefix(http.CanonicalHeaderKey(name), internalPrefix) {
				delete(r.Header, name)
			}
		}
		if strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
			if !decodeChunked(r) {
				http.Error(w, "devstore: aws-chunked body without a valid x-amz-decoded-content-length", http.StatusLengthRequired)
				return
			}
		}
		if r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "" {
			var names []string
			for name := range r.Header {
				if keepMeta(name) {
					names = append(names, http.CanonicalHeaderKey(name))
				}
			}
			slices.Sort(names)
			r.Header.Set(requestMetaHeader, strings.Join(names, ","))
		}
		next.ServeHTTP(w, r)
	})
}

// decodeChunked replaces r's aws-chunked body by its payload and makes the
// headers describe the payload. It reports false if the decoded length is
// missing or invalid.
func decodeChunked(r *http.Request) bool {
	n, err := strconv.ParseInt(r.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64)
	if err != nil || n < 0 {
		return false
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{newChunkedReader(r.Body), r.Body}
	r.ContentLength = n
	r.Header.Set("Content-Length", strconv.FormatInt(n, 10))
	r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	r.Header.Del("X-Amz-Decoded-Content-Length")
	r.Header.Del("X-Amz-Trailer")
	// aws-chunked describes the request, not the object: S3 drops it.
	var enc []string
	for e := range strings.SplitSeq(r.Header.Get("Content-Encoding"), ",") {
		if e = strings.TrimSpace(e); e != "" && !strings.EqualFold(e, "aws-chunked") {
			enc = append(enc, e)
		}
	}
	if len(enc) == 0 {
		r.Header.Del("Content-Encoding")
	} else {
		r.Header.Set("Content-Encoding", strings.Join(enc, ","))
	}
	return true
}

// errChunked reports a malformed aws-chunked body.
var errChunked = errors.New("devstore: malformed aws-chunked body")

// Bounds on what the chunked reader accepts around the payload.
const (
	maxChunkHeader = 4 << 10  // one "size;chunk-signature=...\r\n" line
	maxTrailer     = 64 << 10 // everything after the final chunk
)

// chunkedReader returns the payload of an aws-chunked body:
//
//	hex-size[;chunk-signature=sig]\r\n data \r\n ... 0[;chunk-signature=sig]\r\n [trailers] \r\n
//
// Chunk and trailer signatures are not checked (the store accepts any
// credentials); trailing headers such as checksums are read and dropped.
type chunkedReader struct {
	br      *bufio.Reader
	left    int64 // payload bytes left in the current chunk
	started bool  // a chunk has been read: expect its CRLF before the next header
	err     error // sticky
}

func newChunkedReader(r io.Reader) *chunkedReader {
	return &chunkedReader{br: bufio.NewReaderSize(r, maxChunkHeader)}
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.left == 0 {
		if c.err = c.nextChunk(); c.err != nil {
			return 0, c.err
		}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.br.Read(p)
	c.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF // EOF only after the final chunk
	}
	c.err = err
	return n, err
}

// nextChunk reads up to the next chunk's payload, or sets io.EOF after the
// final chunk and its trailer.
func (c *chunkedReader) nextChunk() error {
	if c.started {
		var crlf [2]byte
		if _, err := io.ReadFull(c.br, crlf[:]); err != nil || string(crlf[:]) != "\r\n" {
			return errChunked
		}
	}
	c.started = true
	line, err := c.br.ReadSlice('\n')
	if err != nil || !bytes.HasSuffix(line, []byte("\r\n")) {
		return errChunked
	}
	hexSize, _, _ := bytes.Cut(line[:len(line)-2], []byte(";"))
	size, err := strconv.ParseInt(string(hexSize), 16, 64)
	if err != nil || size < 0 {
		return errChunked
	}
	if size > 0 {
		c.left = size
		return nil
	}
	// Final chunk: drop the trailer (checksums, trailer signature) up to
	// the end of the body.
	if n, _ := io.Copy(io.Discard, io.LimitReader(c.br, maxTrailer+1)); n > maxTrailer {
		return errChunked
	}
	return io.EOF
}
