package auth

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"io"
	"testing"

	"github.com/sseproxy/sseproxy/proxy/internal/sigio"
)

// BenchmarkBody measures the body path: bytes of payload per second through
// Result.Body for each framing and digest, read with a 1 MiB buffer.
func BenchmarkBody(b *testing.B) {
	payload := bytes.Repeat([]byte("benchmark payload "), (16<<20)/18)
	crc := checksumOf(algCRC32C, payload)
	crcWant, _ := decodeBase64Digest(crc, 4)
	sha, md := sha256.Sum256(payload), md5.Sum(payload)
	cases := []struct {
		name  string
		body  []byte
		setup func(body io.Reader) io.Reader
	}{
		{"UNSIGNED-PAYLOAD", payload, func(r io.Reader) io.Reader {
			return sigio.NewVerifyReader(sigio.NewContentLengthReader(r, int64(len(payload)), ErrIncompleteBody), &payloadChecks{})
		}},
		{"sha256 payload", payload, func(r io.Reader) io.Reader {
			c := &payloadChecks{wantSHA256: sha}
			c.sha256 = c.Add(sha256.New())
			return sigio.NewVerifyReader(sigio.NewContentLengthReader(r, int64(len(payload)), ErrIncompleteBody), c)
		}},
		{"UNSIGNED-PAYLOAD+content-md5+crc32c", payload, func(r io.Reader) io.Reader {
			c := &payloadChecks{wantMD5: md}
			c.md5 = c.Add(md5.New())
			c.decl = checksumDecl{alg: algCRC32C, want: crcWant}
			c.sum = c.Add(algCRC32C.newHash())
			return sigio.NewVerifyReader(sigio.NewContentLengthReader(r, int64(len(payload)), ErrIncompleteBody), c)
		}},
		{"signed 64KiB chunks", encodeChunked(payload, 64<<10, true, nil), func(r io.Reader) io.Reader {
			cr := newChunkedReader(r, chunkedConfig{declared: int64(len(payload)),
				signer: newChunkSigner(testChunkKey, testChunkDate, testChunkScope, testSeed)})
			return sigio.NewVerifyReader(cr, &payloadChecks{chunked: cr})
		}},
		{"unsigned 64KiB chunks+crc32c trailer", encodeChunked(payload, 64<<10, false, []string{"x-amz-checksum-crc32c:" + crc}), func(r io.Reader) io.Reader {
			cr := newChunkedReader(r, chunkedConfig{declared: int64(len(payload)), trailers: true, trailerName: "x-amz-checksum-crc32c"})
			c := &payloadChecks{chunked: cr, decl: checksumDecl{alg: algCRC32C, trailer: true}, checksums: map[string]string{}}
			c.sum = c.Add(algCRC32C.newHash())
			return sigio.NewVerifyReader(cr, c)
		}},
		{"unsigned 1MiB chunks+crc64nvme trailer", encodeChunked(payload, 1<<20, false, []string{"x-amz-checksum-crc64nvme:" + checksumOf(algCRC64NVME, payload)}), func(r io.Reader) io.Reader {
			cr := newChunkedReader(r, chunkedConfig{declared: int64(len(payload)), trailers: true, trailerName: "x-amz-checksum-crc64nvme"})
			c := &payloadChecks{chunked: cr, decl: checksumDecl{alg: algCRC64NVME, trailer: true}, checksums: map[string]string{}}
			c.sum = c.Add(algCRC64NVME.newHash())
			return sigio.NewVerifyReader(cr, c)
		}},
	}
	buf := make([]byte, 1<<20)
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(payload)))
			src := bytes.NewReader(bc.body)
			for b.Loop() {
				src.Reset(bc.body)
				r := bc.setup(src)
				var n int
				for {
					k, err := r.Read(buf)
					n += k
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				if n != len(payload) {
					b.Fatalf("read %d bytes, want %d", n, len(payload))
				}
			}
		})
	}
}
