package kmsenvelope

import (
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
// The GCM additional data is the header (everything before the
// ciphertext, nonce included), then the canonical encryption context
// (see appendContext) prefixed with its length as 4 bytes, then the
// caller's associated data. Every header byte is thus authenticated by the
// data key, and the encrypted data key is bound by KMS to the encryption
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
	tenantID     string
	encryptedKey []byte
	nonce        []byte
	raw          []byte // the header bytes, nonce included: the start of the additional data
	sealed       []byte // ciphertext and tag
}

var errShort = errors.New("truncated")

// parse splits a ciphertext into its fields. It never panics, reads only
// within b and allocates only the tenant ID.
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
	id := b[off : off+n]
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
	h.tenantID = string(id)
	if err := tenant.ValidateID(h.tenantID); err != nil {
		return header{}, malformed(errors.New("invalid tenant ID"))
	}
	return h, nil
}

func malformed(err error) error { return fmt.Errorf("%w: %w", ErrMalformed, err) }

// headerLen is the length of the header for a tenant ID and an encrypted
// data key.
func headerLen(tenantID string, encryptedKey []byte) int {
	return 4 + len(tenantID) + 2 + len(encryptedKey) + nonceLen
}

// appendHeader appends the header without the nonce.
func appendHeader(b []byte, tenantID string, encryptedKey []byte) []byte {
	b = append(b, magic0, magic1, version1, byte(len(tenantID)))
	b = append(b, tenantID...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(encryptedKey)))
	return append(b, encryptedKey...)
}

// appendContext appends the canonical encoding of an encryption context:
// its pairs in the order of their keys, each key and value prefixed with
// its length as 2 bytes.
func appendContext(b []byte, ec map[string]string) []byte {
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
	return b
}
