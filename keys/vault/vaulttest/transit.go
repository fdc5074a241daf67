package vaulttest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// key is one Transit key: a key ring of versions (api-docs/secret/transit, "Read key").
type key struct {
	typ           string
	derived       bool
	material      [][]byte // material[i] is version i+1; nil entries for types without material
	created       []int64  // Unix seconds, per version
	minDecryption int      // Vault sets 1 on creation
}

// keySizes are the key types with material here, and their sizes. The other types Vault knows
// exist without material: reads work, encrypt and decrypt are refused.
var keySizes = map[string]int{"aes128-gcm96": 16, "aes256-gcm96": 32}

// otherTypes are key types that exist here for reads only.
var otherTypes = map[string]bool{"ed25519": true, "ecdsa-p256": true, "rsa-2048": true, "hmac": true}

func (k *key) latest() int { return len(k.material) }

// addVersion appends a new version with fresh material, as create and rotate do.
func (k *key) addVersion(now int64) {
	var m []byte
	if n := keySizes[k.typ]; n > 0 {
		m = make([]byte, n)
		rand.Read(m)
	}
	k.material = append(k.material, m)
	k.created = append(k.created, now)
}

// aead returns AES-GCM under version v, as keysutil.Policy.SymmetricEncryptRaw sets it up.
func (k *key) aead(v int) cipher.AEAD {
	block, err := aes.NewCipher(k.material[v-1])
	if err != nil {
		panic(err) // sizes come from keySizes
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return gcm
}

// handler serves one Transit request, with the server's lock held.
type handler func(w http.ResponseWriter, body map[string]any, capability string)

// nameRE is Vault's framework.GenericNameRegex, the pattern of a key name in Transit paths.
var nameRE = regexp.MustCompile(`^\w(([\w\-.@]+)?\w)?$`)

// route finds the handler for a Transit path (after "<mount>/") and the ACL capability the
// request needs. POST is "update", except where Vault's path has an existence check (encrypt,
// keys/<name>) and the key does not exist: then it is "create". A known path with another
// method gets the 405 handler.
func (s *Server) route(method, rest string) (handler, string) {
	parts := strings.Split(rest, "/")
	if len(parts) < 2 || !nameRE.MatchString(parts[1]) {
		return nil, ""
	}
	name, post := parts[1], method == http.MethodPost || method == http.MethodPut
	switch {
	case len(parts) == 2 && parts[0] == "keys" && method == http.MethodGet:
		return func(w http.ResponseWriter, _ map[string]any, _ string) { s.readKey(w, name) }, "read"
	case len(parts) == 2 && parts[0] == "keys" && post:
		return func(w http.ResponseWriter, b map[string]any, _ string) { s.createKey(w, name, b) }, s.existence(name)
	case len(parts) == 3 && parts[0] == "keys" && parts[2] == "rotate" && post:
		return func(w http.ResponseWriter, _ map[string]any, _ string) { s.rotate(w, name) }, "update"
	case len(parts) == 3 && parts[0] == "keys" && parts[2] == "config" && post:
		return func(w http.ResponseWriter, b map[string]any, _ string) { s.configure(w, name, b) }, "update"
	case len(parts) == 2 && parts[0] == "encrypt" && post:
		return func(w http.ResponseWriter, b map[string]any, c string) { s.encrypt(w, name, b, c) }, s.existence(name)
	case len(parts) == 2 && parts[0] == "decrypt" && post:
		return func(w http.ResponseWriter, b map[string]any, _ string) { s.decrypt(w, name, b) }, "update"
	case len(parts) <= 3 && (parts[0] == "keys" || parts[0] == "encrypt" || parts[0] == "decrypt"):
		return func(w http.ResponseWriter, _ map[string]any, _ string) {
			writeErrors(w, http.StatusMethodNotAllowed, "1 error occurred:\n\t* unsupported operation\n\n")
		}, "read"
	}
	return nil, ""
}

func (s *Server) existence(name string) string {
	if s.keys[name] != nil {
		return "update"
	}
	return "create"
}

// readKey serves GET /v1/<mount>/keys/<name> ("Read key"). A missing key is a nil response,
// which Vault's HTTP layer answers 404 {"errors": []}.
func (s *Server) readKey(w http.ResponseWriter, name string) {
	k := s.keys[name]
	if k == nil {
		writeErrors(w, http.StatusNotFound)
		return
	}
	versions := map[string]int64{}
	for i, t := range k.created {
		versions[strconv.Itoa(i+1)] = t
	}
	_, aesKey := keySizes[k.typ]
	writeData(w, map[string]any{
		"name":                   name,
		"type":                   k.typ,
		"derived":                k.derived,
		"deletion_allowed":       false,
		"exportable":             false,
		"allow_plaintext_backup": false,
		"keys":                   versions,
		"latest_version":         k.latest(),
		"min_available_version":  0,
		"min_decryption_version": k.minDecryption,
		"min_encryption_version": 0,
		"supports_encryption":    aesKey || k.typ == "rsa-2048",
		"supports_decryption":    aesKey || k.typ == "rsa-2048",
		"supports_derivation":    aesKey || k.typ == "ed25519",
		"supports_signing":       !aesKey && k.typ != "hmac",
		"auto_rotate_period":     0,
		"imported_key":           false,
	})
}

// createKey serves POST /v1/<mount>/keys/<name> ("Create key"): "type" (default aes256-gcm96)
// and "derived". An existing key is left as it is.
func (s *Server) createKey(w http.ResponseWriter, name string, body map[string]any) {
	if s.keys[name] == nil {
		typ, _ := body["type"].(string)
		if typ == "" {
			typ = "aes256-gcm96"
		}
		if keySizes[typ] == 0 && !otherTypes[typ] {
			writeErrors(w, http.StatusBadRequest, fmt.Sprintf("unknown key type %v", typ))
			return
		}
		derived, _ := body["derived"].(bool)
		k := &key{typ: typ, derived: derived, minDecryption: 1}
		k.addVersion(s.now().Unix())
		s.keys[name] = k
	}
	w.WriteHeader(http.StatusNoContent)
}

// rotate serves POST /v1/<mount>/keys/<name>/rotate ("Rotate key"): a new version, which new
// encryptions use.
func (s *Server) rotate(w http.ResponseWriter, name string) {
	k := s.keys[name]
	if k == nil {
		writeErrors(w, http.StatusBadRequest, "key not found")
		return
	}
	k.addVersion(s.now().Unix())
	s.readKey(w, name)
}

// configure serves POST /v1/<mount>/keys/<name>/config ("Update key configuration"), for
// min_decryption_version only, with the checks of builtin/logical/transit/path_config.go.
func (s *Server) configure(w http.ResponseWriter, name string, body map[string]any) {
	k := s.keys[name]
	if k == nil {
		writeErrors(w, http.StatusBadRequest, "no existing key named "+name+" could be found")
		return
	}
	if raw, ok := body["min_decryption_version"]; ok {
		v, err := strconv.Atoi(fmt.Sprint(raw))
		switch {
		case err != nil:
			writeErrors(w, http.StatusBadRequest, err.Error())
			return
		case v < 0:
			writeErrors(w, http.StatusBadRequest, "min decryption version cannot be negative")
			return
		case v == 0:
			v = 1
		case v > k.latest():
			writeErrors(w, http.StatusBadRequest, fmt.Sprintf("cannot set min decryption version of %d, latest key version is %d", v, k.latest()))
			return
		}
		k.minDecryption = v
	}
	w.WriteHeader(http.StatusNoContent)
}

// encrypt serves POST /v1/<mount>/encrypt/<name> ("Encrypt data"; path_encrypt.go). With the
// "create" capability (the ACL check has passed) a missing key is upserted with default values.
func (s *Server) encrypt(w http.ResponseWriter, name string, body map[string]any, capability string) {
	plaintext, ok := body["plaintext"].(string)
	if !ok {
		writeErrors(w, http.StatusBadRequest, "missing plaintext to encrypt")
		return
	}
	pt, err := base64.StdEncoding.DecodeString(plaintext)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, err.Error())
		return
	}
	k := s.keys[name]
	if k == nil && capability == "create" {
		context, _ := body["context"].(string)
		k = &key{typ: "aes256-gcm96", derived: context != "", minDecryption: 1}
		k.addVersion(s.now().Unix())
		s.keys[name] = k
	}
	if k == nil {
		writeErrors(w, http.StatusBadRequest, "encryption key not found")
		return
	}
	ad, ok := associatedData(w, k, body)
	if !ok {
		return
	}
	if !usable(w, k, "encryption") {
		return
	}
	v := k.latest()
	aead := k.aead(v)
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	sealed := aead.Seal(nonce, nonce, pt, ad)
	writeData(w, map[string]any{
		"ciphertext":  "vault:v" + strconv.Itoa(v) + ":" + base64.StdEncoding.EncodeToString(sealed),
		"key_version": v,
	})
}

// decrypt serves POST /v1/<mount>/decrypt/<name> ("Decrypt data"; path_decrypt.go), parsing the
// ciphertext as keysutil.Policy.DecryptWithFactory does, leniency included: version 0 means 1,
// strconv.Atoi reads the version and base64.StdEncoding (not Strict) the payload. Every failure
// is 400 with keysutil's message.
func (s *Server) decrypt(w http.ResponseWriter, name string, body map[string]any) {
	value, _ := body["ciphertext"].(string)
	if value == "" {
		writeErrors(w, http.StatusBadRequest, "missing ciphertext to decrypt")
		return
	}
	k := s.keys[name]
	if k == nil {
		writeErrors(w, http.StatusBadRequest, "encryption key not found")
		return
	}
	ad, ok := associatedData(w, k, body)
	if !ok || !usable(w, k, "decryption") {
		return
	}
	fail := func(msg string) { writeErrors(w, http.StatusBadRequest, msg) }
	rest, ok := strings.CutPrefix(value, "vault:v")
	if !ok {
		fail("invalid ciphertext: no prefix")
		return
	}
	split := strings.SplitN(rest, ":", 2)
	if len(split) != 2 {
		fail("invalid ciphertext: wrong number of fields")
		return
	}
	v, err := strconv.Atoi(split[0])
	if err != nil {
		fail("invalid ciphertext: version number could not be decoded")
		return
	}
	if v == 0 {
		v = 1 // compatibility with the first implementation, whose versions started at 0
	}
	if v > k.latest() {
		fail("invalid ciphertext: version is too new")
		return
	}
	if v < k.minDecryption || v < 1 {
		fail("ciphertext or signature version is disallowed by policy (too old)")
		return
	}
	decoded, err := base64.StdEncoding.DecodeString(split[1])
	if err != nil {
		fail("invalid ciphertext: could not decode base64")
		return
	}
	aead := k.aead(v)
	if len(decoded) < aead.NonceSize() {
		fail("invalid ciphertext length")
		return
	}
	pt, err := aead.Open(nil, decoded[:aead.NonceSize()], decoded[aead.NonceSize():], ad)
	if err != nil {
		fail(err.Error()) // "cipher: message authentication failed"
		return
	}
	writeData(w, map[string]any{"plaintext": base64.StdEncoding.EncodeToString(pt)})
}

// associatedData decodes the optional "associated_data" field. Vault passes it to the cipher
// only when it is not empty, refuses it for key types that are not AEAD, and fails with an
// internal error (500) when it is not base64 (the AssocDataFactory error).
func associatedData(w http.ResponseWriter, k *key, body map[string]any) ([]byte, bool) {
	raw, _ := body["associated_data"].(string)
	if raw == "" {
		return nil, true
	}
	if keySizes[k.typ] == 0 {
		writeErrors(w, http.StatusBadRequest, fmt.Sprintf("'[0].associated_data' provided for non-AEAD cipher suite %v", k.typ))
		return nil, false
	}
	ad, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		writeErrors(w, http.StatusInternalServerError, "1 error occurred:\n\t* unable to get associated_data/additional_data from factory[0]: "+err.Error()+"\n\n")
		return nil, false
	}
	return ad, true
}

// usable refuses operation ("encryption" or "decryption") on keys without material here, and on
// derived keys, which this fake does not implement.
func usable(w http.ResponseWriter, k *key, operation string) bool {
	switch {
	case keySizes[k.typ] == 0:
		writeErrors(w, http.StatusBadRequest, fmt.Sprintf("message %s not supported for key type %v", operation, k.typ))
		return false
	case k.derived:
		writeErrors(w, http.StatusBadRequest, "vaulttest: derived keys are not implemented")
		return false
	}
	return true
}
