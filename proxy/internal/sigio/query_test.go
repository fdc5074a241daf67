package sigio

import (
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseQuery(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want []Param
	}{
		{"empty", "", nil},
		{"one pair", "a=1", []Param{{"a", "1"}}},
		{"valueless", "uploads", []Param{{"uploads", ""}}},
		{"valueless with equals", "uploads=", []Param{{"uploads", ""}}},
		{"order kept", "prefix=J&max-keys=2", []Param{{"prefix", "J"}, {"max-keys", "2"}}},
		{"repeated names kept", "a=2&a=1", []Param{{"a", "2"}, {"a", "1"}}},
		{"second equals is value", "a=b=c", []Param{{"a", "b=c"}}},
		{"empty name", "=v", []Param{{"", "v"}}},
		{"plus is a space", "prefix=a+b", []Param{{"prefix", "a b"}}},
		{"encoded plus stays plus", "prefix=a%2Bb", []Param{{"prefix", "a+b"}}},
		{"name decoded", "a%20b=1", []Param{{"a b", "1"}}},
		{"lowercase escape", "k=%c3%a9", []Param{{"k", "é"}}},
		{"unicode", "prefix=%C3%A9t%C3%A9", []Param{{"prefix", "été"}}},
		{"bad escape kept raw", "prefix=a+%zz", []Param{{"prefix", "a+%zz"}}},
		{"truncated escape kept raw", "prefix=%4", []Param{{"prefix", "%4"}}},
		{"escape at end", "prefix=%41", []Param{{"prefix", "A"}}},
		{"bad escape in name only", "%=%41", []Param{{"%", "A"}}},
		{"empty segments dropped", "a=1&&b=2&", []Param{{"a", "1"}, {"b", "2"}}},
		{"only separators", "&&&", []Param{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ParseQuery(tt.raw)); diff != "" {
				t.Errorf("ParseQuery(%q) mismatch (-want +got):\n%s", tt.raw, diff)
			}
		})
	}
}

func TestURIEncode(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		keepSlash bool
		want      string
	}{
		{"empty", "", false, ""},
		{"unreserved kept", "AZaz09-._~", false, "AZaz09-._~"},
		{"space", "a b", false, "a%20b"},
		{"plus", "a+b", false, "a%2Bb"},
		{"percent", "100%", false, "100%25"},
		{"slash encoded", "photos/2024", false, "photos%2F2024"},
		{"slash kept", "/photos/2024", true, "/photos/2024"},
		{"sub-delims", "!$&'()*,;:@=", true, "%21%24%26%27%28%29%2A%2C%3B%3A%40%3D"},
		{"uppercase hex", "é", false, "%C3%A9"},
		{"control and high bytes", "\x00\x7f\xff", false, "%00%7F%FF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			URIEncode(&b, tt.in, tt.keepSlash)
			if got := b.String(); got != tt.want {
				t.Errorf("URIEncode(%q, %v) = %q, want %q", tt.in, tt.keepSlash, got, tt.want)
			}
		})
	}
}

// Every byte value: IsHex and Unhex agree with strconv.
func TestHexDigits(t *testing.T) {
	for i := range 256 {
		c := byte(i)
		v, err := strconv.ParseUint(string([]byte{c}), 16, 8)
		if got, want := IsHex(c), err == nil; got != want {
			t.Errorf("IsHex(%q) = %v, want %v", c, got, want)
		}
		if err == nil && Unhex(c) != byte(v) {
			t.Errorf("Unhex(%q) = %d, want %d", c, Unhex(c), v)
		}
	}
}

// FuzzParseQuery checks ParseQuery against net/url's decoding, and that
// URIEncode's output is canonical and decodes back to its input.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"", "a=1&b=2", "uploads", "prefix=a+b&x=%2B", "k=%zz", "k=%4", "%=%", "&&=&",
		"X-Amz-Signature=abc&X-Amz-Date=20130524T000000Z&X-Amz-Credential=AKIA%2F20130524%2Fus-east-1%2Fs3%2Faws4_request",
		"OSSAccessKeyId=44CF9590006BF252F707&Expires=1141889120&Signature=EwaNTn1erJGkimiJ9WmXgwnANLc%3D",
		"k=%C3%A9%c3%a9%FF%00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		params := ParseQuery(raw)
		segments := 0
		for part := range strings.SplitSeq(raw, "&") {
			if part == "" {
				continue
			}
			k, v, _ := strings.Cut(part, "=")
			p := params[segments]
			for _, c := range []struct{ in, got string }{{k, p.Key}, {v, p.Value}} {
				want, err := url.QueryUnescape(c.in)
				if err != nil {
					want = c.in // a bad escape keeps the component raw
				}
				if c.got != want {
					t.Fatalf("ParseQuery(%q) decoded %q as %q, want %q", raw, c.in, c.got, want)
				}
			}
			segments++
		}
		if len(params) != segments {
			t.Fatalf("ParseQuery(%q) = %d params, want %d", raw, len(params), segments)
		}
		for _, p := range params {
			for _, s := range []string{p.Key, p.Value} {
				for _, keepSlash := range []bool{false, true} {
					var b strings.Builder
					URIEncode(&b, s, keepSlash)
					enc := b.String()
					for i := 0; i < len(enc); i++ {
						c := enc[i]
						switch {
						case c == '%':
							if i+2 >= len(enc) || !isUpperHex(enc[i+1]) || !isUpperHex(enc[i+2]) {
								t.Fatalf("URIEncode(%q) = %q: bad escape at %d", s, enc, i)
							}
							i += 2
						case c == '/' && !keepSlash, !isUnreserved(c) && c != '/':
							t.Fatalf("URIEncode(%q, %v) = %q: %q left raw", s, keepSlash, enc, c)
						}
					}
					if got := UnescapeQuery(enc); got != s {
						t.Fatalf("UnescapeQuery(URIEncode(%q)) = %q", s, got)
					}
				}
			}
		}
	})
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
