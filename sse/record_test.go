package sse

import (
	"encoding/base64"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var (
	wrapped    = []byte("vault:v3:\x00\x01\x02 opaque kms ciphertext")
	wrappedB64 = base64.StdEncoding.EncodeToString(wrapped)
	context64  = base64.StdEncoding.EncodeToString([]byte(`{"project":"x","team":"y"}`))
)

func TestRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		rec  Record
	}{
		{"sse-s3", Record{Algorithm: AlgorithmAES256, KeyID: "default", WrappedKey: wrapped}},
		{"sse-kms with etag and context", Record{
			Algorithm:  AlgorithmKMS,
			KeyID:      "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
			WrappedKey: wrapped,
			ETag:       "d41d8cd98f00b204e9800998ecf8427e",
			Context:    context64,
		}},
	}
	for _, tt := range tests {
		meta := tt.rec.Metadata()
		for name := range meta {
			if !IsInternal(name) || name != strings.ToLower(name) {
				t.Errorf("%s: Metadata() name %q is not a lowercase internal name", tt.name, name)
			}
		}
		variants := map[string]map[string]string{"bare": meta, "amz": {}, "canonical": {}, "oss": {}}
		for name, value := range meta {
			variants["amz"]["x-amz-meta-"+name] = value
			variants["canonical"][canonical("X-Amz-Meta-"+name)] = value
			variants["oss"]["X-OSS-META-"+strings.ToUpper(name)] = value
		}
		for vname, m := range variants {
			m["Content-Type"] = "text/plain" // other metadata is ignored
			m["x-amz-meta-user"] = "kept"
			got, ok, err := ParseRecord(m)
			if err != nil || !ok {
				t.Fatalf("%s/%s: ParseRecord = %v, %v", tt.name, vname, ok, err)
			}
			if diff := cmp.Diff(tt.rec, got); diff != "" {
				t.Errorf("%s/%s: ParseRecord(Metadata()) mismatch (-want +got):\n%s", tt.name, vname, diff)
			}
		}
	}
}

// canonical mimics textproto.CanonicalMIMEHeaderKey, as backends return names.
func canonical(s string) string {
	parts := strings.Split(strings.ToLower(s), "-")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "-")
}

func TestRecordValidate(t *testing.T) {
	good := Record{Algorithm: AlgorithmAES256, KeyID: "k", WrappedKey: wrapped}
	if err := good.Validate(); err != nil {
		t.Errorf("%+v.Validate() = %v, want nil", good, err)
	}
	tests := []struct {
		name   string
		mutate func(*Record)
	}{
		{"no wrapped key", func(r *Record) { r.WrappedKey = nil }},
		{"no algorithm", func(r *Record) { r.Algorithm = "" }},
		{"key id with space", func(r *Record) { r.KeyID = " k" }},
		{"etag uppercase", func(r *Record) { r.ETag = "D41D8CD98F00B204E9800998ECF8427E" }},
		{"context with sse-s3", func(r *Record) { r.Context = context64 }},
	}
	for _, tt := range tests {
		r := good
		tt.mutate(&r)
		err := r.Validate()
		if !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("%s: Validate() = %v, want ErrInvalidRecord", tt.name, err)
		}
		if _, _, perr := ParseRecord(r.Metadata()); (perr == nil) != (err == nil) {
			t.Errorf("%s: Validate() = %v but ParseRecord(Metadata()) = %v", tt.name, err, perr)
		}
	}
}

func TestParseRecordAbsent(t *testing.T) {
	for _, meta := range []map[string]string{
		nil,
		{},
		{"x-amz-meta-user": "v", "Content-Type": "text/plain"},
		{"x-amz-meta-sseproxy": "no dash"},
		{"x-amz-meta-x-amz-meta-sseproxy-alg": "AES256"}, // one prefix is removed, not two
		{"\u017fseproxy-alg": "AES256"},                  // not an ASCII match; IsInternal refuses it
	} {
		if r, ok, err := ParseRecord(meta); ok || err != nil {
			t.Errorf("ParseRecord(%v) = %+v, %v, %v, want no record", meta, r, ok, err)
		}
	}
}

func TestParseRecordInvalid(t *testing.T) {
	valid := Record{Algorithm: AlgorithmKMS, KeyID: "k", WrappedKey: wrapped, Context: context64}.Metadata()
	with := func(name, value string) map[string]string {
		m := maps.Clone(valid)
		m[name] = value
		return m
	}
	without := func(name string) map[string]string {
		m := maps.Clone(valid)
		delete(m, name)
		return m
	}
	tests := []struct {
		name string
		meta map[string]string
	}{
		{"unknown format version", with(MetaFormat, "2")},
		{"format version with space", with(MetaFormat, "1 ")},
		{"missing format", without(MetaFormat)},
		{"only a stray name", map[string]string{"x-amz-meta-sseproxy-etag": "d41d8cd98f00b204e9800998ecf8427e"}},
		{"unknown name", with("sseproxy-extra", "x")},
		{"duplicate name", with("X-Amz-Meta-Sseproxy-Alg", AlgorithmKMS)},
		{"missing algorithm", without(MetaAlgorithm)},
		{"unknown algorithm", with(MetaAlgorithm, "aws:kms:dsse")},
		{"lowercase algorithm", with(MetaAlgorithm, "aes256")},
		{"missing key id", without(MetaKeyID)},
		{"empty key id", with(MetaKeyID, "")},
		{"key id with newline", with(MetaKeyID, "k\n")},
		{"key id with space", with(MetaKeyID, "my key")},
		{"key id not ascii", with(MetaKeyID, "schl\u00fcssel")},
		{"key id too long", with(MetaKeyID, strings.Repeat("k", maxKeyIDLen+1))},
		{"missing wrapped key", without(MetaWrappedKey)},
		{"empty wrapped key", with(MetaWrappedKey, "")},
		{"wrapped key bad base64", with(MetaWrappedKey, "not base64!")},
		{"wrapped key url base64", with(MetaWrappedKey, "-_-_")},
		{"wrapped key unpadded", with(MetaWrappedKey, "YWJjZA")},
		{"wrapped key with line break", with(MetaWrappedKey, "YWJj\r\nZA==")},
		{"wrapped key only a line break", with(MetaWrappedKey, "\r")},
		{"context with line break", with(MetaContext, context64[:8]+"\n"+context64[8:])},
		{"wrapped key too long", with(MetaWrappedKey, base64.StdEncoding.EncodeToString(make([]byte, maxWrappedKeyLen+1)))},
		{"oversized value", with(MetaWrappedKey, strings.Repeat("A", maxValueLen+4))},
		{"etag uppercase", with(MetaETag, "D41D8CD98F00B204E9800998ECF8427E")},
		{"etag short", with(MetaETag, "d41d8cd9")},
		{"etag multipart style", with(MetaETag, "d41d8cd98f00b204e9800998ecf8427e-2")},
		{"context bad base64", with(MetaContext, "{}")},
		{"context not an object", with(MetaContext, base64.StdEncoding.EncodeToString([]byte(`["a"]`)))},
		{"context null", with(MetaContext, base64.StdEncoding.EncodeToString([]byte(`null`)))},
		{"context non-string value", with(MetaContext, base64.StdEncoding.EncodeToString([]byte(`{"a":1}`)))},
		{"context with sse-s3", with(MetaAlgorithm, AlgorithmAES256)},
	}
	for _, tt := range tests {
		r, ok, err := ParseRecord(tt.meta)
		if !errors.Is(err, ErrInvalidRecord) || ok {
			t.Errorf("%s: ParseRecord = %+v, %v, %v, want ErrInvalidRecord", tt.name, r, ok, err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "sse: ") {
			t.Errorf("%s: error %q lacks the sse: prefix", tt.name, err)
		}
	}
}

func TestIsInternal(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"sseproxy-alg", true},
		{"sseproxy-", true},
		{"SSEPROXY-KEY-ID", true},
		{"x-amz-meta-sseproxy-wrapped-key", true},
		{"X-Amz-Meta-Sseproxy-Format", true},
		{"x-oss-meta-sseproxy-etag", true},
		{"X-OSS-META-SSEPROXY-CONTEXT", true},
		{"sseproxy-anything-new", true},
		{"\u017fseproxy-alg", true},            // U+017F folds to 's'
		{"x-amz-meta-\u017fseproxy-alg", true}, // likewise behind a prefix
		{"sseproxy", false},
		{"x-amz-meta-user", false},
		{"x-amz-meta-my-sseproxy-alg", false},
		{"x-amz-meta-x-amz-meta-sseproxy-alg", false},
		{"x-amz-server-side-encryption", false},
		{"", false},
		{"\xff", false},
	}
	for _, tt := range tests {
		if got := IsInternal(tt.name); got != tt.want {
			t.Errorf("IsInternal(%q) = %t, want %t", tt.name, got, tt.want)
		}
	}
}

func FuzzParseRecord(f *testing.F) {
	f.Add("x-amz-meta-sseproxy-format=1\nsseproxy-alg=AES256\nsseproxy-key-id=k\nsseproxy-wrapped-key=" + wrappedB64)
	f.Add("X-Amz-Meta-Sseproxy-Format=1\nX-Amz-Meta-Sseproxy-Alg=aws:kms\nX-Amz-Meta-Sseproxy-Key-Id=k\n" +
		"X-Amz-Meta-Sseproxy-Wrapped-Key=" + wrappedB64 + "\nX-Amz-Meta-Sseproxy-Context=" + context64 +
		"\nX-Amz-Meta-Sseproxy-Etag=d41d8cd98f00b204e9800998ecf8427e")
	f.Add("sseproxy-format=2")
	f.Add("x-amz-meta-user=1\ncontent-type=text/plain")
	f.Fuzz(func(t *testing.T, lines string) {
		meta := map[string]string{}
		for _, line := range strings.Split(lines, "\n") {
			name, value, _ := strings.Cut(line, "=")
			meta[name] = value
		}
		r, ok, err := ParseRecord(meta)
		for name := range meta {
			if _, ours := internalName(name); ours && !IsInternal(name) {
				t.Fatalf("ParseRecord reads %q but IsInternal does not refuse it", name)
			}
		}
		switch {
		case err != nil:
			if ok || !errors.Is(err, ErrInvalidRecord) {
				t.Fatalf("ParseRecord = %v, %v, want ok false and ErrInvalidRecord", ok, err)
			}
		case ok:
			again, ok2, err2 := ParseRecord(r.Metadata())
			if err2 != nil || !ok2 || !cmp.Equal(r, again) || r.Validate() != nil {
				t.Fatalf("ParseRecord(%+v.Metadata()) = %+v, %v, %v", r, again, ok2, err2)
			}
		default:
			for name := range meta {
				if _, ours := internalName(name); ours {
					t.Fatalf("ParseRecord ignored internal name %q", name)
				}
			}
		}
	})
}
