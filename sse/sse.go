// Package sse owns the at-rest format of objects that sseproxy encrypts: the encrypted body,
// its size and range arithmetic, and the metadata record stored beside it. FORMAT.md in this
// directory is the versioned specification; this package is its reference implementation.
//
// Every object is encrypted under its own fresh 256-bit data key (envelope encryption):
//
//	PUT:  dk, wrapped := kms.GenerateDataKey(keyID, AssociatedData(bucket, object))
//	      body        := EncryptReader(plaintext, dk)          // DARE 2.0, AES-256-GCM
//	      metadata    := Record{Algorithm, keyID, wrapped, ...}.Metadata()
//	GET:  rec, ok, err := ParseRecord(metadata)
//	      dk          := kms.Decrypt(rec.KeyID, rec.WrappedKey, AssociatedData(bucket, object))
//	      plaintext   := DecryptReader(body, dk, RangeWindow(...) or WholeWindow(...))
//
// The body is a DARE 2.0 stream (github.com/minio/sio) of 64 KiB packages, each sealed with
// AES-256-GCM. The package never implements a cryptographic primitive itself; it composes sio
// and the standard library. It knows nothing of HTTP, the backend or the KMS: callers pass in
// plaintext data keys and readers, and get back readers, sizes and metadata maps.
//
// All decryption failures, whatever their cause (tampering, truncation, reordering, a wrong
// key), are reported as the single opaque error ErrAuthentication.
package sse

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"

	"github.com/minio/sio"
)

// Sizes of the format. A package is a 16-byte header, up to PayloadSize bytes of encrypted
// payload and a 16-byte authentication tag.
const (
	// PayloadSize is the number of plaintext bytes in every package but the last.
	PayloadSize = 64 << 10
	// PackageSize is the number of ciphertext bytes of a full package.
	PackageSize = PayloadSize + overhead
	// KeySize is the size in bytes of a data key and of a part key.
	KeySize = 32

	headerSize = 16
	tagSize    = 16
	overhead   = headerSize + tagSize

	// maxPlainSize is the largest plaintext DARE can encrypt: 2^32 packages of 64 KiB, so that
	// the 32-bit sequence number never wraps.
	maxPlainSize = 1 << 48
	// maxCipherSize is EncryptedSize(maxPlainSize).
	maxCipherSize = maxPlainSize + overhead<<32
)

var (
	// ErrAuthentication is returned by a DecryptReader for any ciphertext that does not
	// authenticate: a modified, truncated, extended or reordered body, or the wrong key. It
	// deliberately carries no detail.
	ErrAuthentication = errors.New("sse: message authentication failed")

	// ErrInvalidSize is returned for a ciphertext size that no plaintext encrypts to, and for
	// a plaintext or ciphertext size beyond the largest the format supports (2^48 plaintext
	// bytes).
	ErrInvalidSize = errors.New("sse: invalid object size")

	errKeySize = errors.New("sse: invalid key size")
)

// EncryptedSize returns the ciphertext size of a plaintext of plain bytes. It is the exact
// inverse of DecryptedSize. It returns ErrInvalidSize if plain is negative or larger than
// 2^48.
func EncryptedSize(plain int64) (int64, error) {
	if plain < 0 || plain > maxPlainSize {
		return 0, ErrInvalidSize
	}
	size := plain / PayloadSize * PackageSize
	if rest := plain % PayloadSize; rest > 0 {
		size += rest + overhead
	}
	return size, nil
}

// DecryptedSize returns the plaintext size of a ciphertext of cipher bytes. It is the exact
// inverse of EncryptedSize. It returns ErrInvalidSize if cipher is negative, too large, or
// ends in a partial package of 32 bytes or fewer, which no plaintext encrypts to.
func DecryptedSize(cipher int64) (int64, error) {
	if cipher < 0 || cipher > maxCipherSize {
		return 0, ErrInvalidSize
	}
	size := cipher / PackageSize * PayloadSize
	if rest := cipher % PackageSize; rest > 0 {
		if rest <= overhead {
			return 0, ErrInvalidSize
		}
		size += rest - overhead
	}
	return size, nil
}

// EncryptReader returns a reader of the ciphertext of src under key, a KeySize-byte data key
// that must never encrypt anything else. The nonce is drawn from crypto/rand.
//
// The reader streams: it holds one package (about 64 KiB) in memory whatever the object size.
// The final package, which marks the end of the object, is sealed only once src has returned
// io.EOF. If src returns any other error, the reader returns that error from then on and never
// emits the final package, so a failed upload can never be stored as a shorter object that
// decrypts.
func EncryptReader(src io.Reader, key []byte) (io.Reader, error) {
	return encryptReader(src, key, nil)
}

// encryptReader is EncryptReader with an optional fixed nonce, for the worked examples of
// FORMAT.md. nonce must be nil in production.
func encryptReader(src io.Reader, key []byte, nonce *[12]byte) (io.Reader, error) {
	if len(key) != KeySize {
		return nil, errKeySize
	}
	cfg := config(key, 0)
	cfg.Nonce = nonce
	r, err := sio.EncryptReader(src, cfg)
	if err != nil {
		return nil, err
	}
	return &stickyReader{r: r, first: true}, nil
}

// config returns the one sio configuration of the format: DARE 2.0 with AES-256-GCM only, the
// first package expected to carry sequence number seq.
func config(key []byte, seq uint32) sio.Config {
	return sio.Config{
		MinVersion:     sio.Version20,
		MaxVersion:     sio.Version20,
		CipherSuites:   []byte{sio.AES_256_GCM},
		Key:            key,
		SequenceNumber: seq,
	}
}

// stickyReader returns the first error of r, io.EOF included, on every later Read. sio's
// encrypting reader does not remember a source error, and would seal a final package if a
// flaky source returned io.EOF after an error.
type stickyReader struct {
	r     io.Reader
	err   error
	first bool
}

func (s *stickyReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.first && len(p) >= PackageSize {
		// sio returns its package buffer to its pool only on its buffered
		// path (reads shorter than a package); its direct path never does.
		// A short first read costs one 64 KiB copy, and lets an object of
		// one package, which ends in that read, give the buffer back.
		p = p[:PackageSize-1]
	}
	s.first = false
	n, err := s.r.Read(p)
	s.err = err
	return n, err
}

// adLabel starts every associated data string: it names the format and keeps the encoding
// apart from any other use of the same KMS key.
const adLabel = "sseproxy"

// formatVersion is the version of the format described by FORMAT.md, written to the
// sseproxy-format metadata and into the associated data.
const formatVersion = 1

// AssociatedData returns the associated data that binds a wrapped data key to the object
// bucket/object. The proxy passes it to the KMS when it wraps and unwraps the data key, so a
// wrapped key copied onto another object does not unwrap. The encoding is
//
//	"sseproxy" || 0x01 || uint32be(len(bucket)) || bucket || uint32be(len(object)) || object
//
// which is injective: ("a", "bc") and ("ab", "c") differ. AssociatedData panics if either
// name is 2^32 bytes or longer, which no object store accepts.
func AssociatedData(bucket, object string) []byte {
	if uint64(len(bucket)) > math.MaxUint32 || uint64(len(object)) > math.MaxUint32 {
		panic("sse: bucket or object name too long")
	}
	ad := make([]byte, 0, len(adLabel)+1+4+len(bucket)+4+len(object))
	ad = append(ad, adLabel...)
	ad = append(ad, formatVersion)
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(bucket)))
	ad = append(ad, bucket...)
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(object)))
	ad = append(ad, object...)
	return ad
}

// AssociatedDataWithContext is AssociatedData extended by an SSE-KMS
// encryption context, so a wrapped key unwraps only with the context it was
// written with:
//
//	AssociatedData(bucket, object) || uint32be(len(ctx)) || ctx
//
// where ctx is the canonical JSON of the context (keys sorted, as
// encoding/json writes maps). An empty context adds nothing, so it equals
// AssociatedData. The result stays injective: the object name is length
// prefixed, so what follows it can only be the context part.
func AssociatedDataWithContext(bucket, object string, context map[string]string) []byte {
	ad := AssociatedData(bucket, object)
	if len(context) == 0 {
		return ad
	}
	js, err := json.Marshal(context)
	if err != nil || uint64(len(js)) > math.MaxUint32 {
		panic("sse: encryption context cannot be encoded")
	}
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(js)))
	return append(ad, js...)
}

// MaxParts is the largest multipart part number, as in S3.
const MaxParts = 10000

// partKeyLabel domain-separates part keys from any other HMAC under a data key.
const partKeyLabel = "sseproxy part key v1\x00"

// PartKey returns the key of multipart part number part (1 to MaxParts) of the object whose
// data key is objectKey:
//
//	HMAC-SHA256(objectKey, "sseproxy part key v1" || 0x00 || uint32be(part))
//
// Each part is then its own DARE stream under its part key, so parts can be encrypted
// independently and in any order. PartKey is deterministic. It panics if objectKey is not
// KeySize bytes or part is out of range: both are programming errors.
func PartKey(objectKey []byte, part int) []byte {
	if len(objectKey) != KeySize {
		panic(errKeySize.Error())
	}
	if part < 1 || part > MaxParts {
		panic("sse: part number out of range")
	}
	mac := hmac.New(sha256.New, objectKey)
	mac.Write([]byte(partKeyLabel))
	mac.Write(binary.BigEndian.AppendUint32(nil, uint32(part)))
	return mac.Sum(nil)
}
