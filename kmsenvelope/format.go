package kmsenvelope

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/tenantkit/tenantkit/tenant"
)

// The ciphertext format, version 1. All integers are big-endian.
//
//	offset  size  field
//	0       2     magic "TK"
//	2       1     version, 1: AES-256-GCM with a 96-bit random nonce and a
//	              128-bit tag, under a data key from KMS GenerateDataKey AES_256
//	3       1     n, the length of the tenant ID (1..64)
//	4       n     tenant ID
//	4+n     2     m, the length of the encrypted data key (1..6144)
//	6+n     m     encrypted data key: the CiphertextBlob of GenerateDataKey
//	6+n+m   12    nonce
//	18+n+m  ...   AES-GCM ciphertext of the plaintext, then the 16-byte tag
//
// The GCM additional data is
//
//	the canonical encryption context, prefixed with its length as 4 bytes
//	  (see appendContext)
//	the header with the encrypted data key replaced by its SHA-256:
//	  magic, version, n, tenant ID, m, SHA-256 of the encrypted data key
//	the nonce
//	the caller's associated data, prefixed with its length as 4 bytes
//
// so every byte of the ciphertext is authenticated by the data key (the
// encrypted data key through its digest, which keeps the additional data
// short), and the encrypted data key is bound by KMS to the encryption
// context, which carries the tenant ID.
const (
	magic0, magic1 = 'T', 'K'
	version1       = 1

	nonceLen = 12
	tagLen   = 16
	// dataKeyLen is the length of an AES-256 data key.
	dataKeyLen = 32
	// maxEncryptedKeyLen is the largest CiphertextBlob KMS accepts.
	maxEncryptedKeyLen = 6144
)

// header is a parsed ciphertext. Its slices alias the input.
type header struct {
	tenant       []byte // the tenant ID
	encryptedKey []byte
	nonce        []byte
	raw          []byte // the header bytes, nonce included
	sealed       []byte // ciphertext and tag
}

var errShort = errors.New("truncated")

// parse splits a ciphertext into its fields. It never panics, reads only
// within b and does not allocate.
func parse(b []byte) (header, error) {
	var h header
	if len(b) < 4 {
		return h, malformed(errShort)
	}
	if b[0] != magic0 || b[1] != magic1 {
		return h, malformed(errors.New("not a tenantkit envelope"))
	}
	if b[2] != version1 {
		return h, malformed(fmt.Errorf("unknown version %d", b[2]))
	}
	n := int(b[3])
	if n == 0 || n > tenant.MaxIDLen {
		return h, malformed(errors.New("tenant ID length out of range"))
	}
	off := 4
	if len(b) < off+n+2 {
		return h, malformed(errShort)
	}
	h.tenant = b[off : off+n : off+n]
	if !idBytes(h.tenant) {
		return header{}, malformed(errors.New("invalid tenant ID"))
	}
	off += n
	m := int(binary.BigEndian.Uint16(b[off:]))
	off += 2
	if m == 0 || m > maxEncryptedKeyLen {
		return h, malformed(errors.New("encrypted data key length out of range"))
	}
	if len(b) < off+m+nonceLen+tagLen {
		return h, malformed(errShort)
	}
	h.encryptedKey = b[off : off+m : off+m]
	off += m
	h.nonce = b[off : off+nonceLen : off+nonceLen]
	off += nonceLen
	h.raw = b[:off:off]
	h.sealed = b[off:]
	return h, nil
}

// idBytes reports whether b is made of the bytes tenant IDs are made of.
// Decrypt compares it with the context's tenant ID, which passed
// tenant.ValidateID.
func idBytes(b []byte) bool {
	for _, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func malformed(err error) error { return fmt.Errorf("%w: %w", ErrMalformed, err) }

// appendHeader appends the header without the nonce.
func appendHeader(b []byte, tenantID string, encryptedKey []byte) []byte {
	b = append(b, magic0, magic1, version1, byte(len(tenantID)))
	b = append(b, tenantID...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(encryptedKey)))
	return append(b, encryptedKey...)
}

// appendFixedAD appends the part of the additional data that is the same
// for every ciphertext of a data key: the header up to the nonce with the
// encrypted data key replaced by its SHA-256.
func appendFixedAD(b []byte, tenantID string, encryptedKey []byte) []byte {
	sum := sha256.Sum256(encryptedKey)
	b = append(b, magic0, magic1, version1, byte(len(tenantID)))
	b = append(b, tenantID...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(encryptedKey)))
	return append(b, sum[:]...)
}

// appendContext appends the canonical encoding of an encryption context,
// prefixed with its length as 4 bytes: its pairs in the order of their
// keys, each key and value prefixed with its length as 2 bytes.
func appendContext(b []byte, ec map[string]string) []byte {
	at := len(b)
	b = append(b, 0, 0, 0, 0)
	keys := make([]string, 0, len(ec))
	for k := range ec {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b = binary.BigEndian.AppendUint16(b, uint16(len(k)))
		b = append(b, k...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(ec[k])))
		b = append(b, ec[k]...)
	}
	binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	return b
}
