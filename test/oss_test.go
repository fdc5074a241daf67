package test

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	ossv2 "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	"github.com/google/go-cmp/cmp"
	"github.com/minio/minio-go/v7"
	miniosse "github.com/minio/minio-go/v7/pkg/sse"

	"github.com/sseproxy/sseproxy/sse"
)

// The OSS dialect end to end, against Alibaba Cloud's "Server-side
// encryption" reference for OSS: x-oss-server-side-encryption (AES256 or
// KMS) and x-oss-server-side-encryption-key-id are taken by PutObject,
// CopyObject and InitiateMultipartUpload; on any other API the header is
// 400 InvalidArgument; any other value is 400
// InvalidEncryptionAlgorithmError; the responses of PutObject, CopyObject,
// InitiateMultipartUpload, UploadPart, CompleteMultipartUpload, GetObject
// and HeadObject of encrypted objects carry the header.

func encSize(t *testing.T, n int64) int64 {
	t.Helper()
	s, err := sse.EncryptedSize(n)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ossMode is one way of asking for encryption, with what it must yield.
type ossMode struct {
	name       string
	sse        ossSSE
	alg, keyID string // the response headers
	storedAlg  string // the record at rest
	storedKey  string // "" = not checked
}

// ossModes: no header (the proxy's default AES256 applies), and each value
// the reference allows.
var ossModes = []ossMode{
	{"no SSE header", ossSSE{}, "AES256", "", "AES256", ""},
	{"AES256", ossSSE{alg: "AES256"}, "AES256", "", "AES256", ""},
	{"KMS default CMK", ossSSE{alg: "KMS"}, "KMS", "default", "aws:kms", "default"},
	{"KMS team-a", ossSSE{"KMS", "team-a"}, "KMS", "team-a", "aws:kms", "team-a"},
}

// TestOSSObjects drives the proxy with both official OSS SDKs: PutObject,
// GetObject whole and ranged, HeadObject, CopyObject and a multipart upload,
// without an SSE header and with each SSE request of the reference, then
// DeleteObject and both listings. Objects come back byte-exact with their
// x-oss-meta-*, sizes are plaintext sizes, data is ciphertext at rest under
// the key asked for, and x-oss-server-side-encryption is in the responses of
// the APIs the reference lists.
func TestOSSObjects(t *testing.T) {
	path, _ := newKeyring(t, "team-a")
	p := startProxy(t, proxyConfig{keyring: path})
	bucket := newBucket(t, p.client(t))
	// The copy source is KMS under team-a: each copy row shows that the
	// copy request, not the source, decides the destination's encryption.
	const srcSize = 150_001
	src := payload(srcSize, 100)
	if _, err := (ossV2{newOSSV2Client(p, 4)}).put(bucket, "copy-source", src, ossSSE{"KMS", "team-a"}, map[string]string{"color": "green"}); err != nil {
		t.Fatalf("PutObject(copy-source) = %v", err)
	}
	const size, part, last = 200_007, 5 << 20, 123_457
	sdks := ossSDKs(t, p)
	for i, c := range sdks {
		for j, m := range ossModes {
			t.Run(c.name+"/"+m.name, func(t *testing.T) {
				prefix := fmt.Sprintf("%d/%d/", i, j)
				data := payload(size, uint64(10*i+j))
				meta := map[string]string{"color": "blue", "mode": m.name}

				key := prefix + "obj"
				r, err := c.sdk.put(bucket, key, data, m.sse, meta)
				if err != nil {
					t.Fatalf("PutObject = %v", err)
				}
				checkRequestID(t, "PutObject", r.header)
				checkOSSSSE(t, "PutObject", r.header, m.alg, m.keyID)
				etag := r.header.Get("ETag")
				checkAtRest(t, bucket, key, data, encSize(t, size), m.storedAlg, m.storedKey, meta)

				r, err = c.sdk.get(bucket, key, "")
				if err != nil || r.status != 200 || !bytes.Equal(r.body, data) {
					t.Fatalf("GetObject = %d, %d bytes, %v; want 200 with the %d bytes written", r.status, len(r.body), err, size)
				}
				checkObjectHeaders(t, "GetObject", r.header, m, size, "blue")
				r, err = c.sdk.head(bucket, key)
				if err != nil {
					t.Fatalf("HeadObject = %v", err)
				}
				checkObjectHeaders(t, "HeadObject", r.header, m, size, "blue")
				if got := r.header.Get("ETag"); got != etag || etag == "" {
					t.Errorf("HeadObject ETag = %q, want PutObject's %q", got, etag)
				}
				for _, rg := range []struct {
					spec        string
					first, last int
				}{
					{"0-0", 0, 0},
					{"65535-65536", 65535, 65536},
					{"150000-", 150000, size - 1},
				} {
					r, err := c.sdk.get(bucket, key, rg.spec)
					wantRange := fmt.Sprintf("bytes %d-%d/%d", rg.first, rg.last, size)
					if err != nil || r.status != 206 || r.header.Get("Content-Range") != wantRange || !bytes.Equal(r.body, data[rg.first:rg.last+1]) {
						t.Errorf("GetObject Range %s = %d %q, %d bytes, %v; want 206 %q with plaintext[%d:%d]",
							rg.spec, r.status, r.header.Get("Content-Range"), len(r.body), err, wantRange, rg.first, rg.last+1)
						continue
					}
					checkRequestID(t, "GetObject Range "+rg.spec, r.header)
					checkOSSSSE(t, "GetObject Range "+rg.spec, r.header, m.alg, m.keyID)
				}

				dst := prefix + "copy"
				if r, err = c.sdk.copy(bucket, dst, "copy-source", m.sse); err != nil {
					t.Fatalf("CopyObject = %v", err)
				}
				checkRequestID(t, "CopyObject", r.header)
				checkOSSSSE(t, "CopyObject", r.header, m.alg, m.keyID)
				if r, err = c.sdk.get(bucket, dst, ""); err != nil || !bytes.Equal(r.body, src) {
					t.Fatalf("GetObject(copy) = %d bytes, %v; want the source's %d", len(r.body), err, srcSize)
				}
				checkObjectHeaders(t, "GetObject(copy)", r.header, m, srcSize, "green")
				checkAtRest(t, bucket, dst, src, encSize(t, srcSize), m.storedAlg, m.storedKey, map[string]string{"color": "green"})

				mp := prefix + "multipart"
				mdata := payload(part+last, uint64(100+10*i+j))
				id, r, err := c.sdk.initiate(bucket, mp, m.sse, map[string]string{"color": "red", "mode": m.name})
				if err != nil {
					t.Fatalf("InitiateMultipartUpload = %v", err)
				}
				checkRequestID(t, "InitiateMultipartUpload", r.header)
				checkOSSSSE(t, "InitiateMultipartUpload", r.header, m.alg, m.keyID)
				var etags []string
				for n, chunk := range [][]byte{mdata[:part], mdata[part:]} {
					e, r, err := c.sdk.uploadPart(bucket, mp, id, n+1, chunk)
					if err != nil {
						t.Fatalf("UploadPart %d = %v", n+1, err)
					}
					checkRequestID(t, "UploadPart", r.header)
					checkOSSSSE(t, fmt.Sprintf("UploadPart %d", n+1), r.header, m.alg, m.keyID)
					etags = append(etags, e)
				}
				if r, err = c.sdk.complete(bucket, mp, id, etags); err != nil {
					t.Fatalf("CompleteMultipartUpload = %v", err)
				}
				checkRequestID(t, "CompleteMultipartUpload", r.header)
				checkOSSSSE(t, "CompleteMultipartUpload", r.header, m.alg, m.keyID)
				if r, err = c.sdk.get(bucket, mp, ""); err != nil || !bytes.Equal(r.body, mdata) {
					t.Fatalf("GetObject(multipart) = %d bytes, %v; want the %d bytes uploaded", len(r.body), err, len(mdata))
				}
				checkObjectHeaders(t, "GetObject(multipart)", r.header, m, part+last, "red")
				if r, err = c.sdk.head(bucket, mp); err != nil {
					t.Fatalf("HeadObject(multipart) = %v", err)
				}
				checkObjectHeaders(t, "HeadObject(multipart)", r.header, m, part+last, "red")
				if r, err = c.sdk.get(bucket, mp, fmt.Sprintf("%d-%d", part-1, part)); err != nil || r.status != 206 || !bytes.Equal(r.body, mdata[part-1:part+1]) {
					t.Errorf("GetObject(multipart) across the part edge = %d, %d bytes, %v; want 206 with plaintext[%d:%d]", r.status, len(r.body), err, part-1, part+1)
				}
				checkAtRest(t, bucket, mp, mdata, encSize(t, part)+encSize(t, last), m.storedAlg, m.storedKey, map[string]string{"color": "red"})
			})
		}
	}
	for i, c := range sdks {
		t.Run(c.name+"/DeleteObject and listings", func(t *testing.T) {
			gone := fmt.Sprintf("%d/gone", i)
			if _, err := c.sdk.put(bucket, gone, []byte("short-lived"), ossSSE{}, nil); err != nil {
				t.Fatal(err)
			}
			r, err := c.sdk.remove(bucket, gone)
			if err != nil || r.status != http.StatusNoContent {
				t.Fatalf("DeleteObject = %d, %v; want 204", r.status, err)
			}
			checkRequestID(t, "DeleteObject", r.header)
			checkOSSSSE(t, "DeleteObject", r.header, "", "")
			_, err = c.sdk.head(bucket, gone)
			if r, ok := ossErrorOf(err); !ok || r.status != 404 {
				t.Errorf("HeadObject after DeleteObject = %v, want 404", err)
			}
			// A name that listings must encode (encoding-type=url).
			odd := fmt.Sprintf("%d/odd name +~%%é.txt", i)
			if _, err := c.sdk.put(bucket, odd, []byte("odd"), ossSSE{}, nil); err != nil {
				t.Fatal(err)
			}
			want := map[string]int64{odd: 3}
			for j := range ossModes {
				want[fmt.Sprintf("%d/%d/obj", i, j)] = size
				want[fmt.Sprintf("%d/%d/copy", i, j)] = srcSize
				want[fmt.Sprintf("%d/%d/multipart", i, j)] = part + last
			}
			for _, v2 := range []bool{false, true} {
				got, r, err := c.sdk.list(bucket, fmt.Sprintf("%d/", i), v2)
				if err != nil {
					t.Fatalf("ListObjects(v2=%v) = %v", v2, err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("ListObjects(v2=%v) keys and plaintext sizes (-want +got):\n%s", v2, diff)
				}
				checkRequestID(t, "ListObjects", r.header)
				checkOSSSSE(t, fmt.Sprintf("ListObjects(v2=%v)", v2), r.header, "", "")
			}
		})
	}
}

// checkObjectHeaders asserts what GetObject and HeadObject of a whole object
// tell a user: the plaintext length, the Content-Type and x-oss-meta-color
// stored, the SSE headers and the request id.
func checkObjectHeaders(t *testing.T, what string, h http.Header, m ossMode, size int, color string) {
	t.Helper()
	checkRequestID(t, what, h)
	checkOSSSSE(t, what, h, m.alg, m.keyID)
	if got := h.Get("Content-Length"); got != strconv.Itoa(size) {
		t.Errorf("%s Content-Length = %q, want the plaintext size %d", what, got, size)
	}
	if got := h.Get("X-Oss-Meta-Color"); got != color {
		t.Errorf("%s x-oss-meta-color = %q, want %q", what, got, color)
	}
	if got := h.Get("Content-Type"); got != ossContentType {
		t.Errorf("%s Content-Type = %q, want %q", what, got, ossContentType)
	}
	for name := range h {
		if strings.HasPrefix(strings.ToLower(name), "x-oss-meta-sseproxy") {
			t.Errorf("%s shows internal metadata %s", what, name)
		}
	}
}

// TestOSSMultipartLayout: a first part that is not a multiple of 64 KiB
// is refused at CompleteMultipartUpload with an OSS error, and the upload
// can still be aborted.
func TestOSSMultipartLayout(t *testing.T) {
	p := startProxy(t, proxyConfig{})
	bucket := newBucket(t, p.client(t))
	for _, c := range ossSDKs(t, p) {
		t.Run(c.name, func(t *testing.T) {
			id, _, err := c.sdk.initiate(bucket, "odd", ossSSE{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			var etags []string
			for n, chunk := range [][]byte{payload(100_000, 1), payload(10, 2)} {
				e, _, err := c.sdk.uploadPart(bucket, "odd", id, n+1, chunk)
				if err != nil {
					t.Fatalf("UploadPart %d = %v", n+1, err)
				}
				etags = append(etags, e)
			}
			_, err = c.sdk.complete(bucket, "odd", id, etags)
			checkSDKError(t, "CompleteMultipartUpload with a 100,000-byte first part", err, 400, "InvalidPart", "EntityTooSmall")
			if _, err := c.sdk.head(bucket, "odd"); err == nil {
				t.Errorf("a refused CompleteMultipartUpload left an object")
			}
			if err := c.sdk.abort(bucket, "odd", id); err != nil {
				t.Errorf("AbortMultipartUpload = %v", err)
			}
		})
	}
}

// TestOSSPresigned: presigned PUT and GET URLs of both SDKs (V1 and V4,
// and the v2 SDK signing V1), with and without a signed SSE header; an
// SSE header the URL did not sign and an expired URL are refused in OSS's
// words.
func TestOSSPresigned(t *testing.T) {
	path, _ := newKeyring(t, "team-a")
	p := startProxy(t, proxyConfig{keyring: path})
	bucket := newBucket(t, p.client(t))
	clients := []namedSDK{
		{"v1 SDK (V1)", newOSSV1(t, p)},
		{"v2 SDK (V4)", ossV2{newOSSV2Client(p, 4)}},
		{"v2 SDK (V1)", ossV2{newOSSV2Client(p, 1)}},
	}
	modes := []ossMode{ossModes[0], ossModes[3]}
	for i, c := range clients {
		for j, m := range modes {
			t.Run(c.name+"/"+m.name, func(t *testing.T) {
				key := fmt.Sprintf("pre/%d/%d", i, j)
				data := payload(70_001, uint64(200+10*i+j))
				u, h, err := c.sdk.presign(http.MethodPut, bucket, key, m.sse)
				if err != nil {
					t.Fatal(err)
				}
				r := sendURL(t, http.MethodPut, u, h, data)
				if r.status != 200 {
					t.Fatalf("presigned PUT = %d %s, want 200\n%s", r.status, ossErrorCode(r.body), r.body)
				}
				checkRequestID(t, "presigned PUT", r.header)
				checkOSSSSE(t, "presigned PUT", r.header, m.alg, m.keyID)
				checkAtRest(t, bucket, key, data, encSize(t, int64(len(data))), m.storedAlg, m.storedKey, nil)

				g, gh, err := c.sdk.presign(http.MethodGet, bucket, key, ossSSE{})
				if err != nil {
					t.Fatal(err)
				}
				r = sendURL(t, http.MethodGet, g, gh, nil)
				if r.status != 200 || !bytes.Equal(r.body, data) {
					t.Fatalf("presigned GET = %d, %d bytes (%s); want 200 with the %d bytes written", r.status, len(r.body), ossErrorCode(r.body), len(data))
				}
				checkRequestID(t, "presigned GET", r.header)
				checkOSSSSE(t, "presigned GET", r.header, m.alg, m.keyID)

				if m.sse.alg == "" {
					// Both versions sign every x-oss-* header: one added
					// to a URL that did not sign it must not pass.
					r = sendURL(t, http.MethodPut, u, ossSSE{"KMS", "team-a"}.header(), []byte("other"))
					checkOSSError(t, "presigned PUT with an unsigned SSE header", r, 403, "SignatureDoesNotMatch")
					checkAtRest(t, bucket, key, data, encSize(t, int64(len(data))), m.storedAlg, m.storedKey, nil)
				}
			})
		}
	}
	t.Run("expired V1 URL", func(t *testing.T) {
		req := ossRequest(t, p, 1, clientAccessKey, clientSecretKey, http.MethodGet, bucket, "pre/0/0", nil, nil, nil, time.Now().Add(-time.Minute))
		r := sendURL(t, http.MethodGet, req.URL.String(), nil, nil)
		checkOSSError(t, "expired presigned GET", r, 403, "AccessDenied")
	})
}

// TestOSSCrossDialect: one object store, two dialects. An object written
// with OSS under KMS reads through minio-go with its metadata as
// x-amz-meta-* and aws:kms; one written through S3 reads through OSS with
// x-oss-meta-* and KMS; multipart objects and copies cross too.
func TestOSSCrossDialect(t *testing.T) {
	path, _ := newKeyring(t, "team-a")
	p := startProxy(t, proxyConfig{keyring: path})
	mc := p.client(t)
	ctx := context.Background()
	bucket := newBucket(t, mc)
	v1, v2 := newOSSV1(t, p), ossV2{newOSSV2Client(p, 4)}

	t.Run("OSS to S3", func(t *testing.T) {
		data := payload(300_001, 301)
		if _, err := v2.put(bucket, "from-oss", data, ossSSE{"KMS", "team-a"}, map[string]string{"a": "set with x-oss-meta-a"}); err != nil {
			t.Fatal(err)
		}
		got, err := getAll(mc, bucket, "from-oss", minio.GetObjectOptions{})
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("minio-go GET = %d bytes, %v; want the %d bytes OSS wrote", len(got), err, len(data))
		}
		st, err := mc.StatObject(ctx, bucket, "from-oss", minio.StatObjectOptions{})
		if err != nil || st.Size != int64(len(data)) || st.UserMetadata["A"] != "set with x-oss-meta-a" ||
			st.Metadata.Get("X-Amz-Server-Side-Encryption") != "aws:kms" || st.Metadata.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id") != "team-a" {
			t.Errorf("minio-go HEAD = size %d meta %v sse %q key %q, %v; want %d, A=set with x-oss-meta-a, aws:kms team-a",
				st.Size, st.UserMetadata, st.Metadata.Get("X-Amz-Server-Side-Encryption"), st.Metadata.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"), err, len(data))
		}
		opts := minio.GetObjectOptions{}
		_ = opts.SetRange(65530, 70000)
		if got, err := getAll(mc, bucket, "from-oss", opts); err != nil || !bytes.Equal(got, data[65530:70001]) {
			t.Errorf("minio-go ranged GET = %d bytes, %v; want plaintext[65530:70001]", len(got), err)
		}
		// An OSS multipart upload reads through S3.
		const part = 5 << 20
		mdata := payload(part+999, 302)
		id, _, err := v1.initiate(bucket, "oss-multipart", ossSSE{alg: "AES256"}, map[string]string{"b": "multipart"})
		if err != nil {
			t.Fatal(err)
		}
		e1, _, err1 := v1.uploadPart(bucket, "oss-multipart", id, 1, mdata[:part])
		e2, _, err2 := v1.uploadPart(bucket, "oss-multipart", id, 2, mdata[part:])
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if _, err := v1.complete(bucket, "oss-multipart", id, []string{e1, e2}); err != nil {
			t.Fatal(err)
		}
		if got, err := getAll(mc, bucket, "oss-multipart", minio.GetObjectOptions{}); err != nil || !bytes.Equal(got, mdata) {
			t.Errorf("minio-go GET of an OSS multipart object = %d bytes, %v", len(got), err)
		}
		if st, err := mc.StatObject(ctx, bucket, "oss-multipart", minio.StatObjectOptions{}); err != nil || st.UserMetadata["B"] != "multipart" || st.Size != int64(len(mdata)) {
			t.Errorf("minio-go HEAD of an OSS multipart object = size %d meta %v, %v", st.Size, st.UserMetadata, err)
		}
	})

	t.Run("S3 to OSS", func(t *testing.T) {
		data := payload(250_000, 311)
		if _, err := mc.PutObject(ctx, bucket, "from-s3", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
			DisableMultipart: true, ContentType: ossContentType, UserMetadata: map[string]string{"Color": "set with x-amz-meta-color"},
			ServerSideEncryption: mustKMS(t, "team-a", nil),
		}); err != nil {
			t.Fatal(err)
		}
		kms := ossMode{alg: "KMS", keyID: "team-a"}
		for _, c := range []namedSDK{{"v1 SDK", v1}, {"v2 SDK", v2}} {
			r, err := c.sdk.get(bucket, "from-s3", "")
			if err != nil || !bytes.Equal(r.body, data) {
				t.Fatalf("%s GetObject = %d bytes, %v; want the %d bytes S3 wrote", c.name, len(r.body), err, len(data))
			}
			checkObjectHeaders(t, c.name+" GetObject", r.header, kms, len(data), "set with x-amz-meta-color")
			if r, err = c.sdk.head(bucket, "from-s3"); err != nil {
				t.Fatal(err)
			}
			checkObjectHeaders(t, c.name+" HeadObject", r.header, kms, len(data), "set with x-amz-meta-color")
		}
		// minio-go's multipart object, read by OSS across its part edge.
		const part = 5 << 20
		mdata := payload(2*part+17, 312)
		if _, err := mc.PutObject(ctx, bucket, "s3-multipart", bytes.NewReader(mdata), int64(len(mdata)), minio.PutObjectOptions{PartSize: part}); err != nil {
			t.Fatal(err)
		}
		r, err := v2.get(bucket, "s3-multipart", fmt.Sprintf("%d-%d", part-100, 2*part+5))
		if err != nil || r.status != 206 || !bytes.Equal(r.body, mdata[part-100:2*part+6]) {
			t.Errorf("OSS ranged GET of an S3 multipart object = %d, %d bytes, %v", r.status, len(r.body), err)
		}
		checkOSSSSE(t, "OSS ranged GET of an S3 multipart object", r.header, "AES256", "")
		// An OSS copy of an S3 object keeps its metadata.
		if _, err := v1.copy(bucket, "from-s3-copy", "from-s3", ossSSE{alg: "AES256"}); err != nil {
			t.Fatal(err)
		}
		if r, err = v1.get(bucket, "from-s3-copy", ""); err != nil || !bytes.Equal(r.body, data) {
			t.Fatalf("GetObject of the copy = %d bytes, %v", len(r.body), err)
		}
		checkObjectHeaders(t, "GetObject of an OSS copy of an S3 object", r.header, ossModes[1], len(data), "set with x-amz-meta-color")
	})
}

// TestOSSHeaderMatrix: the reference's rules for x-oss-server-side-encryption
// as one table, sent as raw requests signed with V1 and with V4: accepted on
// PutObject, CopyObject and InitiateMultipartUpload; 400 InvalidArgument on
// every other API; 400 InvalidEncryptionAlgorithmError for other values.
// Every answer carries x-oss-request-id and every error OSS's error
// document. OSS-only APIs get an OSS error, not S3's.
func TestOSSHeaderMatrix(t *testing.T) {
	path, _ := newKeyring(t, "team-a")
	p := startProxy(t, proxyConfig{keyring: path})
	bucket := newBucket(t, p.client(t))
	data := payload(1000, 401)
	if r := ossRaw(t, p, 4, http.MethodPut, bucket, "existing", nil, nil, data); r.status != 200 {
		t.Fatalf("PUT existing = %d %s", r.status, r.body)
	}
	r := ossRaw(t, p, 4, http.MethodPost, bucket, "upload", [][2]string{{"uploads", ""}}, nil, nil)
	var init struct {
		UploadID string `xml:"UploadId"`
	}
	if err := xml.Unmarshal(r.body, &init); r.status != 200 || err != nil || init.UploadID == "" {
		t.Fatalf("InitiateMultipartUpload = %d %s", r.status, r.body)
	}
	sseHdr := func(alg, keyID string) http.Header {
		h := http.Header{}
		h[ossHdrSSE] = []string{alg} // set directly: an empty value is sent too
		if keyID != "" {
			h.Set(ossHdrKeyID, keyID)
		}
		return h
	}
	with := func(h http.Header, k, v string) http.Header { h = h.Clone(); h.Set(k, v); return h }
	copySrc := "/" + bucket + "/existing"
	aes := sseHdr("AES256", "")
	completeXML := []byte("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"x\"</ETag></Part></CompleteMultipartUpload>")
	ruleXML := []byte("<ServerSideEncryptionRule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></ServerSideEncryptionRule>")
	uploadQ := func(extra ...[2]string) [][2]string { return append(extra, [2]string{"uploadId", init.UploadID}) }
	type row struct {
		name          string
		method        string
		bucket, key   string // bucket "" = the test's
		query         [][2]string
		header        http.Header
		body          []byte
		ak, sk        string // "" = the client's
		status        int    // 0 = any 4xx or 5xx
		codes         []string
		alg, keyID    string // a success's response SSE headers
		storedAlg     string // a success's record at rest; "" = not a write
		storedKeyID   string
		storedContent []byte
	}
	tests := []row{
		{name: "PutObject AES256", method: "PUT", key: "acc-aes", header: aes, body: data, status: 200, alg: "AES256", storedAlg: "AES256", storedContent: data},
		{name: "PutObject KMS", method: "PUT", key: "acc-kms", header: sseHdr("KMS", ""), body: data, status: 200, alg: "KMS", keyID: "default", storedAlg: "aws:kms", storedKeyID: "default", storedContent: data},
		{name: "PutObject KMS with a key id", method: "PUT", key: "acc-kms-a", header: sseHdr("KMS", "team-a"), body: data, status: 200, alg: "KMS", keyID: "team-a", storedAlg: "aws:kms", storedKeyID: "team-a", storedContent: data},
		{name: "CopyObject AES256", method: "PUT", key: "copy-aes", header: with(aes, "x-oss-copy-source", copySrc), status: 200, alg: "AES256", storedAlg: "AES256", storedContent: data},
		{name: "CopyObject KMS with a key id", method: "PUT", key: "copy-kms", header: with(sseHdr("KMS", "team-a"), "x-oss-copy-source", copySrc), status: 200, alg: "KMS", keyID: "team-a", storedAlg: "aws:kms", storedKeyID: "team-a", storedContent: data},
		{name: "InitiateMultipartUpload AES256", method: "POST", key: "mp-aes", query: [][2]string{{"uploads", ""}}, header: aes, status: 200, alg: "AES256"},
		{name: "InitiateMultipartUpload KMS with a key id", method: "POST", key: "mp-kms", query: [][2]string{{"uploads", ""}}, header: sseHdr("KMS", "team-a"), status: 200, alg: "KMS", keyID: "team-a"},

		{name: "GetObject", method: "GET", key: "existing", header: aes, status: 400, codes: []string{"InvalidArgument"}},
		{name: "HeadObject", method: "HEAD", key: "existing", header: aes, status: 400},
		{name: "DeleteObject", method: "DELETE", key: "existing", header: aes, status: 400, codes: []string{"InvalidArgument"}},
		{name: "ListObjects", method: "GET", header: aes, status: 400, codes: []string{"InvalidArgument"}},
		{name: "ListObjectsV2", method: "GET", query: [][2]string{{"list-type", "2"}}, header: aes, status: 400, codes: []string{"InvalidArgument"}},
		{name: "UploadPart", method: "PUT", key: "upload", query: uploadQ([2]string{"partNumber", "1"}), header: aes, body: data, status: 400, codes: []string{"InvalidArgument"}},
		{name: "UploadPart KMS", method: "PUT", key: "upload", query: uploadQ([2]string{"partNumber", "1"}), header: sseHdr("KMS", "team-a"), body: data, status: 400, codes: []string{"InvalidArgument"}},
		{name: "CompleteMultipartUpload", method: "POST", key: "upload", query: uploadQ(), header: aes, body: completeXML, status: 400, codes: []string{"InvalidArgument"}},
		{name: "PutBucketEncryption", method: "PUT", query: [][2]string{{"encryption", ""}}, header: aes, body: ruleXML, status: 400, codes: []string{"InvalidArgument"}},
		{name: "PutObject key id with AES256", method: "PUT", key: "bad", header: sseHdr("AES256", "team-a"), body: data, status: 400, codes: []string{"InvalidArgument"}},

		{name: "PutObject AES128", method: "PUT", key: "bad", header: sseHdr("AES128", ""), body: data, status: 400, codes: []string{"InvalidEncryptionAlgorithmError"}},
		{name: "PutObject kms (lowercase)", method: "PUT", key: "bad", header: sseHdr("kms", ""), body: data, status: 400, codes: []string{"InvalidEncryptionAlgorithmError"}},
		{name: "PutObject aws:kms (S3's spelling)", method: "PUT", key: "bad", header: sseHdr("aws:kms", ""), body: data, status: 400, codes: []string{"InvalidEncryptionAlgorithmError"}},
		{name: "PutObject empty value", method: "PUT", key: "bad", header: sseHdr("", ""), body: data, status: 400, codes: []string{"InvalidEncryptionAlgorithmError"}},
		{name: "CopyObject AES128", method: "PUT", key: "bad", header: with(sseHdr("AES128", ""), "x-oss-copy-source", copySrc), status: 400, codes: []string{"InvalidEncryptionAlgorithmError"}},
		{name: "InitiateMultipartUpload AES128", method: "POST", key: "bad", query: [][2]string{{"uploads", ""}}, header: sseHdr("AES128", ""), status: 400, codes: []string{"InvalidEncryptionAlgorithmError"}},

		{name: "PutObject KMS with an unknown key id", method: "PUT", key: "bad", header: sseHdr("KMS", "no-such-cmk"), body: data, status: 400},
		{name: "GetObject of a missing key", method: "GET", key: "missing", status: 404, codes: []string{"NoSuchKey"}},
		{name: "GetObject in a missing bucket", method: "GET", bucket: "no-such-bucket-oss", key: "x", status: 404, codes: []string{"NoSuchBucket"}},
		{name: "wrong secret", method: "GET", key: "existing", sk: "wrong-secret", status: 403, codes: []string{"SignatureDoesNotMatch"}},
		{name: "unknown access key", method: "GET", key: "existing", ak: "no-such-access-key", status: 403, codes: []string{"InvalidAccessKeyId"}},
		{name: "AppendObject", method: "POST", key: "appended", query: [][2]string{{"append", ""}, {"position", "0"}}, body: data},
		{name: "PutSymlink", method: "PUT", key: "link", query: [][2]string{{"symlink", ""}}, header: http.Header{"X-Oss-Symlink-Target": {"existing"}}},
		{name: "GetSymlink", method: "GET", key: "existing", query: [][2]string{{"symlink", ""}}},
	}
	for _, version := range []int{1, 4} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("V%d/%s", version, tt.name), func(t *testing.T) {
				b, ak, sk := tt.bucket, tt.ak, tt.sk
				if b == "" {
					b = bucket
				}
				if ak == "" {
					ak = clientAccessKey
				}
				if sk == "" {
					sk = clientSecretKey
				}
				r := ossRawAs(t, p, version, ak, sk, tt.method, b, tt.key, tt.query, tt.header, tt.body)
				what := fmt.Sprintf("%s /%s/%s?%v %v", tt.method, b, tt.key, tt.query, tt.header)
				checkRequestID(t, what, r.header)
				switch {
				case tt.status == 200:
					if r.status != 200 {
						t.Fatalf("%s = %d %s, want 200\n%s", what, r.status, ossErrorCode(r.body), r.body)
					}
					checkOSSSSE(t, what, r.header, tt.alg, tt.keyID)
					if tt.storedAlg != "" {
						checkAtRest(t, bucket, tt.key, tt.storedContent, encSize(t, int64(len(tt.storedContent))), tt.storedAlg, tt.storedKeyID, nil)
					}
				case tt.method == http.MethodHead: // no body to hold a code
					if r.status != tt.status {
						t.Errorf("%s = %d, want %d", what, r.status, tt.status)
					}
				default:
					checkOSSError(t, what, r, tt.status, tt.codes...)
				}
			})
		}
	}
	t.Run("error document carries EC", func(t *testing.T) {
		r := ossRaw(t, p, 4, http.MethodGet, bucket, "missing", nil, nil, nil)
		var d ossErrorDoc
		if err := xml.Unmarshal(r.body, &d); err != nil || d.EC == nil {
			t.Errorf("GET missing = %d; the error document has no <EC> (OSS's error entry code):\n%s", r.status, r.body)
		}
	})
	d := direct(t)
	for _, k := range []string{"bad", "appended", "link"} {
		if _, err := d.StatObject(context.Background(), bucket, k, minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
			t.Errorf("a refused request stored %s: StatObject = %v", k, err)
		}
	}
	if got, _ := getDirect(t, bucket, "existing"); len(got) == 0 {
		t.Errorf("a refused DeleteObject deleted the object")
	}

	// The OSS-only APIs through the SDKs' own calls.
	c2, c1 := newOSSV2Client(p, 4), newOSSV1(t, p)
	b1 := c1.bucket(bucket)
	sdkCalls := []struct {
		name string
		call func() error
	}{
		{"v2 SDK AppendObject", func() error {
			_, err := c2.AppendObject(bg, &ossv2.AppendObjectRequest{Bucket: &bucket, Key: ossv2.Ptr("appended"), Position: ossv2.Ptr(int64(0)), Body: bytes.NewReader(data)})
			return err
		}},
		{"v2 SDK PutSymlink", func() error {
			_, err := c2.PutSymlink(bg, &ossv2.PutSymlinkRequest{Bucket: &bucket, Key: ossv2.Ptr("link"), Target: ossv2.Ptr("existing")})
			return err
		}},
		{"v2 SDK GetSymlink", func() error {
			_, err := c2.GetSymlink(bg, &ossv2.GetSymlinkRequest{Bucket: &bucket, Key: ossv2.Ptr("existing")})
			return err
		}},
		{"v1 SDK AppendObject", func() error {
			_, err := b1.AppendObject("appended", bytes.NewReader(data), 0)
			return err
		}},
		{"v1 SDK PutSymlink", func() error { return b1.PutSymlink("link", "existing") }},
	}
	for _, sc := range sdkCalls {
		t.Run(sc.name, func(t *testing.T) { checkSDKError(t, sc.name, sc.call(), 0) })
	}
}

// TestOSSBucketEncryption: a bucket rule set through OSS's
// PutBucketEncryption (KMS under a named CMK) encrypts PUTs without SSE
// headers in both dialects, is the rule minio-go's GetBucketEncryption
// reads, and a rule set through S3 is the one OSS reads; OSS's
// DeleteBucketEncryption removes it for both.
func TestOSSBucketEncryption(t *testing.T) {
	path, _ := newKeyring(t, "team-a")
	p := startProxy(t, proxyConfig{keyring: path})
	mc := p.client(t)
	ctx := context.Background()
	bucket := newBucket(t, mc)
	c := newOSSV2Client(p, 4)
	v2 := ossV2{c}

	_, err := c.GetBucketEncryption(bg, &ossv2.GetBucketEncryptionRequest{Bucket: &bucket})
	checkSDKError(t, "GetBucketEncryption without a rule", err, 404, "NoSuchServerSideEncryptionRule")

	res, err := c.PutBucketEncryption(bg, &ossv2.PutBucketEncryptionRequest{Bucket: &bucket,
		ServerSideEncryptionRule: &ossv2.ServerSideEncryptionRule{ApplyServerSideEncryptionByDefault: &ossv2.ApplyServerSideEncryptionByDefault{
			SSEAlgorithm: ossv2.Ptr("KMS"), KMSMasterKeyID: ossv2.Ptr("team-a"),
		}}})
	if err != nil {
		t.Fatalf("PutBucketEncryption(KMS team-a) = %v", err)
	}
	checkRequestID(t, "PutBucketEncryption", res.Headers)
	got, err := c.GetBucketEncryption(bg, &ossv2.GetBucketEncryptionRequest{Bucket: &bucket})
	if err != nil {
		t.Fatalf("GetBucketEncryption = %v", err)
	}
	checkRequestID(t, "GetBucketEncryption", got.Headers)
	if alg, key := ruleOf(got); alg != "KMS" || key != "team-a" {
		t.Errorf("GetBucketEncryption = %q %q, want KMS team-a", alg, key)
	}
	s3rule, err := mc.GetBucketEncryption(ctx, bucket)
	if err != nil || len(s3rule.Rules) != 1 || s3rule.Rules[0].Apply.SSEAlgorithm != "aws:kms" || s3rule.Rules[0].Apply.KmsMasterKeyID != "team-a" {
		t.Errorf("minio-go GetBucketEncryption = %+v, %v; want aws:kms team-a", s3rule, err)
	}

	data := payload(90_000, 501)
	r, err := v2.put(bucket, "ruled-oss", data, ossSSE{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkOSSSSE(t, "PutObject under the bucket rule", r.header, "KMS", "team-a")
	checkAtRest(t, bucket, "ruled-oss", data, encSize(t, int64(len(data))), "aws:kms", "team-a", nil)
	if r, err = v2.head(bucket, "ruled-oss"); err != nil {
		t.Fatal(err)
	}
	checkOSSSSE(t, "HeadObject under the bucket rule", r.header, "KMS", "team-a")
	if _, err := mc.PutObject(ctx, bucket, "ruled-s3", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{DisableMultipart: true}); err != nil {
		t.Fatal(err)
	}
	checkAtRest(t, bucket, "ruled-s3", data, encSize(t, int64(len(data))), "aws:kms", "team-a", nil)
	// A request's own header wins over the rule.
	if r, err = v2.put(bucket, "explicit", data, ossSSE{alg: "AES256"}, nil); err != nil {
		t.Fatal(err)
	}
	checkOSSSSE(t, "PutObject AES256 under a KMS rule", r.header, "AES256", "")
	checkAtRest(t, bucket, "explicit", data, encSize(t, int64(len(data))), "AES256", "", nil)

	// A rule set through S3 is the one OSS reads, with either SDK.
	if err := mc.SetBucketEncryption(ctx, bucket, miniosse.NewConfigurationSSES3()); err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetBucketEncryption(bg, &ossv2.GetBucketEncryptionRequest{Bucket: &bucket}); err != nil {
		t.Errorf("GetBucketEncryption after S3's PutBucketEncryption = %v", err)
	} else if alg, key := ruleOf(got); alg != "AES256" || key != "" {
		t.Errorf("GetBucketEncryption after S3 set AES256 = %q %q, want AES256 and no key", alg, key)
	}
	v1rule, err := newOSSV1(t, p).c.GetBucketEncryption(bucket)
	if err != nil || v1rule.SSEDefault.SSEAlgorithm != "AES256" {
		t.Errorf("v1 SDK GetBucketEncryption = %+v, %v; want AES256", v1rule, err)
	}

	_, err = c.PutBucketEncryption(bg, &ossv2.PutBucketEncryptionRequest{Bucket: &bucket,
		ServerSideEncryptionRule: &ossv2.ServerSideEncryptionRule{ApplyServerSideEncryptionByDefault: &ossv2.ApplyServerSideEncryptionByDefault{
			SSEAlgorithm: ossv2.Ptr("AES128"),
		}}})
	checkSDKError(t, "PutBucketEncryption(AES128)", err, 400)

	del, err := c.DeleteBucketEncryption(bg, &ossv2.DeleteBucketEncryptionRequest{Bucket: &bucket})
	if err != nil {
		t.Fatalf("DeleteBucketEncryption = %v", err)
	}
	if del.StatusCode != http.StatusNoContent {
		t.Errorf("DeleteBucketEncryption = %d, want 204", del.StatusCode)
	}
	checkRequestID(t, "DeleteBucketEncryption", del.Headers)
	if _, err := mc.GetBucketEncryption(ctx, bucket); minio.ToErrorResponse(err).Code != "ServerSideEncryptionConfigurationNotFoundError" {
		t.Errorf("minio-go GetBucketEncryption after OSS's DeleteBucketEncryption = %v, want ServerSideEncryptionConfigurationNotFoundError", err)
	}
	_, err = c.GetBucketEncryption(bg, &ossv2.GetBucketEncryptionRequest{Bucket: &bucket})
	checkSDKError(t, "GetBucketEncryption after DeleteBucketEncryption", err, 404, "NoSuchServerSideEncryptionRule")
	if _, err := v2.put(bucket, "after", data, ossSSE{}, nil); err != nil {
		t.Fatal(err)
	}
	checkAtRest(t, bucket, "after", data, encSize(t, int64(len(data))), "AES256", "", nil)
}

func ruleOf(r *ossv2.GetBucketEncryptionResult) (alg, keyID string) {
	if r.ServerSideEncryptionRule == nil || r.ServerSideEncryptionRule.ApplyServerSideEncryptionByDefault == nil {
		return "", ""
	}
	d := r.ServerSideEncryptionRule.ApplyServerSideEncryptionByDefault
	return ossv2.ToString(d.SSEAlgorithm), ossv2.ToString(d.KMSMasterKeyID)
}
