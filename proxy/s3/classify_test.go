package s3

import (
	"net/http"
	"net/url"
	"testing"
)

// domains is the virtual-hosted-style configuration of TestClassify.
var domains = []string{"s3.example.com"}

// presign is the query of a presigned URL: every parameter is neutral.
const presign = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240501%2Fus-east-1%2Fs3%2Faws4_request" +
	"&X-Amz-Date=20240501T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=abc&X-Amz-Security-Token=tok"

// allOps lists every Op constant of classify.go; TestClassify fails if its
// table leaves one out.
var allOps = []Op{
	OpUnsupported, OpListBuckets, OpCreateBucket, OpDeleteBucket, OpHeadBucket,
	OpGetBucketLocation, OpListObjects, OpListObjectsV2, OpDeleteObjects,
	OpPutObject, OpGetObject, OpHeadObject, OpDeleteObject,
	OpCreateMultipartUpload, OpUploadPart, OpCompleteMultipart,
	OpAbortMultipartUpload, OpListParts, OpListMultipartUploads,
	OpCopyObject, OpUploadPartCopy,
}

func TestClassify(t *testing.T) {
	const path = "127.0.0.1:9000" // a host outside domains: path-style
	tests := []struct {
		name   string
		method string
		host   string
		target string // path and query as sent
		header http.Header
		want   Request
	}{
		// Service.
		{"list buckets", "GET", path, "/", nil, Request{OpListBuckets, "", ""}},
		{"list buckets presigned", "GET", path, "/?" + presign, nil, Request{OpListBuckets, "", ""}},
		{"service with sub-resource", "GET", path, "/?acl", nil, Request{OpUnsupported, "", ""}},
		{"service PUT", "PUT", path, "/", nil, Request{OpUnsupported, "", ""}},
		{"service POST", "POST", path, "/", nil, Request{OpUnsupported, "", ""}},

		// Buckets, path-style.
		{"create bucket", "PUT", path, "/bucket", nil, Request{OpCreateBucket, "bucket", ""}},
		{"create bucket trailing slash", "PUT", path, "/bucket/", nil, Request{OpCreateBucket, "bucket", ""}},
		{"delete bucket", "DELETE", path, "/bucket", nil, Request{OpDeleteBucket, "bucket", ""}},
		{"head bucket", "HEAD", path, "/bucket", nil, Request{OpHeadBucket, "bucket", ""}},
		{"bucket location", "GET", path, "/bucket?location", nil, Request{OpGetBucketLocation, "bucket", ""}},
		{"bucket location with x-id", "GET", path, "/bucket?location&x-id=GetBucketLocation", nil, Request{OpGetBucketLocation, "bucket", ""}},
		{"location plus list param", "GET", path, "/bucket?location&prefix=a", nil, Request{OpUnsupported, "bucket", ""}},
		{"list objects v1", "GET", path, "/bucket", nil, Request{OpListObjects, "bucket", ""}},
		{"list objects v1 all params", "GET", path, "/bucket?prefix=a%2F&delimiter=%2F&marker=m&max-keys=5&encoding-type=url", nil, Request{OpListObjects, "bucket", ""}},
		{"list objects v2", "GET", path, "/bucket?list-type=2", nil, Request{OpListObjectsV2, "bucket", ""}},
		{"list objects v2 all params", "GET", path, "/bucket?list-type=2&prefix=p&delimiter=%2F&continuation-token=t&start-after=s&fetch-owner=true&max-keys=1&encoding-type=url", nil, Request{OpListObjectsV2, "bucket", ""}},
		{"list objects v2 presigned", "GET", path, "/bucket?list-type=2&" + presign, nil, Request{OpListObjectsV2, "bucket", ""}},
		{"list-type 3", "GET", path, "/bucket?list-type=3", nil, Request{OpUnsupported, "bucket", ""}},
		{"list-type empty", "GET", path, "/bucket?list-type=", nil, Request{OpUnsupported, "bucket", ""}},
		{"list object versions", "GET", path, "/bucket?versions", nil, Request{OpUnsupported, "bucket", ""}},
		{"get bucket versioning", "GET", path, "/bucket?versioning", nil, Request{OpUnsupported, "bucket", ""}},
		{"put bucket versioning", "PUT", path, "/bucket?versioning", nil, Request{OpUnsupported, "bucket", ""}},
		{"get bucket acl", "GET", path, "/bucket?acl", nil, Request{OpUnsupported, "bucket", ""}},
		{"get bucket policy", "GET", path, "/bucket?policy", nil, Request{OpUnsupported, "bucket", ""}},
		{"delete bucket tagging", "DELETE", path, "/bucket?tagging", nil, Request{OpUnsupported, "bucket", ""}},
		{"head bucket with sub-resource", "HEAD", path, "/bucket?acl", nil, Request{OpUnsupported, "bucket", ""}},
		{"list with unknown param", "GET", path, "/bucket?list-type=2&versions", nil, Request{OpUnsupported, "bucket", ""}},
		{"delete objects", "POST", path, "/bucket?delete", nil, Request{OpDeleteObjects, "bucket", ""}},
		{"delete objects with x-id", "POST", path, "/bucket?delete&x-id=DeleteObjects", nil, Request{OpDeleteObjects, "bucket", ""}},
		{"bucket POST without delete", "POST", path, "/bucket", nil, Request{OpUnsupported, "bucket", ""}},
		{"bucket POST delete plus extra", "POST", path, "/bucket?delete&acl", nil, Request{OpUnsupported, "bucket", ""}},
		{"list multipart uploads", "GET", path, "/bucket?uploads", nil, Request{OpListMultipartUploads, "bucket", ""}},
		{"list multipart uploads all params", "GET", path, "/bucket?uploads&prefix=p&delimiter=%2F&key-marker=k&upload-id-marker=u&max-uploads=3&encoding-type=url", nil, Request{OpListMultipartUploads, "bucket", ""}},
		{"list multipart uploads with tagging", "GET", path, "/bucket?uploads&tagging", nil, Request{OpUnsupported, "bucket", ""}},
		{"list multipart uploads with list param", "GET", path, "/bucket?uploads&list-type=2", nil, Request{OpUnsupported, "bucket", ""}},

		// Objects, path-style.
		{"put object", "PUT", path, "/bucket/key", nil, Request{OpPutObject, "bucket", "key"}},
		{"put object x-id", "PUT", path, "/bucket/key?x-id=PutObject", nil, Request{OpPutObject, "bucket", "key"}},
		{"put object presigned", "PUT", path, "/bucket/key?" + presign, nil, Request{OpPutObject, "bucket", "key"}},
		{"copy object", "PUT", path, "/bucket/key", http.Header{"X-Amz-Copy-Source": {"/other/src"}}, Request{OpCopyObject, "bucket", "key"}},
		{"copy object x-id", "PUT", path, "/bucket/key?x-id=CopyObject", http.Header{"X-Amz-Copy-Source": {"other/src?versionId=1"}}, Request{OpCopyObject, "bucket", "key"}},
		{"copy object tagging", "PUT", path, "/bucket/key?tagging", http.Header{"X-Amz-Copy-Source": {"/other/src"}}, Request{OpUnsupported, "bucket", "key"}},
		{"copy source on GET ignored", "GET", path, "/bucket/key", http.Header{"X-Amz-Copy-Source": {"/other/src"}}, Request{OpGetObject, "bucket", "key"}},
		{"get object", "GET", path, "/bucket/key", nil, Request{OpGetObject, "bucket", "key"}},
		{"get object x-id", "GET", path, "/bucket/key?x-id=GetObject", nil, Request{OpGetObject, "bucket", "key"}},
		{"get object x-id upper case", "GET", path, "/bucket/key?X-Id=GetObject", nil, Request{OpGetObject, "bucket", "key"}},
		{"get object presigned", "GET", path, "/bucket/key?" + presign, nil, Request{OpGetObject, "bucket", "key"}},
		{"get object response overrides", "GET", path, "/bucket/key?response-content-type=text%2Fplain&response-content-disposition=attachment&response-cache-control=no-cache&response-expires=0&response-content-language=en&response-content-encoding=gzip", nil, Request{OpGetObject, "bucket", "key"}},
		{"head object", "HEAD", path, "/bucket/key", nil, Request{OpHeadObject, "bucket", "key"}},
		{"delete object", "DELETE", path, "/bucket/key", nil, Request{OpDeleteObject, "bucket", "key"}},
		{"object POST", "POST", path, "/bucket/key", nil, Request{OpUnsupported, "bucket", "key"}},
		{"object PATCH", "PATCH", path, "/bucket/key", nil, Request{OpUnsupported, "bucket", "key"}},
		{"nested key", "GET", path, "/bucket/a/b/c.txt", nil, Request{OpGetObject, "bucket", "a/b/c.txt"}},
		{"key with trailing slash", "PUT", path, "/bucket/dir/", nil, Request{OpPutObject, "bucket", "dir/"}},
		{"escaped key", "GET", path, "/bucket/a%20b%2Bc%3F", nil, Request{OpGetObject, "bucket", "a b+c?"}},
		{"key of a single slash", "GET", path, "/bucket//", nil, Request{OpGetObject, "bucket", "/"}},
		{"get object tagging", "GET", path, "/bucket/key?tagging", nil, Request{OpUnsupported, "bucket", "key"}},
		{"put object tagging", "PUT", path, "/bucket/key?tagging", nil, Request{OpUnsupported, "bucket", "key"}},
		{"get object acl", "GET", path, "/bucket/key?acl", nil, Request{OpUnsupported, "bucket", "key"}},
		{"get object version", "GET", path, "/bucket/key?versionId=1", nil, Request{OpUnsupported, "bucket", "key"}},
		{"head object version", "HEAD", path, "/bucket/key?versionId=1", nil, Request{OpUnsupported, "bucket", "key"}},
		{"delete object version", "DELETE", path, "/bucket/key?versionId=1", nil, Request{OpUnsupported, "bucket", "key"}},
		{"get object part number", "GET", path, "/bucket/key?partNumber=1", nil, Request{OpGetObject, "bucket", "key"}},
		{"get object part number presigned", "GET", path, "/bucket/key?partNumber=2&" + presign, nil, Request{OpGetObject, "bucket", "key"}},
		{"head object part number", "HEAD", path, "/bucket/key?partNumber=1", nil, Request{OpHeadObject, "bucket", "key"}},
		{"get object part number and version", "GET", path, "/bucket/key?partNumber=1&versionId=1", nil, Request{OpUnsupported, "bucket", "key"}},
		{"get part number with upload id", "GET", path, "/bucket/key?partNumber=1&uploadId=u", nil, Request{OpUnsupported, "bucket", "key"}},
		{"put with part number only", "PUT", path, "/bucket/key?partNumber=1", nil, Request{OpUnsupported, "bucket", "key"}},
		{"delete with part number", "DELETE", path, "/bucket/key?partNumber=1", nil, Request{OpUnsupported, "bucket", "key"}},
		{"get object attributes", "GET", path, "/bucket/key?attributes", nil, Request{OpUnsupported, "bucket", "key"}},
		{"restore object", "POST", path, "/bucket/key?restore", nil, Request{OpUnsupported, "bucket", "key"}},
		{"select object content", "POST", path, "/bucket/key?select&select-type=2", nil, Request{OpUnsupported, "bucket", "key"}},

		// Multipart uploads.
		{"create multipart upload", "POST", path, "/bucket/key?uploads", nil, Request{OpCreateMultipartUpload, "bucket", "key"}},
		{"create multipart upload x-id", "POST", path, "/bucket/key?uploads&x-id=CreateMultipartUpload", nil, Request{OpCreateMultipartUpload, "bucket", "key"}},
		{"create multipart upload with acl", "POST", path, "/bucket/key?uploads&acl", nil, Request{OpUnsupported, "bucket", "key"}},
		{"uploads with GET on object", "GET", path, "/bucket/key?uploads", nil, Request{OpUnsupported, "bucket", "key"}},
		{"upload part", "PUT", path, "/bucket/key?partNumber=1&uploadId=u", nil, Request{OpUploadPart, "bucket", "key"}},
		{"upload part x-id", "PUT", path, "/bucket/key?partNumber=1&uploadId=u&x-id=UploadPart", nil, Request{OpUploadPart, "bucket", "key"}},
		{"upload part presigned", "PUT", path, "/bucket/key?partNumber=1&uploadId=u&" + presign, nil, Request{OpUploadPart, "bucket", "key"}},
		{"upload part copy", "PUT", path, "/bucket/key?partNumber=1&uploadId=u", http.Header{"X-Amz-Copy-Source": {"/other/src"}}, Request{OpUploadPartCopy, "bucket", "key"}},
		{"upload part copy without upload id", "PUT", path, "/bucket/key?partNumber=1", http.Header{"X-Amz-Copy-Source": {"/other/src"}}, Request{OpUnsupported, "bucket", "key"}},
		{"upload part without upload id", "PUT", path, "/bucket/key?partNumber=1", nil, Request{OpUnsupported, "bucket", "key"}},
		{"upload part without part number", "PUT", path, "/bucket/key?uploadId=u", nil, Request{OpUnsupported, "bucket", "key"}},
		{"upload part with tagging", "PUT", path, "/bucket/key?partNumber=1&uploadId=u&tagging", nil, Request{OpUnsupported, "bucket", "key"}},
		{"complete multipart upload", "POST", path, "/bucket/key?uploadId=u", nil, Request{OpCompleteMultipart, "bucket", "key"}},
		{"complete with uploads too", "POST", path, "/bucket/key?uploadId=u&uploads", nil, Request{OpUnsupported, "bucket", "key"}},
		{"abort multipart upload", "DELETE", path, "/bucket/key?uploadId=u", nil, Request{OpAbortMultipartUpload, "bucket", "key"}},
		{"abort with version id", "DELETE", path, "/bucket/key?uploadId=u&versionId=1", nil, Request{OpUnsupported, "bucket", "key"}},
		{"list parts", "GET", path, "/bucket/key?uploadId=u", nil, Request{OpListParts, "bucket", "key"}},
		{"list parts all params", "GET", path, "/bucket/key?uploadId=u&max-parts=2&part-number-marker=1&encoding-type=url", nil, Request{OpListParts, "bucket", "key"}},
		{"list parts presigned", "GET", path, "/bucket/key?uploadId=u&" + presign, nil, Request{OpListParts, "bucket", "key"}},
		{"list parts with tagging", "GET", path, "/bucket/key?uploadId=u&tagging", nil, Request{OpUnsupported, "bucket", "key"}},
		{"head with upload id", "HEAD", path, "/bucket/key?uploadId=u", nil, Request{OpUnsupported, "bucket", "key"}},

		// Virtual-hosted-style.
		{"vhost list objects", "GET", "bucket.s3.example.com", "/", nil, Request{OpListObjects, "bucket", ""}},
		{"vhost list objects v2", "GET", "bucket.s3.example.com", "/?list-type=2&prefix=a", nil, Request{OpListObjectsV2, "bucket", ""}},
		{"vhost get object", "GET", "bucket.s3.example.com", "/dir/key", nil, Request{OpGetObject, "bucket", "dir/key"}},
		{"vhost with port", "GET", "bucket.s3.example.com:8443", "/dir/key", nil, Request{OpGetObject, "bucket", "dir/key"}},
		{"vhost mixed case host", "HEAD", "Bucket.S3.Example.COM:443", "/key", nil, Request{OpHeadObject, "bucket", "key"}},
		{"vhost dotted bucket", "PUT", "my.dotted.bucket.s3.example.com", "/key", nil, Request{OpPutObject, "my.dotted.bucket", "key"}},
		{"vhost create bucket", "PUT", "bucket.s3.example.com", "/", nil, Request{OpCreateBucket, "bucket", ""}},
		{"vhost delete objects", "POST", "bucket.s3.example.com", "/?delete", nil, Request{OpDeleteObjects, "bucket", ""}},
		{"vhost list multipart uploads", "GET", "bucket.s3.example.com", "/?uploads", nil, Request{OpListMultipartUploads, "bucket", ""}},
		{"vhost create multipart upload", "POST", "bucket.s3.example.com", "/a/b?uploads", nil, Request{OpCreateMultipartUpload, "bucket", "a/b"}},
		{"vhost key of a single slash", "GET", "bucket.s3.example.com", "//", nil, Request{OpGetObject, "bucket", "/"}},
		{"vhost key keeps bucket-like prefix", "GET", "bucket.s3.example.com", "/other/key", nil, Request{OpGetObject, "bucket", "other/key"}},
		{"base domain is path-style", "GET", "s3.example.com", "/bucket/key", nil, Request{OpGetObject, "bucket", "key"}},
		{"base domain with port lists buckets", "GET", "S3.Example.com:9000", "/", nil, Request{OpListBuckets, "", ""}},
		{"suffix without dot is path-style", "GET", "evils3.example.com", "/bucket/key", nil, Request{OpGetObject, "bucket", "key"}},
		{"other domain is path-style", "GET", "bucket.s3.other.com", "/b/k", nil, Request{OpGetObject, "b", "k"}},
		{"ipv6 host is path-style", "GET", "[::1]:9000", "/bucket/key", nil, Request{OpGetObject, "bucket", "key"}},
	}
	seen := map[Op]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRequest(t, tt.method, tt.host, tt.target, tt.header)
			if got := Classify(r, domains); got != tt.want {
				t.Errorf("Classify(%s %s%s) = %+v, want %+v", tt.method, tt.host, tt.target, got, tt.want)
			}
		})
		seen[tt.want.Op] = true
	}
	for _, op := range allOps {
		if !seen[op] {
			t.Errorf("no TestClassify row expects %s", op)
		}
	}
}

func TestClassifyDomains(t *testing.T) {
	tests := []struct {
		name    string
		domains []string
		host    string
		want    Request
	}{
		{"no domains", nil, "bucket.s3.example.com", Request{OpListObjects, "k", ""}},
		{"mixed case domain", []string{"S3.Example.COM"}, "bucket.s3.example.com", Request{OpGetObject, "bucket", "k/"}},
		{"second domain", []string{"s3.other.com", "s3.example.com"}, "bucket.s3.example.com", Request{OpGetObject, "bucket", "k/"}},
		{"first matching domain wins", []string{"example.com", "s3.example.com"}, "bucket.s3.example.com", Request{OpGetObject, "bucket.s3", "k/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRequest(t, "GET", tt.host, "/k/", nil)
			if got := Classify(r, tt.domains); got != tt.want {
				t.Errorf("Classify(GET %s/k/, %q) = %+v, want %+v", tt.host, tt.domains, got, tt.want)
			}
		})
	}
}

// newRequest builds a request as net/http's server would hand it over.
func newRequest(t testing.TB, method, host, target string, h http.Header) *http.Request {
	t.Helper()
	u, err := url.ParseRequestURI(target)
	if err != nil {
		t.Fatalf("url.ParseRequestURI(%q): %v", target, err)
	}
	r := &http.Request{Method: method, Host: host, URL: u, RequestURI: target, Header: http.Header{}}
	for k, vs := range h {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	return r
}

func FuzzClassify(f *testing.F) {
	f.Add("GET", "127.0.0.1:9000", "/bucket/key", "uploadId=u&partNumber=1", "")
	f.Add("PUT", "bucket.s3.example.com:80", "/a/b", presign, "/src/key")
	f.Add("POST", "Bucket.S3.EXAMPLE.com", "/", "uploads&delete&x-id=x", "")
	f.Add("DELETE", "[::1]:1", "//", "versionId=1&uploadId=", "")
	f.Add("HEAD", "s3.example.com", "/bucket", "list-type=2&list-type=3", "")
	f.Fuzz(func(t *testing.T, method, host, path, rawQuery, copySource string) {
		r := &http.Request{Method: method, Host: host, URL: &url.URL{Path: path, RawQuery: rawQuery}, Header: http.Header{}}
		if copySource != "" {
			r.Header.Set("X-Amz-Copy-Source", copySource)
		}
		got := Classify(r, domains)
		if again := Classify(r, domains); again != got {
			t.Fatalf("Classify(%s %s %q ?%q) = %+v, then %+v", method, host, path, rawQuery, got, again)
		}
		known := false
		for _, op := range allOps {
			known = known || got.Op == op
		}
		if !known {
			t.Fatalf("Classify(%s %s %q ?%q).Op = %q, want one of the Op constants", method, host, path, rawQuery, got.Op)
		}
		switch got.Op {
		case OpUnsupported:
		case OpListBuckets:
			if got.Bucket != "" || got.Key != "" {
				t.Fatalf("Classify(%s %s %q ?%q) = %+v, want no bucket and no key", method, host, path, rawQuery, got)
			}
		case OpCreateBucket, OpDeleteBucket, OpHeadBucket, OpGetBucketLocation, OpListObjects,
			OpListObjectsV2, OpDeleteObjects, OpListMultipartUploads:
			if got.Bucket == "" || got.Key != "" {
				t.Fatalf("Classify(%s %s %q ?%q) = %+v, want a bucket and no key", method, host, path, rawQuery, got)
			}
		default:
			if got.Bucket == "" || got.Key == "" {
				t.Fatalf("Classify(%s %s %q ?%q) = %+v, want a bucket and a key", method, host, path, rawQuery, got)
			}
		}
		isCopy := got.Op == OpCopyObject || got.Op == OpUploadPartCopy
		if copySource != "" && (got.Op == OpPutObject || got.Op == OpUploadPart) || copySource == "" && isCopy {
			t.Fatalf("Classify(%s %s %q ?%q) with x-amz-copy-source %q = %s", method, host, path, rawQuery, copySource, got.Op)
		}
	})
}
