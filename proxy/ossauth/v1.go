package ossauth

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sseproxy/sseproxy/proxy/internal/sigio"
)

// Wire constants of OSS signature version 1.
const (
	v1Scheme = "OSS "

	queryAccessKeyID = "OSSAccessKeyId"
	queryExpires     = "Expires"
	querySignature   = "Signature"

	// maxAuthorizationLen bounds the Authorization header and every
	// presigned query parameter before any parsing. Real values are a few
	// hundred bytes.
	maxAuthorizationLen = 16 << 10
)

// v1SubResources are the query parameters that V1 signs into the
// CanonicalizedResource: aliyun-oss-go-sdk's signKeyList (oss/conn.go,
// v3.0.2) exactly, plus the per-operation sub-resources that
// alibabacloud-oss-go-sdk-v2 (v1.6.1) signs and the older SDK never sends.
// The v2 SDK's requiredSignedParametersMap (oss/signer/v1.go) is a subset
// of signKeyList. Besides these, every parameter whose name starts with
// "x-oss-" is signed, as the v2 SDK does.
//
// The SDKs disagree on one name: "regions" (DescribeRegions), which the v2
// SDK signs and the v1 SDK sends unsigned. It is left out, so that request
// verifies from the v1 SDK only; the proxy does not serve it anyway.
var v1SubResources = map[string]struct{}{}

func init() {
	for _, k := range []string{
		// aliyun-oss-go-sdk v3.0.2, signKeyList, in its order.
		"acl", "uploads", "location", "cors",
		"logging", "website", "referer", "lifecycle",
		"delete", "append", "tagging", "objectMeta",
		"uploadId", "partNumber", "security-token",
		"position", "img", "style", "styleName",
		"replication", "replicationProgress",
		"replicationLocation", "cname", "bucketInfo",
		"comp", "qos", "live", "status", "vod",
		"startTime", "endTime", "symlink",
		"x-oss-process", "response-content-type", "x-oss-traffic-limit",
		"response-content-language", "response-expires",
		"response-cache-control", "response-content-disposition",
		"response-content-encoding", "udf", "udfName", "udfImage",
		"udfId", "udfImageDesc", "udfApplication",
		"udfApplicationLog", "restore", "callback", "callback-var", "qosInfo",
		"policy", "stat", "encryption", "versions", "versioning", "versionId", "requestPayment",
		"x-oss-request-payer", "sequential",
		"inventory", "inventoryId", "continuation-token", "asyncFetch",
		"worm", "wormId", "wormExtend", "withHashContext",
		"x-oss-enable-md5", "x-oss-enable-sha1", "x-oss-enable-sha256",
		"x-oss-hash-ctx", "x-oss-md5-ctx", "transferAcceleration",
		"regionList", "cloudboxes", "x-oss-ac-source-ip", "x-oss-ac-subnet-mask", "x-oss-ac-vpc-id", "x-oss-ac-forward-allow",
		"metaQuery", "resourceGroup", "rtc", "x-oss-async-process", "responseHeader",
		// alibabacloud-oss-go-sdk-v2 v1.6.1, operation sub-resources
		// (OpMetadata signer.SubResource) not listed above.
		"DeleteVectorIndex", "GetVectorIndex", "ListVectorIndexes", "PutVectorIndex",
		"accessPoint", "accessPointConfigForObjectProcess", "accessPointForObjectProcess",
		"accessPointPolicy", "accessPointPolicyForObjectProcess", "agenticBucket",
		"bucketArchiveDirectRead", "cleanRestoredObject", "httpsConfig", "legalHold",
		"metadataConfiguration", "metadataInventoryTable", "metadataJournalTable",
		"objectWorm", "overwriteConfig", "policyStatus", "publicAccessBlock", "quota",
		"redundancyTransition", "retention", "seal", "userDefinedLogFieldsConfig",
	} {
		v1SubResources[k] = struct{}{}
	}
}

// isV1SubResource reports whether V1 signs the query parameter k.
func isV1SubResource(k string) bool {
	if _, ok := v1SubResources[k]; ok {
		return true
	}
	return strings.HasPrefix(k, "x-oss-")
}

// v1Header is a parsed "OSS AccessKeyId:Signature" header.
type v1Header struct {
	accessKey string
	signature [sha1.Size]byte
}

// parseV1Authorization parses "OSS AccessKeyId:Signature". The access key
// is everything before the last ':' (a base64 signature has none).
// Errors wrap ErrInvalidArgument.
func parseV1Authorization(h string) (v1Header, error) {
	var a v1Header
	if len(h) > maxAuthorizationLen {
		return a, fmt.Errorf("%w: authorization header is %d bytes", ErrInvalidArgument, len(h))
	}
	rest, ok := strings.CutPrefix(h, v1Scheme)
	if !ok {
		return a, fmt.Errorf("%w: authorization header is not %q", ErrInvalidArgument, "OSS ak:signature")
	}
	i := strings.LastIndexByte(rest, ':')
	if i <= 0 {
		return a, fmt.Errorf("%w: authorization header has no access key", ErrInvalidArgument)
	}
	a.accessKey = rest[:i]
	if strings.ContainsAny(a.accessKey, " \t") {
		return a, fmt.Errorf("%w: access key %.64q contains a blank", ErrInvalidArgument, a.accessKey)
	}
	sig, err := parseV1Signature(rest[i+1:])
	if err != nil {
		return a, fmt.Errorf("%w: %v", ErrInvalidArgument, err)
	}
	a.signature = sig
	return a, nil
}

// parseV1Signature decodes a base64 HMAC-SHA1. A space stands for '+', which
// a presigned URL pasted unencoded loses to form decoding; base64 has no
// spaces of its own, so this cannot make two signatures equal.
func parseV1Signature(v string) ([sha1.Size]byte, error) {
	var sig [sha1.Size]byte
	if len(v) != base64.StdEncoding.EncodedLen(sha1.Size) {
		return sig, fmt.Errorf("signature is %d characters, want %d", len(v), base64.StdEncoding.EncodedLen(sha1.Size))
	}
	v = strings.ReplaceAll(v, " ", "+")
	// 28 characters without padding decode to 21 bytes: decode into room
	// for that and insist on 20.
	var buf [sha1.Size + 1]byte
	n, err := base64.StdEncoding.Strict().Decode(buf[:], []byte(v))
	if err != nil || n != sha1.Size {
		return sig, fmt.Errorf("signature is not the base64 of %d bytes", sha1.Size)
	}
	copy(sig[:], buf[:n])
	return sig, nil
}

// v1Query is a parsed V1 presigned query.
type v1Query struct {
	v1Header
	expires   string    // as sent: the string to sign's date line
	expiresAt time.Time // Expires parsed
}

// parseV1Query extracts OSSAccessKeyId, Expires and Signature, each exactly
// once. Expires is a Unix time in seconds. Errors wrap ErrInvalidArgument.
func parseV1Query(params []sigio.Param) (v1Query, error) {
	var q v1Query
	var have [3]bool
	for _, p := range params {
		var i int
		switch p.Key {
		case queryAccessKeyID:
			i = 0
		case queryExpires:
			i = 1
		case querySignature:
			i = 2
		default:
			continue
		}
		if have[i] {
			return q, fmt.Errorf("%w: %s given more than once", ErrInvalidArgument, p.Key)
		}
		if len(p.Value) > maxAuthorizationLen {
			return q, fmt.Errorf("%w: %s too long", ErrInvalidArgument, p.Key)
		}
		have[i] = true
		switch i {
		case 0:
			q.accessKey = p.Value
		case 1:
			q.expires = p.Value
		case 2:
			sig, err := parseV1Signature(p.Value)
			if err != nil {
				return q, fmt.Errorf("%w: %v", ErrInvalidArgument, err)
			}
			q.signature = sig
		}
	}
	for i, name := range []string{queryAccessKeyID, queryExpires, querySignature} {
		if !have[i] {
			return q, fmt.Errorf("%w: missing %s", ErrInvalidArgument, name)
		}
	}
	if q.accessKey == "" {
		return q, fmt.Errorf("%w: empty %s", ErrInvalidArgument, queryAccessKeyID)
	}
	n, err := strconv.ParseInt(q.expires, 10, 64)
	if err != nil || n < 0 || !isDigits(q.expires) {
		return q, fmt.Errorf("%w: Expires %.32q is not a Unix time", ErrInvalidArgument, q.expires)
	}
	q.expiresAt = time.Unix(n, 0)
	return q, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// v1Resource builds the CanonicalizedResource: "/", "/bucket/" or
// "/bucket/key" (the key decoded, as sent by neither SDK encoded), then
// "?" and the signed sub-resources sorted by name, "name" or "name=value"
// with the value decoded. A signed sub-resource given twice is refused: the
// signature would cover one value while the backend might act on another.
func v1Resource(bucket, key string, params []sigio.Param) (string, error) {
	var b strings.Builder
	b.WriteByte('/')
	if bucket != "" {
		b.WriteString(bucket)
		b.WriteByte('/')
		b.WriteString(key)
	}
	var signed []sigio.Param
	seen := make(map[string]struct{})
	for _, p := range params {
		if !isV1SubResource(p.Key) {
			continue
		}
		if _, dup := seen[p.Key]; dup {
			return "", fmt.Errorf("%w: sub-resource %.64q given more than once", ErrInvalidArgument, p.Key)
		}
		seen[p.Key] = struct{}{}
		signed = append(signed, p)
	}
	if len(signed) > 0 {
		b.WriteByte('?')
		writeSorted(&b, signed)
	}
	return b.String(), nil
}

// v1StringToSign builds
//
//	VERB \n Content-MD5 \n Content-Type \n Date \n CanonicalizedOSSHeaders CanonicalizedResource
//
// where date is the Date header (or, presigned, Expires) as sent and
// CanonicalizedOSSHeaders is every x-oss-* header, lowercased and sorted,
// as "name:value\n".
func v1StringToSign(r *http.Request, date, resource string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(r.Header.Get("Content-Md5"))
	b.WriteByte('\n')
	b.WriteString(r.Header.Get("Content-Type"))
	b.WriteByte('\n')
	b.WriteString(date)
	b.WriteByte('\n')
	lines := canonicalHeaders(r, isOSSHeader)
	sortHeaderLines(lines)
	for _, l := range lines {
		b.WriteString(l.name)
		b.WriteByte(':')
		b.WriteString(l.value)
		b.WriteByte('\n')
	}
	b.WriteString(resource)
	return b.String()
}

// v1Signature returns HMAC-SHA1(secret, stringToSign).
func v1Signature(secret, stringToSign string) []byte {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(stringToSign))
	return m.Sum(nil)
}
