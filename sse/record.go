package sse

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Record is the sseproxy metadata stored with an encrypted object, as backend user metadata.
// It holds no secret: the data key is only stored wrapped by the KMS, bound to the object's
// name by AssociatedData.
type Record struct {
	// Algorithm is the S3 server-side encryption algorithm the client asked for:
	// AlgorithmAES256 (SSE-S3) or AlgorithmKMS (SSE-KMS).
	Algorithm string
	// KeyID names the CMK that wrapped the data key.
	KeyID string
	// WrappedKey is the KMS ciphertext of the data key. It is opaque here; it carries the CMK
	// version itself, so rotating the CMK never re-encrypts objects.
	WrappedKey []byte
	// ETag is the lowercase hex MD5 of the plaintext when it was known at write time, else "".
	ETag string
	// Context is the base64 JSON encryption context of an aws:kms object, else "".
	Context string
	// Multipart is set for objects written by a multipart upload: each part
	// is its own stream under PartKey (see Layout).
	Multipart bool
}

// Algorithms a Record may carry, spelt as in the x-amz-server-side-encryption header.
const (
	// AlgorithmAES256 is SSE-S3: the proxy's default CMK wraps the data key.
	AlgorithmAES256 = "AES256"
	// AlgorithmKMS is SSE-KMS: a CMK the client names wraps the data key.
	AlgorithmKMS = "aws:kms"
)

// Metadata names of a record, lowercase and without the backend's user-metadata prefix: the
// backend stores MetaAlgorithm as "x-amz-meta-sseproxy-alg". FORMAT.md lists them with their
// value encodings.
const (
	// MetaPrefix starts every sseproxy-internal metadata name (see IsInternal).
	MetaPrefix = "sseproxy-"
	// MetaFormat holds the format version in decimal: "1".
	MetaFormat = MetaPrefix + "format"
	// MetaAlgorithm holds Record.Algorithm.
	MetaAlgorithm = MetaPrefix + "alg"
	// MetaKeyID holds Record.KeyID.
	MetaKeyID = MetaPrefix + "key-id"
	// MetaWrappedKey holds Record.WrappedKey in standard padded base64.
	MetaWrappedKey = MetaPrefix + "wrapped-key"
	// MetaETag holds Record.ETag; absent when empty.
	MetaETag = MetaPrefix + "etag"
	// MetaContext holds Record.Context; absent when empty.
	MetaContext = MetaPrefix + "context"
	// MetaMultipart is "1" for Record.Multipart; absent otherwise.
	MetaMultipart = MetaPrefix + "multipart"
)

// Bounds on record values, checked before any decoding. S3 allows 2 KiB of user metadata in
// all, so real records are far smaller.
const (
	maxValueLen      = 2048 // any raw value
	maxKeyIDLen      = 512  // printable ASCII
	maxWrappedKeyLen = 1024 // decoded bytes
)

// ErrInvalidRecord is wrapped by ParseRecord's error for sseproxy metadata that is present but
// malformed, incomplete or of an unknown format version. The object cannot be decrypted.
var ErrInvalidRecord = errors.New("sse: invalid metadata record")

// Metadata returns r as backend user metadata: names without the "x-amz-meta-" prefix, values
// ready to send as HTTP header values. Empty optional fields are left out. Metadata does not
// check r; see Validate.
func (r Record) Metadata() map[string]string {
	m := map[string]string{
		MetaFormat:     strconv.Itoa(formatVersion),
		MetaAlgorithm:  r.Algorithm,
		MetaKeyID:      r.KeyID,
		MetaWrappedKey: base64.StdEncoding.EncodeToString(r.WrappedKey),
	}
	if r.ETag != "" {
		m[MetaETag] = r.ETag
	}
	if r.Context != "" {
		m[MetaContext] = r.Context
	}
	if r.Multipart {
		m[MetaMultipart] = "1"
	}
	return m
}

// ParseRecord reads the record of an object from its backend user metadata. Names match
// ASCII-case-insensitively, with or without an "x-amz-meta-" or "x-oss-meta-" prefix, so both
// "sseproxy-alg" and "X-Amz-Meta-Sseproxy-Alg" are MetaAlgorithm; other names are ignored.
//
// ok is false, with a nil error, when meta holds no sseproxy metadata at all: the object was
// written without the proxy and is plaintext. sseproxy metadata that is malformed (a name
// given twice, an unknown name, an unknown format version, a missing or oversized field, bad
// base64) yields an error wrapping ErrInvalidRecord.
func ParseRecord(meta map[string]string) (r Record, ok bool, err error) {
	fields := make(map[string]string, 6)
	for name, value := range meta {
		name, ours := internalName(name)
		if !ours {
			continue
		}
		if _, dup := fields[name]; dup {
			return Record{}, false, invalid(name, "given more than once")
		}
		if len(value) > maxValueLen {
			return Record{}, false, invalid(name, "too long")
		}
		fields[name] = value
	}
	if len(fields) == 0 {
		return Record{}, false, nil
	}
	if v, present := fields[MetaFormat]; !present {
		return Record{}, false, invalid(MetaFormat, "missing")
	} else if v != strconv.Itoa(formatVersion) {
		return Record{}, false, invalid(MetaFormat, "unsupported version")
	}
	for name := range fields {
		switch name {
		case MetaFormat, MetaAlgorithm, MetaKeyID, MetaWrappedKey, MetaETag, MetaContext:
		case MetaMultipart:
			if fields[name] != "1" {
				return Record{}, false, invalid(name, "not 1")
			}
		default:
			return Record{}, false, invalid(name, "unknown name")
		}
	}
	r = Record{
		Algorithm: fields[MetaAlgorithm],
		KeyID:     fields[MetaKeyID],
		ETag:      fields[MetaETag],
		Context:   fields[MetaContext],
		Multipart: fields[MetaMultipart] == "1",
	}
	if err := r.check(fields[MetaWrappedKey]); err != nil {
		return Record{}, false, err
	}
	r.WrappedKey, _ = decodeBase64(fields[MetaWrappedKey])
	return r, true, nil
}

// Validate reports whether ParseRecord accepts r.Metadata(); the error wraps ErrInvalidRecord.
// The proxy calls it before it stores an object, so that it never writes an object it cannot
// read back (an empty wrapped key, a key ID with a space, a malformed ETag).
func (r Record) Validate() error {
	return r.check(base64.StdEncoding.EncodeToString(r.WrappedKey))
}

// check validates the fields of a record parsed from hostile metadata, and wrapped, the
// base64 of its wrapped key.
func (r Record) check(wrapped string) error {
	switch r.Algorithm {
	case AlgorithmAES256, AlgorithmKMS:
	case "":
		return invalid(MetaAlgorithm, "missing")
	default:
		return invalid(MetaAlgorithm, "unknown algorithm")
	}
	if r.KeyID == "" || len(r.KeyID) > maxKeyIDLen || !printable(r.KeyID) {
		return invalid(MetaKeyID, "missing, too long or not printable ASCII without spaces")
	}
	if wrapped == "" || base64.StdEncoding.DecodedLen(len(wrapped)) > maxWrappedKeyLen {
		return invalid(MetaWrappedKey, "missing or too long")
	}
	if key, ok := decodeBase64(wrapped); !ok || len(key) == 0 {
		return invalid(MetaWrappedKey, "not standard base64")
	}
	if r.ETag != "" && !md5Hex(r.ETag) {
		return invalid(MetaETag, "not 32 lowercase hex digits")
	}
	if r.Context != "" {
		if r.Algorithm != AlgorithmKMS {
			return invalid(MetaContext, "only valid with "+AlgorithmKMS)
		}
		js, ok := decodeBase64(r.Context)
		var ctx map[string]string
		if !ok || json.Unmarshal(js, &ctx) != nil || ctx == nil {
			return invalid(MetaContext, "not base64 of a JSON object of strings")
		}
	}
	return nil
}

// decodeBase64 decodes canonical standard base64: padded, and without the line breaks that
// the decoder would otherwise skip, so that every value has one encoding.
func decodeBase64(s string) ([]byte, bool) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	return b, err == nil && base64.StdEncoding.EncodeToString(b) == s
}

func invalid(name, why string) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidRecord, name, why)
}

// IsInternal reports whether the user-metadata name, with or without an "x-amz-meta-" or
// "x-oss-meta-" prefix and in any case, is sseproxy-internal. The proxy hides internal
// metadata from clients and refuses requests that set it.
//
// IsInternal folds case with Unicode simple folding, a superset of the ASCII folding
// ParseRecord uses: a client can never set a name that some backend's case mapping could turn
// into one ParseRecord reads (such as "ſseproxy-alg", whose U+017F upper-cases to "S").
func IsInternal(name string) bool {
	for _, prefix := range userMetaPrefixes {
		if rest, ok := cutPrefixFold(name, prefix); ok {
			name = rest
			break
		}
	}
	_, ok := cutPrefixFold(name, MetaPrefix)
	return ok
}

// userMetaPrefixes are the prefixes under which backends return user metadata.
var userMetaPrefixes = []string{"x-amz-meta-", "x-oss-meta-"}

// internalName returns name lowercased and without its user-metadata prefix, and whether it
// names sseproxy metadata; matching is ASCII-case-insensitive.
func internalName(name string) (string, bool) {
	name = asciiLower(name)
	for _, prefix := range userMetaPrefixes {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			name = rest
			break
		}
	}
	return name, strings.HasPrefix(name, MetaPrefix)
}

// cutPrefixFold is strings.CutPrefix under Unicode simple case folding. It compares rune by
// rune because a rune and its folded form may differ in UTF-8 length.
func cutPrefixFold(s, prefix string) (string, bool) {
	for _, want := range prefix {
		r, size := utf8.DecodeRuneInString(s)
		if size == 0 || !strings.EqualFold(string(r), string(want)) {
			return s, false
		}
		s = s[size:]
	}
	return s, true
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// printable reports whether s is printable ASCII without spaces, which survives any backend's
// header handling unchanged (backends trim spaces around header values).
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func md5Hex(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// AssociatedData returns the associated data that binds r's wrapped key to
// bucket/object: AssociatedData, extended by the encryption context for
// SSE-KMS objects that have one (AssociatedDataWithContext).
func (r Record) AssociatedData(bucket, object string) ([]byte, error) {
	if r.Context == "" {
		return AssociatedData(bucket, object), nil
	}
	ctx, err := DecodeContext(r.Context)
	if err != nil {
		return nil, err
	}
	return AssociatedDataWithContext(bucket, object, ctx), nil
}

// DecodeContext parses an encryption context as S3 sends it in
// x-amz-server-side-encryption-context: base64 of a JSON object of strings.
func DecodeContext(v string) (map[string]string, error) {
	js, ok := decodeBase64(v)
	var ctx map[string]string
	if !ok || json.Unmarshal(js, &ctx) != nil || ctx == nil {
		return nil, invalid(MetaContext, "not base64 of a JSON object of strings")
	}
	return ctx, nil
}
