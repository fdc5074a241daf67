package awskms_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sseproxy/sseproxy/keys"
	"github.com/sseproxy/sseproxy/keys/awskms"
)

// serverMessage is the message text of every error the fake KMS answers. Errors the provider
// maps to a keys error other than ErrUnavailable must not repeat it: they carry the error code
// only.
const serverMessage = "server-message-text"

// TestErrorMapping answers the provider's requests from an httptest server with the errors
// local-kms cannot produce (5xx, throttling, KMS-internal errors, malformed answers), checking
// how each is reported and that definite answers are not retried.
func TestErrorMapping(t *testing.T) {
	apiError := func(status int, code string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"__type":%q,"message":%q}`, code, serverMessage)
		}
	}
	answer := func(status int, contentType, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", contentType)
			w.WriteHeader(status)
			fmt.Fprint(w, body)
		}
	}
	shortKey := fmt.Sprintf(`{"KeyId":"k","Plaintext":%q,"CiphertextBlob":%q}`,
		base64.StdEncoding.EncodeToString(make([]byte, 16)), base64.StdEncoding.EncodeToString([]byte("blob")))
	const json = "application/x-amz-json-1.1"
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		op      string // "generate", "decrypt" or "re-encrypt"
		want    error
		retried bool // whether the SDK retries it (more than one request)
	}{
		{"NotFoundException", apiError(400, "NotFoundException"), "decrypt", keys.ErrNotFound, false},
		{"DisabledException", apiError(400, "DisabledException"), "generate", keys.ErrDisabled, false},
		{"KMSInvalidStateException", apiError(400, "KMSInvalidStateException"), "decrypt", keys.ErrDisabled, false},
		{"InvalidCiphertextException", apiError(400, "InvalidCiphertextException"), "decrypt", keys.ErrDecrypt, false},
		{"IncorrectKeyException", apiError(400, "IncorrectKeyException"), "decrypt", keys.ErrDecrypt, false},
		{"IncorrectKeyException/re-encrypt", apiError(400, "IncorrectKeyException"), "re-encrypt", keys.ErrDecrypt, false},
		{"InvalidKeyUsageException/decrypt", apiError(400, "InvalidKeyUsageException"), "decrypt", keys.ErrDecrypt, false},
		{"InvalidKeyUsageException/generate", apiError(400, "InvalidKeyUsageException"), "generate", errOther, false},
		{"AccessDeniedException", apiError(400, "AccessDeniedException"), "decrypt", errOther, false},
		{"UnrecognizedClientException", apiError(400, "UnrecognizedClientException"), "generate", errOther, false},
		{"ValidationException", apiError(400, "ValidationException"), "generate", errOther, false},
		{"ThrottlingException", apiError(400, "ThrottlingException"), "generate", keys.ErrUnavailable, true},
		{"KMSInternalException", apiError(500, "KMSInternalException"), "decrypt", keys.ErrUnavailable, true},
		{"DependencyTimeoutException", apiError(503, "DependencyTimeoutException"), "generate", keys.ErrUnavailable, true},
		{"KeyUnavailableException", apiError(500, "KeyUnavailableException"), "decrypt", keys.ErrUnavailable, true},
		{"502-html", answer(502, "text/html", "<html>bad gateway</html>"), "decrypt", keys.ErrUnavailable, true},
		{"200-garbage", answer(200, json, "{not json"), "decrypt", keys.ErrUnavailable, false},
		{"200-short-key/decrypt", answer(200, json, shortKey), "decrypt", keys.ErrDecrypt, false},
		{"200-short-key/generate", answer(200, json, shortKey), "generate", errOther, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var requests atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				tc.handler(w, r)
			}))
			t.Cleanup(srv.Close)
			c, err := awskms.New(t.Context(), awskms.Options{
				Endpoint: srv.URL, Region: region, AccessKey: "k", SecretKey: "s",
				Timeout: 10 * time.Second, // longer than the SDK's three attempts with backoff
			})
			if err != nil {
				t.Fatal(err)
			}
			switch tc.op {
			case "generate":
				_, err = c.GenerateDataKey(t.Context(), keyA, ad)
			case "decrypt":
				_, err = c.Decrypt(t.Context(), keyA, []byte("blob"), ad)
			case "re-encrypt":
				_, err = c.ReEncrypt(t.Context(), keyA, []byte("blob"), ad, keyB)
			}
			if !checkErr(err, tc.want) {
				t.Errorf("%s answered %s = %v, want %v", tc.op, tc.name, err, tc.want)
			}
			if err != nil && tc.want != keys.ErrUnavailable && tc.want != errOther && strings.Contains(err.Error(), serverMessage) {
				t.Errorf("%s answered %s = %q, want no server message in the error", tc.op, tc.name, err)
			}
			if n := requests.Load(); (n > 1) != tc.retried {
				t.Errorf("%s answered %s: %d requests, want retries %v", tc.op, tc.name, n, tc.retried)
			}
		})
	}
}
