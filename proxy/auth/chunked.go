package auth

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/sseproxy/sseproxy/proxy/internal/sigio"
)

// aws-chunked framing (content-encoding aws-chunked):
//
//	signed:   hex-size ";chunk-signature=" sig CRLF data CRLF ... "0;chunk-signature=" sig CRLF
//	unsigned: hex-size CRLF data CRLF ... "0" CRLF
//
// then, for the -TRAILER variants, trailer lines "name:value" CRLF, for the
// signed one "x-amz-trailer-signature:" sig CRLF, and an empty line. Without
// trailers the final chunk is followed by one CRLF.
//
// Chunk signatures chain from the request (seed) signature:
//
//	sig(n) = HMAC(key, "AWS4-HMAC-SHA256-PAYLOAD\n" date "\n" scope "\n" sig(n-1) "\n" hex(sha256("")) "\n" hex(sha256(chunk n)))
//	trailer = HMAC(key, "AWS4-HMAC-SHA256-TRAILER\n" date "\n" scope "\n" sig(final chunk) "\n" hex(sha256(trailer lines)))
//
// where the trailer lines are hashed as "name:value\n" each.
const (
	// chunkBufferSize is the read buffer of one request; it also bounds a
	// chunk-size or trailer line. Chunk data is passed straight through to
	// the caller's buffer, never collected, so chunk size costs no memory.
	chunkBufferSize = 16 << 10
	// minChunkSize is the least size S3 accepts for any chunk but the last
	// data chunk.
	minChunkSize = 8 << 10
	// maxChunkSize rejects absurd sizes early: no chunk can be larger than
	// the largest object a single PUT may carry (5 GiB).
	maxChunkSize = 5 << 30
	// maxTrailerBytes and maxTrailerLines bound the trailer section.
	maxTrailerBytes = 16 << 10
	maxTrailerLines = 16
	// trailerSignatureName is the trailer line carrying the trailer signature.
	trailerSignatureName = "x-amz-trailer-signature"
)

var emptyDigest = sha256.Sum256(nil)

// chunkSigner verifies the signature chain of a signed aws-chunked body.
// It allocates nothing per chunk.
type chunkSigner struct {
	mac           hash.Hash // HMAC-SHA256 keyed with the signing key
	payloadPrefix []byte    // "AWS4-HMAC-SHA256-PAYLOAD\n" date "\n" scope "\n"
	trailerPrefix []byte    // "AWS4-HMAC-SHA256-TRAILER\n" date "\n" scope "\n"
	prev          [2 * sha256.Size]byte
	hexDigest     [2 * sha256.Size]byte
	sum           [sha256.Size]byte
}

// newChunkSigner returns a signer whose chain starts at seed, the verified
// request signature.
func newChunkSigner(key []byte, amzDate string, s scope, seed [sha256.Size]byte) *chunkSigner {
	tail := "\n" + amzDate + "\n" + s.String() + "\n"
	cs := &chunkSigner{
		mac:           hmac.New(sha256.New, key),
		payloadPrefix: []byte("AWS4-HMAC-SHA256-PAYLOAD" + tail),
		trailerPrefix: []byte("AWS4-HMAC-SHA256-TRAILER" + tail),
	}
	hex.Encode(cs.prev[:], seed[:])
	return cs
}

var emptyHashLine = []byte("\n" + emptySHA256 + "\n")

// verify checks want against the next signature of the chain over digest
// and, when it matches, advances the chain.
func (cs *chunkSigner) verify(trailer bool, digest []byte, want *[sha256.Size]byte) bool {
	cs.mac.Reset()
	if trailer {
		cs.mac.Write(cs.trailerPrefix)
		cs.mac.Write(cs.prev[:])
		cs.mac.Write([]byte{'\n'})
	} else {
		cs.mac.Write(cs.payloadPrefix)
		cs.mac.Write(cs.prev[:])
		cs.mac.Write(emptyHashLine)
	}
	hex.Encode(cs.hexDigest[:], digest)
	cs.mac.Write(cs.hexDigest[:])
	got := cs.mac.Sum(cs.sum[:0])
	if !hmac.Equal(got, want[:]) {
		return false
	}
	hex.Encode(cs.prev[:], got)
	return true
}

// chunkedConfig selects the aws-chunked variant.
type chunkedConfig struct {
	signer      *chunkSigner // nil: unsigned chunks
	trailers    bool         // a trailer section follows the final chunk
	trailerName string       // the one declared trailer (lowercase), or ""
	declared    int64        // x-amz-decoded-content-length, -1 if unknown
}

type chunkState uint8

const (
	stateHeader chunkState = iota // expecting a chunk-size line
	stateData                     // inside chunk data
	stateCRLF                     // expecting the CRLF after chunk data
	stateDone                     // final chunk and trailers read
)

// chunkedReader decodes an aws-chunked body, verifying chunk and trailer
// signatures as it goes. It yields the payload only; io.EOF comes after the
// final chunk, the trailers, and the end of the body have all checked out.
// Errors are sticky.
type chunkedReader struct {
	chunkedConfig
	br        *bufio.Reader
	state     chunkState
	remaining int64 // data left in the current chunk
	chunks    int   // chunks seen, including the current one
	lastSize  int64
	total     int64 // payload bytes announced so far
	chunkHash hash.Hash
	wantSig   [sha256.Size]byte
	digest    [sha256.Size]byte
	err       error

	trailerValue string // the declared trailer's value, once read
	gotTrailer   bool
}

func newChunkedReader(body io.Reader, cfg chunkedConfig) *chunkedReader {
	c := &chunkedReader{chunkedConfig: cfg, br: bufio.NewReaderSize(body, chunkBufferSize)}
	if cfg.signer != nil {
		c.chunkHash = sha256.New()
	}
	return c
}

// Read implements io.Reader.
func (c *chunkedReader) Read(p []byte) (int, error) {
	for c.err == nil {
		switch c.state {
		case stateHeader:
			c.err = c.readHeader()
		case stateCRLF:
			c.err = c.readCRLF()
		case stateDone:
			c.err = io.EOF
		case stateData:
			if len(p) == 0 {
				return 0, nil
			}
			n, err := c.readData(p)
			if err != nil {
				c.err = err
				return 0, err // the bytes of a chunk that failed are withheld
			}
			if n > 0 {
				return n, nil
			}
		}
	}
	return 0, c.err
}

func (c *chunkedReader) readData(p []byte) (int, error) {
	if int64(len(p)) > c.remaining {
		p = p[:c.remaining]
	}
	n, err := c.br.Read(p)
	if n > 0 {
		if c.chunkHash != nil {
			c.chunkHash.Write(p[:n])
		}
		c.remaining -= int64(n)
		if c.remaining == 0 {
			if err := c.endChunk(); err != nil {
				return 0, err
			}
		}
		return n, nil
	}
	return 0, bodyErr(err)
}

// bodyErr maps the end of the underlying body in the middle of the framing
// to ErrIncompleteBody and passes other errors through.
func bodyErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return ErrIncompleteBody
	}
	return err
}

// endChunk verifies the signature of the chunk just read.
func (c *chunkedReader) endChunk() error {
	c.state = stateCRLF
	if c.signer == nil {
		return nil
	}
	if !c.signer.verify(false, c.chunkHash.Sum(c.digest[:0]), &c.wantSig) {
		return fmt.Errorf("%w: chunk %d", ErrSignatureDoesNotMatch, c.chunks)
	}
	return nil
}

func (c *chunkedReader) readCRLF() error {
	for _, want := range []byte("\r\n") {
		b, err := c.br.ReadByte()
		if err != nil {
			return bodyErr(err)
		}
		if b != want {
			return fmt.Errorf("%w: chunk %d data not followed by CRLF", ErrMalformedChunk, c.chunks)
		}
	}
	c.state = stateHeader
	return nil
}

// readLine returns the next line including its '\n', at most
// chunkBufferSize long. The slice is only valid until the next read.
func (c *chunkedReader) readLine() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("%w: line longer than %d bytes", ErrMalformedChunk, chunkBufferSize)
	}
	if err != nil {
		if err == io.EOF && len(line) == 0 {
			return nil, io.EOF
		}
		return nil, bodyErr(err)
	}
	return line, nil
}

var chunkSignaturePrefix = []byte("chunk-signature=")

func (c *chunkedReader) readHeader() error {
	line, err := c.readLine()
	if err != nil {
		return bodyErr(err)
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return fmt.Errorf("%w: chunk-size line not ended by CRLF", ErrMalformedChunk)
	}
	line = line[:len(line)-2]
	sizeField, ext, hasExt := bytes.Cut(line, []byte{';'})
	size, ok := parseChunkSize(sizeField)
	if !ok {
		return fmt.Errorf("%w: bad chunk size %.20q", ErrMalformedChunk, sizeField)
	}
	if c.signer != nil {
		sig, found := bytes.CutPrefix(ext, chunkSignaturePrefix)
		if !hasExt || !found || len(sig) != hex.EncodedLen(sha256.Size) {
			return fmt.Errorf("%w: chunk %d has no chunk-signature", ErrMalformedChunk, c.chunks+1)
		}
		if _, err := hex.Decode(c.wantSig[:], sig); err != nil {
			return fmt.Errorf("%w: chunk %d signature is not hex", ErrMalformedChunk, c.chunks+1)
		}
	} else if hasExt {
		return fmt.Errorf("%w: chunk extension in an unsigned chunk", ErrMalformedChunk)
	}
	if c.chunks > 0 && size != 0 && c.lastSize < minChunkSize {
		return fmt.Errorf("%w: chunk %d has %d bytes", ErrInvalidChunkSize, c.chunks, c.lastSize)
	}
	if c.declared >= 0 && size > c.declared-c.total {
		return fmt.Errorf("%w: chunks exceed x-amz-decoded-content-length %d", ErrMalformedChunk, c.declared)
	}
	c.chunks++
	c.lastSize = size
	c.total += size
	if size > 0 {
		c.remaining = size
		c.state = stateData
		if c.chunkHash != nil {
			c.chunkHash.Reset()
		}
		return nil
	}
	return c.readFinal()
}

// parseChunkSize parses 1 to 16 hex digits, at most maxChunkSize.
func parseChunkSize(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var n uint64
	for _, d := range b {
		if !sigio.IsHex(d) {
			return 0, false
		}
		n = n<<4 | uint64(sigio.Unhex(d))
	}
	if n > maxChunkSize {
		return 0, false
	}
	return int64(n), true
}

// readFinal handles the 0-size chunk: its signature, the length, the
// trailers, and the end of the body.
func (c *chunkedReader) readFinal() error {
	if c.signer != nil && !c.signer.verify(false, emptyDigest[:], &c.wantSig) {
		return fmt.Errorf("%w: final chunk", ErrSignatureDoesNotMatch)
	}
	if c.declared >= 0 && c.total != c.declared {
		return fmt.Errorf("%w: %d of %d decoded bytes", ErrIncompleteBody, c.total, c.declared)
	}
	if err := c.readTrailers(); err != nil {
		return err
	}
	if err := c.expectEOF(); err != nil {
		return err
	}
	c.state = stateDone
	return nil
}

// readTrailers reads the lines after the final chunk up to the empty line
// that ends them. Lines end in CRLF or LF (minio-go writes LF between
// trailer lines and an empty CRLF line before the signature, so in the
// signed variant empty lines before the signature are skipped).
func (c *chunkedReader) readTrailers() error {
	signed := c.signer != nil && c.trailers
	var trailerHash hash.Hash
	if signed {
		trailerHash = sha256.New()
	}
	sawSig := false
	budget := maxTrailerBytes
	for lines := 0; ; lines++ {
		if lines == maxTrailerLines {
			return fmt.Errorf("%w: too many trailer lines", ErrMalformedTrailer)
		}
		line, err := c.readLine()
		if err == io.EOF && lines == 0 && !c.trailers {
			return nil // the CRLF after "0;chunk-signature=..." is optional
		}
		if err != nil {
			return bodyErr(err)
		}
		if budget -= len(line); budget < 0 {
			return fmt.Errorf("%w: trailers longer than %d bytes", ErrMalformedTrailer, maxTrailerBytes)
		}
		line = bytes.TrimSuffix(line[:len(line)-1], []byte{'\r'})
		if len(line) == 0 {
			if signed && !sawSig {
				continue
			}
			break
		}
		if !c.trailers {
			return fmt.Errorf("%w: data after the final chunk", ErrMalformedChunk)
		}
		if sawSig {
			return fmt.Errorf("%w: trailer after the trailer signature", ErrMalformedTrailer)
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			return fmt.Errorf("%w: trailer line without ':'", ErrMalformedTrailer)
		}
		name = bytes.ToLower(bytes.TrimSpace(name))
		value = bytes.TrimSpace(value)
		if string(name) == trailerSignatureName {
			if !signed {
				return fmt.Errorf("%w: trailer signature in an unsigned body", ErrMalformedTrailer)
			}
			var want [sha256.Size]byte
			if len(value) != hex.EncodedLen(sha256.Size) {
				return fmt.Errorf("%w: bad trailer signature", ErrMalformedTrailer)
			}
			if _, err := hex.Decode(want[:], value); err != nil {
				return fmt.Errorf("%w: bad trailer signature", ErrMalformedTrailer)
			}
			if !c.signer.verify(true, trailerHash.Sum(c.digest[:0]), &want) {
				return fmt.Errorf("%w: trailer", ErrSignatureDoesNotMatch)
			}
			sawSig = true
			continue
		}
		if string(name) != c.trailerName || c.gotTrailer {
			return fmt.Errorf("%w: unexpected trailer %.64q", ErrMalformedTrailer, name)
		}
		c.trailerValue, c.gotTrailer = string(value), true
		if signed {
			trailerHash.Write(name)
			trailerHash.Write([]byte{':'})
			trailerHash.Write(value)
			trailerHash.Write([]byte{'\n'})
		}
	}
	if c.trailerName != "" && !c.gotTrailer {
		return fmt.Errorf("%w: declared trailer %s not sent", ErrMalformedTrailer, c.trailerName)
	}
	return nil
}

// expectEOF requires the body to end after the trailers, allowing the one
// extra CRLF some clients (minio-go's unsigned trailer) send.
func (c *chunkedReader) expectEOF() error {
	for range 4 {
		b, err := c.br.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return bodyErr(err)
		}
		if b != '\r' && b != '\n' {
			return fmt.Errorf("%w: data after the final chunk", ErrMalformedChunk)
		}
	}
	return fmt.Errorf("%w: data after the final chunk", ErrMalformedChunk)
}
