package ossauth

import "testing"

func TestIsOSS(t *testing.T) {
	tests := []struct {
		name    string
		target  string
		headers []string
		want    bool
	}{
		{"V1 header", "/b/k", []string{"Authorization", "OSS ak:sig"}, true},
		{"V2 header", "/b/k", []string{"Authorization", "OSS2 AccessKeyId:ak,Signature:sig"}, true},
		{"V4 header", "/b/k", []string{"Authorization", "OSS4-HMAC-SHA256 Credential=ak/20250101/cn-hangzhou/oss/aliyun_v4_request,Signature=00"}, true},
		{"SigV4 header", "/b/k", []string{"Authorization", "AWS4-HMAC-SHA256 Credential=ak/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"}, false},
		{"SigV2 header", "/b/k", []string{"Authorization", "AWS ak:sig"}, false},
		{"SigV4 header with x-oss headers", "/b/k", []string{"Authorization", "AWS4-HMAC-SHA256 Credential=x", "x-oss-meta-a", "1"}, false},
		{"OSS header wins over x-amz query", "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256", []string{"Authorization", "OSS ak:sig"}, true},
		{"lowercase oss scheme is not OSS", "/b/k", []string{"Authorization", "oss ak:sig"}, false},
		{"V1 presigned", "/b/k?OSSAccessKeyId=ak&Expires=1&Signature=s", nil, true},
		{"V1 presigned, access key alone", "/b/k?OSSAccessKeyId=ak", nil, true},
		{"V4 presigned", "/b/k?x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=c&x-oss-signature=s", nil, true},
		{"V4 presigned, credential alone", "/b/k?x-oss-credential=c", nil, true},
		{"V2 presigned", "/b/k?x-oss-signature-version=OSS2&x-oss-access-key-id=ak", nil, true},
		{"V4 presigned, escaped name", "/b/k?x-oss-signature%2Dversion=OSS4-HMAC-SHA256", nil, true},
		{"SigV4 presigned", "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=c&X-Amz-Signature=s", nil, false},
		{"SigV4 presigned with x-oss header", "/b/k?X-Amz-Signature=s", []string{"x-oss-meta-a", "1"}, false},
		{"SigV2 presigned", "/b/k?AWSAccessKeyId=ak&Expires=1&Signature=s", nil, false},
		{"Signature alone is not OSS", "/b/k?Signature=s", nil, false},
		{"both presigned forms", "/b/k?X-Amz-Signature=s&OSSAccessKeyId=ak", nil, true},
		{"anonymous with x-oss header", "/b/k", []string{"x-oss-acl", "private"}, true},
		{"anonymous with X-OSS-Meta", "/b/k", []string{"X-OSS-Meta-A", "1"}, true},
		{"anonymous with x-amz header", "/b/k", []string{"x-amz-acl", "private"}, false},
		{"anonymous, plain", "/b/k?uploads", nil, false},
		{"x-oss- alone is not a header name of OSS's", "/b/k", []string{"x-oss-", "1"}, false},
		{"x-oss-process query alone", "/b/k?x-oss-process=image/resize", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRequest("GET", tt.target, testHost, nil, tt.headers...)
			if got := IsOSS(r); got != tt.want {
				t.Errorf("IsOSS(%s %v) = %v, want %v", tt.target, tt.headers, got, tt.want)
			}
		})
	}
}
