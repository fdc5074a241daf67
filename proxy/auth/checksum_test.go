package auth

import (
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
)

func TestParseChecksumHeaders(t *testing.T) {
	crc := checksumOf(algCRC32, []byte("x"))
	tests := []struct {
		name        string
		headers     []string
		wantErr     error
		wantAlg     checksumAlg
		wantTrailer bool
	}{
		{name: "none"},
		{name: "crc32 header", headers: []string{"X-Amz-Checksum-Crc32", crc}, wantAlg: algCRC32},
		{name: "sha256 header", headers: []string{"X-Amz-Checksum-Sha256", checksumOf(algSHA256, nil)}, wantAlg: algSHA256},
		{name: "crc64nvme trailer", headers: []string{"X-Amz-Trailer", "x-amz-checksum-crc64nvme"}, wantAlg: algCRC64NVME, wantTrailer: true},
		{name: "trailer name in capitals", headers: []string{"X-Amz-Trailer", "X-Amz-Checksum-Sha1"}, wantAlg: algSHA1, wantTrailer: true},
		{name: "sdk algorithm agrees", headers: []string{"X-Amz-Checksum-Crc32", crc, "X-Amz-Sdk-Checksum-Algorithm", "CRC32"}, wantAlg: algCRC32},
		{name: "type and mode headers ignored", headers: []string{"X-Amz-Checksum-Type", "FULL_OBJECT", "X-Amz-Checksum-Mode", "ENABLED"}},
		{name: "value too short", headers: []string{"X-Amz-Checksum-Crc32", "AAAA"}, wantErr: ErrInvalidChecksum},
		{name: "value of the wrong algorithm", headers: []string{"X-Amz-Checksum-Crc32c", checksumOf(algSHA1, nil)}, wantErr: ErrInvalidChecksum},
		{name: "value not canonical base64", headers: []string{"X-Amz-Checksum-Crc32", "AAAAAB=="}, wantErr: ErrInvalidChecksum},
		{name: "value with a line break", headers: []string{"X-Amz-Checksum-Crc32", "AAA\nAA=="}, wantErr: ErrInvalidChecksum},
		{name: "two algorithms", headers: []string{"X-Amz-Checksum-Crc32", crc, "X-Amz-Checksum-Crc32c", crc}, wantErr: ErrInvalidChecksum},
		{name: "header twice", headers: []string{"X-Amz-Checksum-Crc32", crc, "X-Amz-Checksum-Crc32", crc}, wantErr: ErrInvalidChecksum},
		{name: "header and trailer", headers: []string{"X-Amz-Checksum-Crc32", crc, "X-Amz-Trailer", "x-amz-checksum-crc32"}, wantErr: ErrInvalidChecksum},
		{name: "unsupported trailer", headers: []string{"X-Amz-Trailer", "x-amz-meta-foo"}, wantErr: ErrInvalidChecksum},
		{name: "two trailers", headers: []string{"X-Amz-Trailer", "x-amz-checksum-crc32,x-amz-checksum-sha1"}, wantErr: ErrInvalidChecksum},
		{name: "sdk algorithm without checksum", headers: []string{"X-Amz-Sdk-Checksum-Algorithm", "CRC32"}, wantErr: ErrInvalidChecksum},
		{name: "sdk algorithm disagrees", headers: []string{"X-Amz-Checksum-Crc32", crc, "X-Amz-Sdk-Checksum-Algorithm", "SHA1"}, wantErr: ErrInvalidChecksum},
		{name: "sdk algorithm unknown", headers: []string{"X-Amz-Checksum-Crc32", crc, "X-Amz-Sdk-Checksum-Algorithm", "MD5"}, wantErr: ErrInvalidChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for i := 0; i+1 < len(tt.headers); i += 2 {
				h.Add(tt.headers[i], tt.headers[i+1])
			}
			d, err := parseChecksumHeaders(h)
			if !errorIs(t, "parseChecksumHeaders()", err, tt.wantErr) || err != nil {
				return
			}
			if d.alg != tt.wantAlg || d.trailer != tt.wantTrailer {
				t.Errorf("parseChecksumHeaders() = %v trailer %v, want %v trailer %v", d.alg, d.trailer, tt.wantAlg, tt.wantTrailer)
			}
		})
	}
}

func TestParseContentMD5(t *testing.T) {
	tests := []struct {
		name    string
		values  []string
		wantOK  bool
		wantErr error
	}{
		{name: "absent"},
		{name: "valid", values: []string{"1B2M2Y8AsgTpgAmY7PhCfg=="}, wantOK: true},
		{name: "hex instead of base64", values: []string{"d41d8cd98f00b204e9800998ecf8427e"}, wantErr: ErrInvalidDigest},
		{name: "empty", values: []string{""}, wantErr: ErrInvalidDigest},
		{name: "twice", values: []string{"1B2M2Y8AsgTpgAmY7PhCfg==", "1B2M2Y8AsgTpgAmY7PhCfg=="}, wantErr: ErrInvalidDigest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Content-Md5": tt.values}
			_, ok, err := parseContentMD5(h)
			if errorIs(t, "parseContentMD5()", err, tt.wantErr) && ok != tt.wantOK {
				t.Errorf("parseContentMD5() ok = %v, want %v", ok, tt.wantOK)
			}
		})
	}
}

func TestVerifyRejectsBadContentSHA256(t *testing.T) {
	for _, tt := range []struct {
		name    string
		value   string
		wantErr error
	}{
		{"garbage", "not-a-hash", ErrInvalidContentSHA256},
		{"hex of wrong length", hex.EncodeToString(make([]byte, 31)), ErrInvalidContentSHA256},
		{"64 non-hex characters", strings.Repeat("z", 64), ErrInvalidContentSHA256},
		{"sigv4a streaming", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", ErrUnsupportedSignature},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newBody(newTestRequest("PUT", "/k", "h", nil), authRequest{payloadHash: tt.value}, nil, [32]byte{})
			errorIs(t, "newBody()", err, tt.wantErr)
		})
	}
}
