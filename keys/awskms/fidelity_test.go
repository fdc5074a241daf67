package awskms_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/sseproxy/sseproxy/keys/awskms"
)

// awsFidelity is an http.RoundTripper that closes the two gaps between local-kms and AWS KMS
// that the provider's contract depends on. Both concern the key reference inside a
// CiphertextBlob, which AWS KMS authenticates and local-kms does not:
//
//   - Decrypt with a KeyId: local-kms decrypts with the named key and ignores the key ARN in
//     the blob's header, so a blob whose header was altered still decrypts (the conformance
//     suite's "Tampered" rows that flip a header byte). AWS KMS fails such a request with
//     IncorrectKeyException or InvalidCiphertextException.
//   - ReEncrypt: local-kms ignores SourceKeyId altogether. AWS KMS fails the request with
//     IncorrectKeyException when the blob was not wrapped by the SourceKeyId key.
//
// For requests with KeyId (Decrypt) or SourceKeyId (ReEncrypt), it resolves the named key to
// its ARN with DescribeKey and compares it with the blob's header (local-kms format: one length
// byte, then the key ARN); on a mismatch it answers IncorrectKeyException itself, as AWS KMS
// would. Everything else goes to local-kms unchanged. Requests without a key name pass
// through, so a provider that stopped naming the key would still fail the tests.
//
// TestLocalKMSGaps checks that the gaps exist; when local-kms closes them, that test fails and
// this shim can go.
type awsFidelity struct {
	admin *kms.Client // resolves key names; its HTTP client does not go through the shim
	next  http.RoundTripper
}

func (f *awsFidelity) RoundTrip(req *http.Request) (*http.Response, error) {
	target := req.Header.Get("X-Amz-Target")
	if (target != "TrentService.Decrypt" && target != "TrentService.ReEncrypt") || req.Body == nil {
		return f.next.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }

	var in struct {
		CiphertextBlob []byte
		KeyId          string
		SourceKeyId    string
	}
	if json.Unmarshal(body, &in) != nil {
		return f.next.RoundTrip(req)
	}
	named := in.KeyId
	if target == "TrentService.ReEncrypt" {
		named = in.SourceKeyId
	}
	if named == "" || len(in.CiphertextBlob) == 0 || len(in.CiphertextBlob) < 1+int(in.CiphertextBlob[0]) {
		return f.next.RoundTrip(req) // local-kms rejects or resolves these itself
	}
	header := string(in.CiphertextBlob[1 : 1+int(in.CiphertextBlob[0])])
	ctx, cancel := context.WithTimeout(req.Context(), 5*time.Second)
	defer cancel()
	key, err := f.admin.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(named)})
	if err != nil || aws.ToString(key.KeyMetadata.Arn) == header {
		return f.next.RoundTrip(req) // unknown key: local-kms answers NotFoundException
	}
	const msg = `{"__type":"IncorrectKeyException","message":"The key ID in the request does not identify a KMS key that can perform this operation."}`
	return &http.Response{
		Status:        "400 Bad Request",
		StatusCode:    http.StatusBadRequest,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/x-amz-json-1.1"}},
		Body:          io.NopCloser(strings.NewReader(msg)),
		ContentLength: int64(len(msg)),
		Request:       req,
	}, nil
}

// TestLocalKMSGaps checks, without awsFidelity, that local-kms still has the gaps the shim
// closes. If it fails, local-kms now authenticates the key reference in its ciphertexts:
// delete awsFidelity.
func TestLocalKMSGaps(t *testing.T) {
	srv := startLocalKMS(t)
	c := srv.Client(t, func(o *awskms.Options) { o.HTTPClient = nil })
	dk, err := c.GenerateDataKey(t.Context(), keyA, ad)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("decrypt-ignores-altered-header", func(t *testing.T) {
		altered := bytes.Clone(dk.Ciphertext)
		altered[8] ^= 1 // inside the key ARN
		if got, err := c.Decrypt(t.Context(), keyA, altered, ad); err != nil || !bytes.Equal(got, dk.Plaintext) {
			t.Errorf("local-kms Decrypt(blob with altered key ARN) = %s, %v; the gap is closed, awsFidelity can go", secret(got), err)
		}
	})
	t.Run("re-encrypt-ignores-source-key", func(t *testing.T) {
		if _, err := c.ReEncrypt(t.Context(), keyB, dk.Ciphertext, ad, keyB); err != nil {
			t.Errorf("local-kms ReEncrypt(from the wrong key) = %v; the gap is closed, awsFidelity can go", err)
		}
	})
}
