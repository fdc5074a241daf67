package sigio

import "strings"

// Param is one decoded name=value pair of a query string.
type Param struct {
	Key, Value string
}

// ParseQuery splits a raw query on '&' and decodes each side with
// UnescapeQuery, the way S3 and OSS do ('+' is a space). Empty segments
// are dropped; a segment without '=' has an empty Value. A component with
// a bad escape is kept raw, so it re-encodes differently from anything a
// client could have signed and the signature fails instead of the request
// being reinterpreted. The number of parameters is bounded by the raw
// query, which the HTTP server bounds.
func ParseQuery(raw string) []Param {
	if raw == "" {
		return nil
	}
	params := make([]Param, 0, strings.Count(raw, "&")+1)
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		params = append(params, Param{Key: UnescapeQuery(k), Value: UnescapeQuery(v)})
	}
	return params
}

// UnescapeQuery decodes one query component: '+' is a space and "%XX" (in
// either case) the byte XX. A component with any bad escape ('%' not
// followed by two hex digits) is returned whole and unchanged.
func UnescapeQuery(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b.WriteByte(' ')
		case '%':
			if i+2 >= len(s) || !IsHex(s[i+1]) || !IsHex(s[i+2]) {
				return s
			}
			b.WriteByte(Unhex(s[i+1])<<4 | Unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// IsHex reports whether c is a hex digit, in either case.
func IsHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// Unhex is the value of the hex digit c; c must satisfy IsHex.
func Unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// URIEncode writes s to b with every byte percent-encoded except the RFC
// 3986 unreserved characters (A-Z a-z 0-9 - . _ ~), with uppercase hex,
// as AWS SigV4 requires and both OSS SDKs do for V4. '/' is kept when
// keepSlash is set (paths) and encoded otherwise.
func URIEncode(b *strings.Builder, s string, keepSlash bool) {
	const upperHex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || (c == '/' && keepSlash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
	}
}
