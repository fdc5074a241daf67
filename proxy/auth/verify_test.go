package auth

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/minio/minio-go/v7/pkg/signer"
	"github.com/sseproxy/sseproxy/proxy/internal/sigio"
)

const (
	rtAccessKey = "AKIDROUNDTRIP"
	rtSecret    = "round/trip+secret"
	rtRegion    = "eu-west-3"
)

// outcome is what the test server saw of one request.
type outcome struct {
	res     *Result
	err     error // from Verify
	body    []byte
	readErr error
}

// startServer serves Verify over a real listener, draining each body with
// reads of readSize bytes, and reports each outcome on the channel.
func startServer(t *testing.T, v *Verifier, readSize int) (*httptest.Server, <-chan outcome) {
	t.Helper()
	ch := make(chan outcome, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var o outcome
		o.res, o.err = v.Verify(r)
		if o.err == nil {
			o.body, o.readErr = readAllWith(o.res.Body, readSize)
		}
		ch <- o
		if o.err != nil || o.readErr != nil {
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func hexSHA256(p []byte) string {
	sum := sha256.Sum256(p)
	return hex.EncodeToString(sum[:])
}

// newReq builds a request for base+path (path decoded, sent with Go's
// escaping), with query values and headers.
func newReq(method, base, path string, query url.Values, body []byte, headers ...string) *http.Request {
	req, err := http.NewRequest(method, base, bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.URL.Path = path
	req.URL.RawQuery = query.Encode()
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req
}

// signV4 signs req with a hex payload hash unless the caller set one.
func signV4(req *http.Request, body []byte, secret string) *http.Request {
	if req.Header.Get("X-Amz-Content-Sha256") == "" {
		req.Header.Set("X-Amz-Content-Sha256", hexSHA256(body))
	}
	return signer.SignV4(*req, rtAccessKey, secret, "", rtRegion)
}

func streaming(req *http.Request, data []byte, trailer http.Header) *http.Request {
	req.Trailer = trailer
	return signer.StreamingSignV4(req, rtAccessKey, rtSecret, "", rtRegion, int64(len(data)), time.Now().UTC(), newSHA256Hasher())
}

func unsignedTrailer(req *http.Request, data []byte, trailer http.Header) *http.Request {
	req.Header.Set("X-Amz-Content-Sha256", streamingUnsignedTrailer)
	req.ContentLength = int64(len(data))
	return signer.SignV4Trailer(*req, rtAccessKey, rtSecret, "", rtRegion, trailer)
}

// tamper changes the byte at offset at of the (encoded) request body.
type tamper struct {
	rc  io.ReadCloser
	at  int64
	off int64
}

func (t *tamper) Read(p []byte) (int, error) {
	n, err := t.rc.Read(p)
	if t.at >= t.off && t.at < t.off+int64(n) {
		p[t.at-t.off] = flip(p[t.at-t.off])
	}
	t.off += int64(n)
	return n, err
}

// flip changes a hex digit into another hex digit, anything else by case.
func flip(b byte) byte {
	switch {
	case b == '9':
		return '0'
	case b == 'f':
		return 'a'
	case sigio.IsHex(b):
		return b + 1
	}
	return b ^ 0x20
}

func (t *tamper) Close() error { return t.rc.Close() }

func withTamper(req *http.Request, at int64) *http.Request {
	req.Body = &tamper{rc: req.Body, at: at}
	return req
}

func checksumHeader(alg checksumAlg, p []byte) http.Header {
	return http.Header{checksumAlgs[alg].header: {checksumOf(alg, p)}}
}

func TestRoundTripMinioSigner(t *testing.T) {
	small := []byte("Welcome to the encrypting proxy.")
	big := bytes.Repeat([]byte("0123456789abcdef"), (200<<10)/16+3) // 200 KiB + 48
	md5sum := md5.Sum(small)
	wrongCRC := http.Header{"X-Amz-Checksum-Crc32c": {"AAAAAA=="}}
	tests := []struct {
		name          string
		build         func(base string) *http.Request
		now           time.Duration // verifier clock offset
		readSize      int
		wantErr       error // from Verify
		wantReadErr   error // from Body
		want          []byte
		wantChecksums map[string]string
		wantLength    int64
		presigned     bool
	}{
		{
			name: "signed PUT",
			build: func(b string) *http.Request {
				return signV4(newReq("PUT", b, "/bucket/key", nil, small), small, rtSecret)
			},
			want: small, wantLength: int64(len(small)),
		},
		{
			name: "signed GET with awkward path and query",
			build: func(b string) *http.Request {
				q := url.Values{"prefix": {"a b+c/=é"}, "list-type": {"2"}, "delimiter": {"/"}}
				return signV4(newReq("GET", b, "/bucket/a b+c~d=e/日本語 (1)!*'.txt", q, nil, "X-Amz-Meta-Note", "two   spaces"), nil, rtSecret)
			},
		},
		{
			name:  "signed PUT read a byte at a time",
			build: func(b string) *http.Request { return signV4(newReq("PUT", b, "/bucket/key", nil, big), big, rtSecret) },
			want:  big, readSize: 1, wantLength: int64(len(big)),
		},
		{
			name: "wrong secret",
			build: func(b string) *http.Request {
				return signV4(newReq("PUT", b, "/bucket/key", nil, small), small, "not the secret")
			},
			wantErr: ErrSignatureDoesNotMatch,
		},
		{
			name: "unknown access key",
			build: func(b string) *http.Request {
				req := newReq("GET", b, "/bucket/key", nil, nil, "X-Amz-Content-Sha256", emptySHA256)
				return signer.SignV4(*req, "AKIDUNKNOWN", rtSecret, "", rtRegion)
			},
			wantErr: ErrInvalidAccessKeyID,
		},
		{
			name:    "clock 20 minutes ahead",
			build:   func(b string) *http.Request { return signV4(newReq("GET", b, "/bucket/key", nil, nil), nil, rtSecret) },
			now:     20 * time.Minute,
			wantErr: ErrRequestTimeTooSkewed,
		},
		{
			name:    "clock 20 minutes behind",
			build:   func(b string) *http.Request { return signV4(newReq("GET", b, "/bucket/key", nil, nil), nil, rtSecret) },
			now:     -20 * time.Minute,
			wantErr: ErrRequestTimeTooSkewed,
		},
		{
			name: "unsigned x-amz header added",
			build: func(b string) *http.Request {
				req := signV4(newReq("PUT", b, "/bucket/key", nil, small), small, rtSecret)
				req.Header.Set("X-Amz-Server-Side-Encryption", "AES256")
				return req
			},
			wantErr: ErrUnsignedHeaders,
		},
		{
			name: "payload sha256 mismatch",
			build: func(b string) *http.Request {
				return signV4(newReq("PUT", b, "/bucket/key", nil, big), []byte("other"), rtSecret)
			},
			wantReadErr: ErrContentSHA256Mismatch, want: big,
		},
		{
			name: "content-md5 matches",
			build: func(b string) *http.Request {
				return signV4(newReq("PUT", b, "/bucket/key", nil, small, "Content-Md5", base64.StdEncoding.EncodeToString(md5sum[:])), small, rtSecret)
			},
			want: small, wantLength: int64(len(small)),
		},
		{
			name: "content-md5 mismatch",
			build: func(b string) *http.Request {
				return signV4(newReq("PUT", b, "/bucket/key", nil, big, "Content-Md5", base64.StdEncoding.EncodeToString(md5sum[:])), big, rtSecret)
			},
			wantReadErr: ErrBadDigest, want: big,
		},
		{
			name: "content-md5 malformed",
			build: func(b string) *http.Request {
				return signV4(newReq("PUT", b, "/bucket/key", nil, small, "Content-Md5", "not-md5"), small, rtSecret)
			},
			wantErr: ErrInvalidDigest,
		},
		{
			name: "checksum header matches",
			build: func(b string) *http.Request {
				return signV4(newReq("PUT", b, "/bucket/key", nil, big, "X-Amz-Checksum-Crc64nvme", checksumOf(algCRC64NVME, big)), big, rtSecret)
			},
			want: big, wantLength: int64(len(big)), wantChecksums: map[string]string{"CRC64NVME": checksumOf(algCRC64NVME, big)},
		},
		{
			name: "checksum header mismatch, unsigned payload",
			build: func(b string) *http.Request {
				return signV4(newReq("PUT", b, "/bucket/key", nil, big, "X-Amz-Checksum-Sha1", checksumOf(algSHA1, small),
					"X-Amz-Content-Sha256", unsignedPayload), nil, rtSecret)
			},
			wantReadErr: ErrBadDigest, want: big,
		},
		{
			name: "presigned GET",
			build: func(b string) *http.Request {
				return signer.PreSignV4(*newReq("GET", b, "/bucket/a b.txt", url.Values{"versionId": {"v1"}}, nil), rtAccessKey, rtSecret, "", rtRegion, 3600)
			},
			presigned: true, wantLength: 0,
		},
		{
			name: "presigned PUT with body",
			build: func(b string) *http.Request {
				return signer.PreSignV4(*newReq("PUT", b, "/bucket/key", nil, big), rtAccessKey, rtSecret, "", rtRegion, 3600)
			},
			presigned: true, want: big, wantLength: int64(len(big)),
		},
		{
			name: "presigned expired",
			build: func(b string) *http.Request {
				return signer.PreSignV4(*newReq("GET", b, "/bucket/key", nil, nil), rtAccessKey, rtSecret, "", rtRegion, 60)
			},
			now: 2 * time.Minute, wantErr: ErrExpired,
		},
		{
			name:    "anonymous",
			build:   func(b string) *http.Request { return newReq("GET", b, "/bucket/key", nil, nil) },
			wantErr: ErrAnonymous,
		},
		{
			name: "signature version 2",
			build: func(b string) *http.Request {
				return signer.SignV2(*newReq("GET", b, "/bucket/key", nil, nil), rtAccessKey, rtSecret, false)
			},
			wantErr: ErrUnsupportedSignature,
		},
		{
			name: "presigned signature version 2",
			build: func(b string) *http.Request {
				return signer.PreSignV2(*newReq("GET", b, "/bucket/key", nil, nil), rtAccessKey, rtSecret, 60, false)
			},
			wantErr: ErrUnsupportedSignature,
		},
		{
			name:  "streaming signed, 200 KiB",
			build: func(b string) *http.Request { return streaming(newReq("PUT", b, "/bucket/key", nil, big), big, nil) },
			want:  big, wantLength: int64(len(big)),
		},
		{
			name: "streaming signed, 1 byte, read a byte at a time",
			build: func(b string) *http.Request {
				return streaming(newReq("PUT", b, "/bucket/key", nil, big[:1]), big[:1], nil)
			},
			want: big[:1], wantLength: 1, readSize: 1,
		},
		{
			name: "streaming signed, 64 KiB - 1",
			build: func(b string) *http.Request {
				return streaming(newReq("PUT", b, "/k", nil, big[:64<<10-1]), big[:64<<10-1], nil)
			},
			want: big[:64<<10-1], wantLength: 64<<10 - 1,
		},
		{
			name: "streaming signed, 64 KiB",
			build: func(b string) *http.Request {
				return streaming(newReq("PUT", b, "/k", nil, big[:64<<10]), big[:64<<10], nil)
			},
			want: big[:64<<10], wantLength: 64 << 10,
		},
		{
			name: "streaming signed, 64 KiB + 1",
			build: func(b string) *http.Request {
				return streaming(newReq("PUT", b, "/k", nil, big[:64<<10+1]), big[:64<<10+1], nil)
			},
			want: big[:64<<10+1], wantLength: 64<<10 + 1,
		},
		{
			name: "streaming signed, data byte changed",
			build: func(b string) *http.Request {
				return withTamper(streaming(newReq("PUT", b, "/bucket/key", nil, big), big, nil), 100<<10)
			},
			wantReadErr: ErrSignatureDoesNotMatch, want: big,
		},
		{
			name: "streaming signed, chunk signature changed",
			build: func(b string) *http.Request {
				return withTamper(streaming(newReq("PUT", b, "/bucket/key", nil, big), big, nil), 30)
			},
			wantReadErr: ErrSignatureDoesNotMatch, want: big,
		},
		{
			name: "streaming signed trailer",
			build: func(b string) *http.Request {
				return streaming(newReq("PUT", b, "/bucket/key", nil, big), big, checksumHeader(algCRC32C, big))
			},
			want: big, wantLength: int64(len(big)), wantChecksums: map[string]string{"CRC32C": checksumOf(algCRC32C, big)},
		},
		{
			name: "streaming signed trailer, wrong checksum",
			build: func(b string) *http.Request {
				return streaming(newReq("PUT", b, "/bucket/key", nil, big), big, wrongCRC)
			},
			wantReadErr: ErrBadDigest, want: big,
		},
		{
			name: "streaming unsigned trailer",
			build: func(b string) *http.Request {
				return unsignedTrailer(newReq("PUT", b, "/bucket/key", nil, big), big, checksumHeader(algCRC32, big))
			},
			want: big, wantLength: int64(len(big)), wantChecksums: map[string]string{"CRC32": checksumOf(algCRC32, big)},
		},
		{
			name: "streaming unsigned trailer, read a byte at a time",
			build: func(b string) *http.Request {
				return unsignedTrailer(newReq("PUT", b, "/bucket/key", nil, big), big, checksumHeader(algSHA256, big))
			},
			want: big, wantLength: int64(len(big)), readSize: 1, wantChecksums: map[string]string{"SHA256": checksumOf(algSHA256, big)},
		},
		{
			name: "streaming unsigned trailer, wrong checksum",
			build: func(b string) *http.Request {
				return unsignedTrailer(newReq("PUT", b, "/bucket/key", nil, big), big, wrongCRC)
			},
			wantReadErr: ErrBadDigest, want: big,
		},
		{
			name: "streaming unsigned trailer, data byte changed",
			build: func(b string) *http.Request {
				return withTamper(unsignedTrailer(newReq("PUT", b, "/bucket/key", nil, big), big, checksumHeader(algCRC32, big)), 150<<10)
			},
			wantReadErr: ErrBadDigest, want: big,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := New(Options{
				Credentials: staticCreds{rtAccessKey: rtSecret},
				Now:         func() time.Time { return time.Now().Add(tt.now) },
			})
			readSize := tt.readSize
			if readSize == 0 {
				readSize = 32 << 10
			}
			srv, outcomes := startServer(t, v, readSize)
			resp, err := srv.Client().Do(tt.build(srv.URL))
			if err != nil {
				t.Fatalf("client: %v", err)
			}
			resp.Body.Close()
			o := <-outcomes
			if !errorIs(t, "Verify()", o.err, tt.wantErr) || o.err != nil {
				return
			}
			errorIs(t, "reading Body", o.readErr, tt.wantReadErr)
			if tt.wantReadErr != nil {
				if len(o.body) >= len(tt.want) {
					t.Errorf("read %d of %d bytes before %v, want the last byte withheld", len(o.body), len(tt.want), o.readErr)
				}
				return
			}
			if !bytes.Equal(o.body, tt.want) {
				t.Errorf("body = %d bytes, want %d bytes (equal: %v)", len(o.body), len(tt.want), bytes.Equal(o.body, tt.want))
			}
			if o.res.ContentLength != tt.wantLength || o.res.AccessKey != rtAccessKey || o.res.Presigned != tt.presigned {
				t.Errorf("Result = {AccessKey:%s ContentLength:%d Presigned:%v}, want {%s %d %v}",
					o.res.AccessKey, o.res.ContentLength, o.res.Presigned, rtAccessKey, tt.wantLength, tt.presigned)
			}
			want := tt.wantChecksums
			if want == nil {
				want = map[string]string{}
			}
			if diff := cmp.Diff(want, o.res.Checksums); diff != "" {
				t.Errorf("Checksums mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
