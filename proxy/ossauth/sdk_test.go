package ossauth

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// The tests in this file sign requests with the two official OSS Go SDKs
// (aliyun-oss-go-sdk v3, alibabacloud-oss-go-sdk-v2) and run Verify in an
// httptest server, as the proxy will: the SDKs, not this package's own
// reading of the specification, define what a valid request is.

const (
	sdkAccessKey = "LTAI5tSSEPROXYTEST"
	sdkSecret    = "sseproxy-oss-test-secret-0123456789"
	sdkBucket    = "examplebucket"
	sdkKey       = "photos/2025/a b+c~é.txt"
	sdkRegion    = "cn-hangzhou"
	// sdkDomain is the endpoint's host; the test transport dials the
	// httptest listener whatever the host, so virtual-hosted requests
	// ("examplebucket.oss-test.internal") reach it too.
	sdkDomain = "oss-test.internal"
)

// sdkPayload spans several reads of a 32 KiB buffer.
var sdkPayload = bytes.Repeat([]byte("oss-payload-0123456789\n"), 4<<10)

// outcome is what the server's handler saw of one request.
type outcome struct {
	err     error // from Verify
	res     *Result
	body    []byte // read from res.Body before readErr
	readErr error
	method  string
	query   string
	host    string
	header  http.Header
}

// startServer runs v in an httptest server that reports the first
// outcome of every request and answers as much of OSS as the SDKs need
// to call an operation a success.
func startServer(t *testing.T, v *Verifier) (*httptest.Server, <-chan outcome) {
	t.Helper()
	outcomes := make(chan outcome, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o := outcome{method: r.Method, query: r.URL.RawQuery, host: r.Host, header: r.Header.Clone()}
		o.res, o.err = v.Verify(r)
		if o.err == nil {
			o.body, o.readErr = readAllWith(o.res.Body, 32<<10)
		}
		select {
		case outcomes <- o:
		default:
		}
		if o.err != nil || o.readErr != nil {
			w.Header().Set("Content-Type", "application/xml")
			w.Header().Set("x-oss-request-id", "test")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>%s</Message><RequestId>test</RequestId></Error>", "verify failed")
			return
		}
		w.Header().Set("x-oss-request-id", "test")
		w.Header().Set("ETag", `"0123456789ABCDEF0123456789ABCDEF"`)
		q := r.URL.Query()
		switch {
		case r.Method == http.MethodPost && q.Has("uploads"):
			w.Header().Set("Content-Type", "application/xml")
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?>
<InitiateMultipartUploadResult><Bucket>examplebucket</Bucket><Key>k</Key><UploadId>0004B9894A22E5B1888A1E29F823****</UploadId></InitiateMultipartUploadResult>`)
		case r.Method == http.MethodGet && q.Has("acl"):
			w.Header().Set("Content-Type", "application/xml")
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?>
<AccessControlPolicy><Owner><ID>1</ID><DisplayName>1</DisplayName></Owner><AccessControlList><Grant>private</Grant></AccessControlList></AccessControlPolicy>`)
		case r.Method == http.MethodGet:
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, "0123456789")
		}
	}))
	t.Cleanup(srv.Close)
	return srv, outcomes
}

// sdkOp is one operation, run through a client, with what the server must
// see of it.
type sdkOp struct {
	name string
	run  func(c ossClient, srv *httptest.Server) error

	// The client's configuration, from the defaults.
	accessKey, secret string
	tamper            bool
	clock             time.Duration // the verifier's clock minus the client's

	wantErr       error    // from Verify or, for body checks, from reading Body
	wantMethod    string   // on success
	wantQuery     []string // query parameter names that must be present
	wantBody      []byte   // on success
	wantPresigned bool
	wantHeaders   []string // header names the server must have received
}

func sdkOps() []sdkOp {
	part := sdkPayload[:20<<10]
	return []sdkOp{
		{
			name: "PutObject with Content-MD5 and x-oss-meta",
			run: func(c ossClient, _ *httptest.Server) error {
				return c.putObject(sdkKey, sdkPayload, md5Base64(sdkPayload), map[string]string{"Author": "Alice", "project": "sse proxy"})
			},
			wantMethod:  http.MethodPut,
			wantBody:    sdkPayload,
			wantHeaders: []string{"Content-Md5", "X-Oss-Meta-Author", "X-Oss-Meta-Project"},
		},
		{
			name: "PutObject of nothing",
			run: func(c ossClient, _ *httptest.Server) error {
				return c.putObject("empty", nil, md5Base64(nil), nil)
			},
			wantMethod: http.MethodPut,
			wantBody:   []byte{},
		},
		{
			name:        "GetObject with Range",
			run:         func(c ossClient, _ *httptest.Server) error { return c.getObject(sdkKey, 0, 9) },
			wantMethod:  http.MethodGet,
			wantBody:    []byte{},
			wantHeaders: []string{"Range"},
		},
		{
			name: "GetObject with x-oss-process and response-content-type",
			run: func(c ossClient, _ *httptest.Server) error {
				return c.getProcessed(sdkKey, "image/resize,w_100/quality,q_90", "text/html; charset=utf-8")
			},
			wantMethod: http.MethodGet,
			wantQuery:  []string{"x-oss-process", "response-content-type"},
			wantBody:   []byte{},
		},
		{
			name:       "InitiateMultipartUpload (?uploads)",
			run:        func(c ossClient, _ *httptest.Server) error { return c.initiateMultipart(sdkKey) },
			wantMethod: http.MethodPost,
			wantQuery:  []string{"uploads"},
			wantBody:   []byte{},
		},
		{
			name: "UploadPart (?partNumber&uploadId)",
			run: func(c ossClient, _ *httptest.Server) error {
				return c.uploadPart(sdkKey, "0004B9894A22E5B1888A1E29F823****", 3, part)
			},
			wantMethod: http.MethodPut,
			wantQuery:  []string{"partNumber", "uploadId"},
			wantBody:   part,
		},
		{
			name:       "GetObjectAcl (?acl)",
			run:        func(c ossClient, _ *httptest.Server) error { return c.getObjectACL(sdkKey) },
			wantMethod: http.MethodGet,
			wantQuery:  []string{"acl"},
			wantBody:   []byte{},
		},
		{
			name: "presigned GET",
			run: func(c ossClient, srv *httptest.Server) error {
				u, h, err := c.presign(http.MethodGet, sdkKey, time.Hour, "")
				if err != nil {
					return err
				}
				return sendPresigned(srv, http.MethodGet, u, h, nil)
			},
			wantMethod:    http.MethodGet,
			wantBody:      []byte{},
			wantPresigned: true,
		},
		{
			name: "presigned PUT with Content-Type",
			run: func(c ossClient, srv *httptest.Server) error {
				u, h, err := c.presign(http.MethodPut, sdkKey, time.Hour, "text/plain")
				if err != nil {
					return err
				}
				return sendPresigned(srv, http.MethodPut, u, h, sdkPayload)
			},
			wantMethod:    http.MethodPut,
			wantBody:      sdkPayload,
			wantPresigned: true,
		},
		{
			name: "presigned GET replayed with ?acl appended",
			run: func(c ossClient, srv *httptest.Server) error {
				u, h, err := c.presign(http.MethodGet, sdkKey, time.Hour, "")
				if err != nil {
					return err
				}
				return sendPresigned(srv, http.MethodGet, u+"&acl", h, nil)
			},
			wantErr: ErrSignatureDoesNotMatch,
		},
		{
			name: "presigned GET replayed as DELETE",
			run: func(c ossClient, srv *httptest.Server) error {
				u, h, err := c.presign(http.MethodGet, sdkKey, time.Hour, "")
				if err != nil {
					return err
				}
				return sendPresigned(srv, http.MethodDelete, u, h, nil)
			},
			wantErr: ErrSignatureDoesNotMatch,
		},
		{
			name:    "wrong secret",
			secret:  "not-the-secret",
			run:     func(c ossClient, _ *httptest.Server) error { return c.getObject(sdkKey, 0, 9) },
			wantErr: ErrSignatureDoesNotMatch,
		},
		{
			name:   "presigned GET with a wrong secret",
			secret: "not-the-secret",
			run: func(c ossClient, srv *httptest.Server) error {
				u, h, err := c.presign(http.MethodGet, sdkKey, time.Hour, "")
				if err != nil {
					return err
				}
				return sendPresigned(srv, http.MethodGet, u, h, nil)
			},
			wantErr: ErrSignatureDoesNotMatch,
		},
		{
			name:      "unknown access key",
			accessKey: "LTAI5tUNKNOWN",
			run:       func(c ossClient, _ *httptest.Server) error { return c.getObjectACL(sdkKey) },
			wantErr:   ErrInvalidAccessKeyID,
		},
		{
			name:    "client clock 20 minutes slow",
			clock:   20 * time.Minute,
			run:     func(c ossClient, _ *httptest.Server) error { return c.getObject(sdkKey, 0, 9) },
			wantErr: ErrRequestTimeTooSkewed,
		},
		{
			name:    "client clock 20 minutes fast",
			clock:   -20 * time.Minute,
			run:     func(c ossClient, _ *httptest.Server) error { return c.getObject(sdkKey, 0, 9) },
			wantErr: ErrRequestTimeTooSkewed,
		},
		{
			name:       "client clock 10 minutes slow is within skew",
			clock:      10 * time.Minute,
			run:        func(c ossClient, _ *httptest.Server) error { return c.getObject(sdkKey, 0, 9) },
			wantMethod: http.MethodGet,
			wantBody:   []byte{},
		},
		{
			name:  "expired presigned GET",
			clock: 2 * time.Minute,
			run: func(c ossClient, srv *httptest.Server) error {
				u, h, err := c.presign(http.MethodGet, sdkKey, time.Minute, "")
				if err != nil {
					return err
				}
				return sendPresigned(srv, http.MethodGet, u, h, nil)
			},
			wantErr: ErrExpired,
		},
		{
			name:   "PutObject body corrupted in transit after Content-MD5",
			tamper: true,
			run: func(c ossClient, _ *httptest.Server) error {
				return c.putObject(sdkKey, sdkPayload, md5Base64(sdkPayload), nil)
			},
			wantErr: ErrBadDigest,
		},
		{
			name: "PutObject with the Content-MD5 of other data",
			run: func(c ossClient, _ *httptest.Server) error {
				return c.putObject(sdkKey, sdkPayload, md5Base64([]byte("other")), nil)
			},
			wantErr: ErrBadDigest,
		},
	}
}

func TestRealSDKs(t *testing.T) {
	type sdk struct {
		name string
		new  func(*testing.T, *httptest.Server, clientConfig) ossClient
	}
	sdks := []sdk{{"aliyun-oss-go-sdk", newV1SDK}, {"alibabacloud-oss-go-sdk-v2", newV2SDK}}
	some := func(names ...string) func(sdkOp) bool {
		return func(op sdkOp) bool { return slices.Contains(names, op.name) }
	}
	variants := []struct {
		name     string
		versions []int
		config   clientConfig
		ops      func(sdkOp) bool // nil: all
	}{
		{name: "", versions: []int{1, 4}},
		{
			name: "STS token", versions: []int{1, 4}, config: clientConfig{token: "CAIS-sts-token/with+chars=="},
			ops: some("PutObject with Content-MD5 and x-oss-meta", "GetObject with Range", "presigned GET", "presigned PUT with Content-Type"),
		},
		{
			name: "AdditionalHeaders", versions: []int{4}, config: clientConfig{additional: []string{"host", "range"}},
			ops: some("PutObject with Content-MD5 and x-oss-meta", "GetObject with Range", "presigned GET", "wrong secret"),
		},
	}
	for _, s := range sdks {
		for _, variant := range variants {
			for _, version := range variant.versions {
				for _, pathStyle := range []bool{false, true} {
					style := "virtual-hosted"
					if pathStyle {
						style = "path-style"
					}
					for _, op := range sdkOps() {
						if variant.ops != nil && !variant.ops(op) {
							continue
						}
						name := strings.Join(slices.DeleteFunc([]string{s.name, fmt.Sprintf("V%d", version), style, variant.name, op.name}, func(s string) bool { return s == "" }), "/")
						cfg := variant.config
						cfg.version, cfg.pathStyle = version, pathStyle
						t.Run(name, func(t *testing.T) { runSDKOp(t, s.new, cfg, op) })
					}
				}
			}
		}
	}
}

func runSDKOp(t *testing.T, newClient func(*testing.T, *httptest.Server, clientConfig) ossClient, cfg clientConfig, op sdkOp) {
	v := New(Options{
		Credentials:    staticCreds{sdkAccessKey: sdkSecret},
		Now:            func() time.Time { return time.Now().Add(op.clock) },
		BucketFromHost: hostSuffix(sdkDomain),
	})
	srv, outcomes := startServer(t, v)
	cfg.accessKey, cfg.secret, cfg.tamper = sdkAccessKey, sdkSecret, op.tamper
	if op.accessKey != "" {
		cfg.accessKey = op.accessKey
	}
	if op.secret != "" {
		cfg.secret = op.secret
	}
	sdkErr := op.run(newClient(t, srv, cfg), srv)

	var o outcome
	select {
	case o = <-outcomes:
	default:
		t.Fatalf("no request reached the server; client error: %v", sdkErr)
	}
	wantHost := sdkBucket + "." + sdkDomain
	if cfg.pathStyle {
		wantHost = sdkDomain
	}
	if h, _, _ := net.SplitHostPort(o.host); h != wantHost {
		t.Errorf("request host = %q, want %q (the SDK did not use the style under test)", h, wantHost)
	}
	err := o.err
	if err == nil {
		err = o.readErr
	}
	if !errorIs(t, "Verify and read Body", err, op.wantErr) {
		return
	}
	if op.wantErr != nil {
		if sdkErr == nil {
			t.Errorf("client error = nil, want the request refused")
		}
		if o.err == nil && len(o.body) >= len(sdkPayload) {
			t.Errorf("read %d of %d payload bytes before %v, want the last byte withheld", len(o.body), len(sdkPayload), o.readErr)
		}
		return
	}
	if sdkErr != nil {
		t.Errorf("client error = %v, want nil", sdkErr)
	}
	if o.method != op.wantMethod {
		t.Errorf("method = %s, want %s", o.method, op.wantMethod)
	}
	for _, name := range op.wantQuery {
		if !slices.ContainsFunc(strings.Split(o.query, "&"), func(p string) bool { return p == name || strings.HasPrefix(p, name+"=") }) {
			t.Errorf("query %q lacks %s", o.query, name)
		}
	}
	for _, name := range op.wantHeaders {
		if o.header.Get(name) == "" {
			t.Errorf("request lacks header %s", name)
		}
	}
	if !bytes.Equal(o.body, op.wantBody) {
		t.Errorf("Body = %d bytes, want %d", len(o.body), len(op.wantBody))
	}
	if o.res.AccessKey != sdkAccessKey || o.res.Presigned != op.wantPresigned {
		t.Errorf("Result = {AccessKey %q, Presigned %v}, want {%q, %v}", o.res.AccessKey, o.res.Presigned, sdkAccessKey, op.wantPresigned)
	}
	if cfg.token != "" && o.header.Get("X-Oss-Security-Token") != cfg.token && !strings.Contains(o.query, "security-token=") {
		t.Errorf("the STS token was not sent: header %q, query %q", o.header.Get("X-Oss-Security-Token"), o.query)
	}
	if cfg.additional != nil && op.name == "GetObject with Range" && !strings.Contains(o.header.Get("Authorization"), "AdditionalHeaders=") {
		t.Errorf("Authorization = %q, want AdditionalHeaders signed", o.header.Get("Authorization"))
	}
	if want := int64(len(op.wantBody)); o.res.ContentLength != want && !(want == 0 && o.res.ContentLength <= 0) {
		t.Errorf("ContentLength = %d, want %d", o.res.ContentLength, want)
	}
}
