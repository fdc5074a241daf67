package vault

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sseproxy/sseproxy/keys/vault/vaulttest"
)

// sealed60 and sealed72 are base64 payloads of the two sealed sizes.
var (
	sealed60 = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xa5}, sealedSize12))
	sealed72 = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x5a}, sealedSize24))
)

func TestParseCiphertext(t *testing.T) {
	// A payload whose last character carries padding bits: 61 bytes encode with "=" and two
	// spare bits, set here so that the non-strict decoder would still accept it.
	spare := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 61))
	spare = spare[:len(spare)-2] + "B="
	for _, tc := range []struct {
		name        string
		ct          string
		wantVersion int
		wantOK      bool
	}{
		{"v1", "vault:v1:" + sealed60, 1, true},
		{"v2-xchacha", "vault:v2:" + sealed72, 2, true},
		{"v123456789", "vault:v123456789:" + sealed60, 123456789, true},
		{"empty", "", 0, false},
		{"no-prefix", sealed60, 0, false},
		{"other-prefix", "vault:x1:" + sealed60, 0, false},
		{"version-0", "vault:v0:" + sealed60, 0, false},
		{"version-leading-0", "vault:v01:" + sealed60, 0, false},
		{"version-plus", "vault:v+1:" + sealed60, 0, false},
		{"version-minus", "vault:v-1:" + sealed60, 0, false},
		{"version-empty", "vault:v:" + sealed60, 0, false},
		{"version-10-digits", "vault:v1234567890:" + sealed60, 0, false},
		{"no-second-colon", "vault:v1" + sealed60, 0, false},
		{"line-break", "vault:v1:" + sealed60[:40] + "\n" + sealed60[40:], 0, false},
		{"carriage-return", "vault:v1:" + sealed60[:40] + "\r" + sealed60[40:], 0, false},
		{"space", "vault:v1: " + sealed60, 0, false},
		{"url-alphabet", "vault:v1:" + strings.ReplaceAll(strings.ReplaceAll(sealed60, "+", "-"), "/", "_") + "-", 0, false},
		{"spare-bits", "vault:v1:" + spare, 0, false},
		{"short", "vault:v1:" + sealed60[:76], 0, false},
		{"long", "vault:v1:" + sealed60 + "AAAA", 0, false},
		{"too-long", "vault:v1:" + strings.Repeat("A", maxCiphertextLen), 0, false},
		{"trailing-colon", "vault:v1:" + sealed60 + ":", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := parseCiphertext([]byte(tc.ct))
			if v != tc.wantVersion || ok != tc.wantOK {
				t.Errorf("parseCiphertext(%q) = %d, %v, want %d, %v", tc.ct, v, ok, tc.wantVersion, tc.wantOK)
			}
		})
	}
}

// FuzzParseCiphertext checks that parseCiphertext accepts only the canonical form: what it
// accepts re-encodes to exactly the input.
func FuzzParseCiphertext(f *testing.F) {
	f.Add([]byte("vault:v1:" + sealed60))
	f.Add([]byte("vault:v0:" + sealed72))
	f.Add([]byte("vault:v1:\n"))
	f.Fuzz(func(t *testing.T, ct []byte) {
		v, ok := parseCiphertext(ct)
		if !ok {
			return
		}
		rest := bytes.TrimPrefix(ct, []byte(ciphertextPrefix))
		digits, payload, _ := bytes.Cut(rest, []byte(":"))
		raw, err := base64.StdEncoding.DecodeString(string(payload))
		if err != nil || v < 1 || string(digits) != strconv.Itoa(v) || base64.StdEncoding.EncodeToString(raw) != string(payload) {
			t.Errorf("parseCiphertext(%q) = %d, true for a non-canonical ciphertext", ct, v)
		}
	})
}

func TestJSONBody(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fields []field
		want   string
	}{
		{"none", nil, `{}`},
		{"empty-left-out", []field{{"plaintext", []byte{1, 2, 3}, true}, {"associated_data", nil, true}}, `{"plaintext":"AQID"}`},
		{"raw-and-b64", []field{{"ciphertext", []byte("vault:v1:AAAA"), false}, {"associated_data", []byte("b/o"), true}}, `{"ciphertext":"vault:v1:AAAA","associated_data":"Yi9v"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := jsonBody(tc.fields...)
			if string(got) != tc.want || len(got) != cap(got) {
				t.Errorf("jsonBody = %s (len %d, cap %d), want %s with len == cap", got, len(got), cap(got), tc.want)
			}
			if !json.Valid(got) {
				t.Errorf("jsonBody = %s, not valid JSON", got)
			}
		})
	}
}

func TestSecretString(t *testing.T) {
	for _, tc := range []struct {
		in     string
		want   string
		wantOK bool
	}{
		{`{"p":"AQID"}`, "AQID", true},
		{`{"p":""}`, "", true},
		{`{"p":"A\u0041"}`, "", false},
		{`{"p":null}`, "", false},
		{`{"p":12}`, "", false},
	} {
		var out struct {
			P secretString `json:"p"`
		}
		err := json.Unmarshal([]byte(tc.in), &out)
		if (err == nil) != tc.wantOK || string(out.P) != tc.want {
			t.Errorf("Unmarshal(%s) = %q, %v, want %q, ok %v", tc.in, out.P, err, tc.want, tc.wantOK)
		}
	}
}

// TestAppRoleRefreshBeforeExpiry checks that the client logs in again once 90% of the token's
// TTL has passed, before Vault refuses the token.
func TestAppRoleRefreshBeforeExpiry(t *testing.T) {
	s := vaulttest.New(t, vaulttest.Options{})
	s.Write(t, "transit/keys/k1", nil)
	s.AddAppRole("r", "s", 100*time.Second, nil)
	c, err := New(t.Context(), Options{Address: s.URL, AppRole: &AppRole{RoleID: "r", SecretID: "s"}})
	if err != nil {
		t.Fatal(err)
	}
	c.auth.now = s.Now // the client's clock follows the server's
	for _, tc := range []struct {
		advance    time.Duration
		wantLogins int
	}{
		{0, 1},
		{80 * time.Second, 1},  // 80% of the TTL: the token is still used
		{10 * time.Second, 2},  // 90%: a new login before the call
		{50 * time.Second, 2},  // 50% of the new token's TTL
		{200 * time.Second, 3}, // long expired: a new login before the call
	} {
		s.Advance(tc.advance)
		if _, err := c.GenerateDataKey(t.Context(), "k1", nil); err != nil {
			t.Fatalf("GenerateDataKey after %v = %v", tc.advance, err)
		}
		if n := s.Logins(); n != tc.wantLogins {
			t.Errorf("logins after advancing %v = %d, want %d", tc.advance, n, tc.wantLogins)
		}
	}
}

// TestReloginAfterPlain403 checks the rule for servers that do not say "invalid token": a plain
// 403 to an AppRole token older than reloginAfter triggers one new login, a younger one none.
func TestReloginAfterPlain403(t *testing.T) {
	a := &auth{now: func() time.Time { return time.Unix(1000, 0) }}
	a.role = AppRole{RoleID: "r", SecretID: "s"}
	for _, tc := range []struct {
		name string
		age  time.Duration
		msgs []string
		want bool
	}{
		{"invalid-token", 0, []string{"permission denied", "invalid token"}, true},
		{"young-plain-403", reloginAfter - time.Second, []string{"1 error occurred:\n\t* permission denied\n\n"}, false},
		{"old-plain-403", reloginAfter, []string{"permission denied"}, true},
	} {
		tok := &token{value: "t", issued: a.now().Add(-tc.age), ttl: time.Hour}
		if got := a.shouldRelogin(tok, tc.msgs); got != tc.want {
			t.Errorf("%s: shouldRelogin(age %v, %q) = %v, want %v", tc.name, tc.age, tc.msgs, got, tc.want)
		}
	}
	fixed := &auth{fixed: &token{value: "t"}, now: a.now}
	if fixed.shouldRelogin(fixed.fixed, []string{"invalid token"}) {
		t.Error("shouldRelogin with a fixed token = true, want false")
	}
}

func TestWrappedVersion(t *testing.T) {
	c := &Client{}
	for _, tc := range []struct {
		ct     string
		want   string
		wantOK bool
	}{
		{"vault:v1:" + sealed60, "1", true},
		{"vault:v42:" + sealed72, "42", true},
		{"vault:v0:" + sealed60, "", false},
		{"garbage", "", false},
	} {
		if got, ok := c.WrappedVersion([]byte(tc.ct)); got != tc.want || ok != tc.wantOK {
			t.Errorf("WrappedVersion(%.12q) = %q, %v, want %q, %v", tc.ct, got, ok, tc.want, tc.wantOK)
		}
	}
}
