package auth

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/sseproxy/sseproxy/proxy/internal/sigio"
)

// The example of "Signature Calculations for the Authorization Header:
// Transferring Payload in Multiple Chunks": 66560 bytes of 'a' in a 64 KiB
// and a 1 KiB chunk, seed signature 4f232c43...
const (
	docChunk1Sig = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
	docChunk2Sig = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
	docFinalSig  = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
)

func docChunkedBody() string {
	return "10000;chunk-signature=" + docChunk1Sig + "\r\n" + strings.Repeat("a", 65536) + "\r\n" +
		"400;chunk-signature=" + docChunk2Sig + "\r\n" + strings.Repeat("a", 1024) + "\r\n" +
		"0;chunk-signature=" + docFinalSig + "\r\n\r\n"
}

func TestChunkedDocExample(t *testing.T) {
	body := docChunkedBody()
	if len(body) != 66824 {
		t.Fatalf("example body is %d bytes, want the documented 66824", len(body))
	}
	chunk2 := strings.Index(body, "400;")
	tests := []struct {
		name     string
		body     string
		readSize int
		wantErr  error
	}{
		{name: "as documented", body: body, readSize: 32 << 10},
		{name: "read a byte at a time", body: body, readSize: 1},
		{name: "final CRLF omitted", body: strings.TrimSuffix(body, "\r\n"), readSize: 32 << 10},
		{name: "byte of chunk 1 changed", body: body[:200] + "b" + body[201:], readSize: 32 << 10, wantErr: ErrSignatureDoesNotMatch},
		{name: "last byte of chunk 2 changed", body: body[:chunk2+86+1023] + "b" + body[chunk2+86+1024:], readSize: 1, wantErr: ErrSignatureDoesNotMatch},
		{name: "chunk 2 signature changed", body: strings.Replace(body, docChunk2Sig, docChunk1Sig, 1), readSize: 32 << 10, wantErr: ErrSignatureDoesNotMatch},
		{name: "final signature changed", body: strings.Replace(body, docFinalSig, docChunk2Sig, 1), readSize: 32 << 10, wantErr: ErrSignatureDoesNotMatch},
		{name: "chunks swapped", body: body[chunk2:len(body)-86] + body[:chunk2] + body[len(body)-86:], readSize: 32 << 10, wantErr: ErrSignatureDoesNotMatch},
		{name: "truncated in chunk 2", body: body[:chunk2+500], readSize: 32 << 10, wantErr: ErrIncompleteBody},
		{name: "truncated before final chunk", body: body[:len(body)-86], readSize: 32 << 10, wantErr: ErrIncompleteBody},
		{name: "bytes after the final chunk", body: body + "GET / HTTP/1.1\r\n", readSize: 32 << 10, wantErr: ErrMalformedChunk},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRequest("PUT", "/examplebucket/chunkObject.txt", "s3.amazonaws.com", strings.NewReader(tt.body),
				"X-Amz-Date", "20130524T000000Z", "X-Amz-Storage-Class", "REDUCED_REDUNDANCY",
				"X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "Content-Encoding", "aws-chunked",
				"X-Amz-Decoded-Content-Length", "66560", "Content-Length", "66824",
				"Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"+
					"SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,"+
					"Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
			res, err := exampleVerifier(exampleTime).Verify(r)
			if err != nil {
				t.Fatalf("Verify() = %v, want success", err)
			}
			if res.ContentLength != 66560 {
				t.Errorf("ContentLength = %d, want 66560", res.ContentLength)
			}
			got, err := readAllWith(res.Body, tt.readSize)
			errorIs(t, "reading body", err, tt.wantErr)
			switch {
			case tt.wantErr != nil && len(got) >= 66560:
				t.Errorf("read %d bytes before %v, want the last byte withheld", len(got), err)
			case tt.wantErr == nil && string(got) != strings.Repeat("a", 66560):
				t.Errorf("body is %d bytes, want 66560 bytes of 'a'", len(got))
			}
		})
	}
}

// The trailer signature of "Signature Calculations for Trailing Headers".
func TestTrailerSignatureDocExample(t *testing.T) {
	var prev, want [sha256.Size]byte
	hex.Decode(prev[:], []byte("e05ab64fe1dfdbf0b5870abbaabdb063c371d4e96f2767e6934d90529c5ae850"))
	hex.Decode(want[:], []byte("41e14ac611e27a8bb3d66c3bad6856f209297767d5dd4fc87d8fa9e422e03faf"))
	cs := newChunkSigner(signingKey(exampleSecret, scope{"20130524", "us-east-1", "s3"}), "20130524T000000Z",
		scope{"20130524", "us-east-1", "s3"}, prev)
	sum := sha256.Sum256([]byte("x-amz-checksum-crc32c:wdBDMA==\n"))
	if !cs.verify(true, sum[:], &want) {
		t.Errorf("trailer signature over %q does not verify", "x-amz-checksum-crc32c:wdBDMA==\n")
	}
}

// decodeChunked runs body through the chunked reader and the verifying
// reader as newBody wires them, with the test signing key and seed.
func decodeChunked(body io.Reader, signed, trailers bool, alg checksumAlg, declared int64, readSize int) ([]byte, map[string]string, error) {
	cfg := chunkedConfig{trailers: trailers, declared: declared}
	if signed {
		cfg.signer = newChunkSigner(testChunkKey, testChunkDate, testChunkScope, testSeed)
	}
	checks := &payloadChecks{checksums: map[string]string{}}
	if alg != algNone {
		cfg.trailerName = checksumAlgs[alg].header
		checks.decl = checksumDecl{alg: alg, trailer: true}
		checks.sum = checks.Add(alg.newHash())
	}
	cr := newChunkedReader(body, cfg)
	checks.chunked = cr
	got, err := readAllWith(sigio.NewVerifyReader(cr, checks), readSize)
	return got, checks.checksums, err
}

func checksumOf(alg checksumAlg, p []byte) string {
	h := alg.newHash()
	h.Write(p)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func TestChunkedBoundaries(t *testing.T) {
	sizes := []int{0, 1, 8191, 8192, 64<<10 - 1, 64 << 10, 64<<10 + 1, 3*(64<<10) + 17}
	chunkSizes := []int{64 << 10, 8192, 10007}
	modes := []struct {
		name     string
		signed   bool
		trailers bool
		alg      checksumAlg
	}{
		{"signed", true, false, algNone},
		{"signed with crc32c trailer", true, true, algCRC32C},
		{"unsigned with crc64nvme trailer", false, true, algCRC64NVME},
		{"unsigned trailer section without trailer", false, true, algNone},
	}
	readers := []struct {
		name     string
		src      func(io.Reader) io.Reader
		readSize int
	}{
		{"32KiB reads", func(r io.Reader) io.Reader { return r }, 32 << 10},
		{"1-byte reads", func(r io.Reader) io.Reader { return r }, 1},
		{"1-byte source", iotest.OneByteReader, 4096},
	}
	for _, size := range sizes {
		payload := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyz"), size/36+1)[:size]
		for _, chunkSize := range chunkSizes {
			for _, m := range modes {
				var trailer []string
				if m.trailers {
					trailer = []string{}
					if m.alg != algNone {
						trailer = []string{checksumAlgs[m.alg].header + ":" + checksumOf(m.alg, payload)}
					}
				}
				body := encodeChunked(payload, chunkSize, m.signed, trailer)
				for _, rd := range readers {
					t.Run(fmt.Sprintf("%d bytes/%d-byte chunks/%s/%s", size, chunkSize, m.name, rd.name), func(t *testing.T) {
						got, sums, err := decodeChunked(rd.src(bytes.NewReader(body)), m.signed, m.trailers, m.alg, int64(size), rd.readSize)
						if err != nil || !bytes.Equal(got, payload) {
							t.Fatalf("decode = %d bytes, %v, want %d bytes", len(got), err, size)
						}
						if m.alg != algNone && sums[m.alg.String()] != checksumOf(m.alg, payload) {
							t.Errorf("Checksums = %v, want %s", sums, checksumOf(m.alg, payload))
						}
					})
				}
			}
		}
	}
}

func TestChunkedMalformed(t *testing.T) {
	crc := checksumOf(algCRC32, []byte("hello"))
	signedBody := string(encodeChunked([]byte("hello"), 64<<10, true, nil))
	signedTrailer := string(encodeChunked([]byte("hello"), 64<<10, true, []string{"x-amz-checksum-crc32:" + crc}))
	tests := []struct {
		name     string
		body     string
		signed   bool
		trailers bool
		alg      checksumAlg
		declared int64
		wantErr  error
	}{
		{name: "valid unsigned trailer", body: "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:" + crc + "\r\n\r\n", trailers: true, alg: algCRC32, declared: 5},
		{name: "minio-go unsigned trailer layout", body: "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:" + crc + "\n\r\n\r\n", trailers: true, alg: algCRC32, declared: 5},
		{name: "unknown length", body: "5\r\nhello\r\n0\r\n\r\n", trailers: true, declared: -1},
		{name: "empty body", body: "", trailers: true, declared: -1, wantErr: ErrIncompleteBody},
		{name: "size not hex", body: "zz\r\n", trailers: true, declared: -1, wantErr: ErrMalformedChunk},
		{name: "size empty", body: "\r\nhello\r\n", trailers: true, declared: -1, wantErr: ErrMalformedChunk},
		{name: "size of 17 digits", body: "00000000000000005\r\nhello\r\n0\r\n\r\n", trailers: true, declared: -1, wantErr: ErrMalformedChunk},
		{name: "size above 5 GiB", body: "140000001\r\n", trailers: true, declared: -1, wantErr: ErrMalformedChunk},
		{name: "size line too long", body: strings.Repeat("0", 20<<10) + "5\r\n", trailers: true, declared: -1, wantErr: ErrMalformedChunk},
		{name: "LF without CR", body: "5\nhello\r\n0\r\n\r\n", trailers: true, declared: -1, wantErr: ErrMalformedChunk},
		{name: "data not followed by CRLF", body: "5\r\nhelloXY0\r\n\r\n", trailers: true, declared: -1, wantErr: ErrMalformedChunk},
		{name: "body ends in data", body: "5\r\nhel", trailers: true, declared: -1, wantErr: ErrIncompleteBody},
		{name: "body ends after data", body: "5\r\nhello", trailers: true, declared: -1, wantErr: ErrIncompleteBody},
		{name: "body ends before final chunk", body: "5\r\nhello\r\n", trailers: true, declared: -1, wantErr: ErrIncompleteBody},
		{name: "more than declared", body: "5\r\nhello\r\n0\r\n\r\n", trailers: true, declared: 4, wantErr: ErrMalformedChunk},
		{name: "less than declared", body: "5\r\nhello\r\n0\r\n\r\n", trailers: true, declared: 6, wantErr: ErrIncompleteBody},
		{name: "small chunk not last", body: "1\r\nh\r\n4\r\nello\r\n0\r\n\r\n", trailers: true, declared: -1, wantErr: ErrInvalidChunkSize},
		{name: "chunk extension when unsigned", body: "5;chunk-signature=" + validSig + "\r\nhello\r\n0\r\n\r\n", trailers: true, declared: -1, wantErr: ErrMalformedChunk},
		{name: "undeclared trailer", body: "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:" + crc + "\r\n\r\n", trailers: true, declared: -1, wantErr: ErrMalformedTrailer},
		{name: "declared trailer missing", body: "5\r\nhello\r\n0\r\n\r\n", trailers: true, alg: algCRC32, declared: -1, wantErr: ErrMalformedTrailer},
		{name: "trailer twice", body: "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:" + crc + "\r\nx-amz-checksum-crc32:" + crc + "\r\n\r\n", trailers: true, alg: algCRC32, declared: -1, wantErr: ErrMalformedTrailer},
		{name: "trailer without colon", body: "5\r\nhello\r\n0\r\nx-amz-checksum-crc32\r\n\r\n", trailers: true, alg: algCRC32, declared: -1, wantErr: ErrMalformedTrailer},
		{name: "trailer not terminated", body: "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:" + crc + "\r\n", trailers: true, alg: algCRC32, declared: -1, wantErr: ErrIncompleteBody},
		{name: "trailer value not base64", body: "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:!!!!!!==\r\n\r\n", trailers: true, alg: algCRC32, declared: -1, wantErr: ErrInvalidChecksum},
		{name: "trailer value wrong", body: "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n", trailers: true, alg: algCRC32, declared: -1, wantErr: ErrBadDigest},
		{name: "trailer signature when unsigned", body: "5\r\nhello\r\n0\r\nx-amz-trailer-signature:" + validSig + "\r\n\r\n", trailers: true, declared: -1, wantErr: ErrMalformedTrailer},
		{name: "too many trailer lines", body: "5\r\nhello\r\n0\r\n" + strings.Repeat("x-amz-meta-a:b\r\n", 20), trailers: true, declared: -1, wantErr: ErrMalformedTrailer},
		{name: "data after trailers", body: "5\r\nhello\r\n0\r\n\r\nXYZ", trailers: true, declared: -1, wantErr: ErrMalformedChunk},
		{name: "trailer lines without trailer mode", body: "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:" + crc + "\r\n\r\n", declared: -1, wantErr: ErrMalformedChunk},
		{name: "valid signed", body: signedBody, signed: true, declared: 5},
		{name: "signed chunk without signature", body: "5\r\nhello\r\n0\r\n\r\n", signed: true, declared: -1, wantErr: ErrMalformedChunk},
		{name: "signed chunk signature not hex", body: strings.Replace(signedBody, signedBody[18:20], "zz", 1), signed: true, declared: -1, wantErr: ErrMalformedChunk},
		{name: "valid signed trailer", body: signedTrailer, signed: true, trailers: true, alg: algCRC32, declared: 5},
		{name: "signed trailer value changed", body: strings.Replace(signedTrailer, crc, "AAAAAA==", 1), signed: true, trailers: true, alg: algCRC32, declared: 5, wantErr: ErrSignatureDoesNotMatch},
		{name: "signed trailer without signature", body: signedTrailer[:strings.Index(signedTrailer, "x-amz-trailer-signature")] + "\r\n", signed: true, trailers: true, alg: algCRC32, declared: 5, wantErr: ErrIncompleteBody},
		{name: "signed trailer signature malformed", body: strings.Replace(signedTrailer, "x-amz-trailer-signature:", "x-amz-trailer-signature:zz", 1), signed: true, trailers: true, alg: algCRC32, declared: 5, wantErr: ErrMalformedTrailer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := decodeChunked(strings.NewReader(tt.body), tt.signed, tt.trailers, tt.alg, tt.declared, 4096)
			if !errorIs(t, "decode", err, tt.wantErr) {
				return
			}
			if tt.wantErr == nil && string(got) != "hello" {
				t.Errorf("decode = %q, want %q", got, "hello")
			}
			if tt.wantErr != nil && len(got) >= 5 {
				t.Errorf("decode returned %q before %v, want the last byte withheld", got, err)
			}
		})
	}
}

// Decoding allocates per request, never per chunk.
func TestChunkedReaderAllocs(t *testing.T) {
	allocs := func(chunks int) float64 {
		body := encodeChunked(bytes.Repeat([]byte{'x'}, chunks*8192), 8192, true, nil)
		src := bytes.NewReader(body)
		buf := make([]byte, 32<<10)
		return testing.AllocsPerRun(20, func() {
			src.Reset(body)
			cr := newChunkedReader(src, chunkedConfig{declared: -1, signer: newChunkSigner(testChunkKey, testChunkDate, testChunkScope, testSeed)})
			for {
				if _, err := cr.Read(buf); err != nil {
					if err != io.EOF {
						t.Fatal(err)
					}
					return
				}
			}
		})
	}
	if one, many := allocs(1), allocs(64); many != one {
		t.Errorf("decoding allocates %v times for 1 chunk and %v for 64, want the same", one, many)
	}
}

func FuzzChunkedReader(f *testing.F) {
	f.Add([]byte(docChunkedBody()[:200]), uint8(0))
	f.Add(encodeChunked([]byte("hello world"), 8192, true, nil), uint8(0))
	f.Add(encodeChunked([]byte("hello world"), 8192, true, []string{"x-amz-checksum-crc32:DUoRhQ=="}), uint8(1))
	f.Add([]byte("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"), uint8(2))
	f.Add([]byte("ffffffff\r\n"), uint8(2))
	f.Fuzz(func(t *testing.T, body []byte, mode uint8) {
		signed, trailers := mode%3 != 2, mode%3 != 0
		got, _, err := decodeChunked(bytes.NewReader(body), signed, trailers, algCRC32, -1, 1+int(mode)*97)
		if len(got) > len(body) {
			t.Fatalf("decoded %d bytes from a %d-byte body", len(got), len(body))
		}
		known := []error{ErrIncompleteBody, ErrMalformedChunk, ErrInvalidChunkSize, ErrMalformedTrailer,
			ErrSignatureDoesNotMatch, ErrInvalidChecksum, ErrBadDigest}
		if err != nil && !slices.ContainsFunc(known, func(e error) bool { return errors.Is(err, e) }) {
			t.Fatalf("decode = %v, not one of the package's errors", err)
		}
	})
}
