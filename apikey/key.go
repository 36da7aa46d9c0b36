package apikey

import (
	"crypto/rand"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
)

// The key format. A key is
//
//	<prefix> "_" <keyID> <secret> <checksum>
//
// where prefix matches [a-z][a-z0-9]*(_[a-z0-9]+)* (at most 32 bytes,
// "tk_live" by default), keyID is IDLen base62 characters (public: it names
// the Store record), secret is SecretLen base62 characters drawn uniformly
// from crypto/rand (43 x log2(62) = 256.03 bits), and checksum is the CRC-32
// (IEEE) of everything before it, as ChecksumLen base62 digits, most
// significant first, zero-padded. Base62 is 0-9, A-Z, a-z in that order.
//
// A secret scanner matches the keys of prefix tk_live with
//
//	\btk_live_[0-9A-Za-z]{65}\b
//
// and confirms a match offline by recomputing the checksum (Parse does).
const (
	IDLen       = 16 // base62 characters of the key ID
	SecretLen   = 43 // base62 characters of the secret: 256 bits
	ChecksumLen = 6  // base62 digits of the CRC-32: 62^6 > 2^32
	BodyLen     = IDLen + SecretLen + ChecksumLen

	// DefaultPrefix is the prefix of keys when WithPrefix is not given.
	DefaultPrefix = "tk_live"

	maxPrefixLen = 32
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Key is a parsed API key. Its String method never prints the secret.
type Key struct {
	Prefix string
	ID     string // the public key ID
	secret string
}

// Secret returns the secret part of k.
func (k Key) Secret() string { return k.secret }

// String returns the prefix and key ID, never the secret.
func (k Key) String() string { return k.Prefix + "_" + k.ID + "…" }

// Format prints the key as String does, whatever the verb, so that no
// verb prints the secret.
func (k Key) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// ScannerPattern returns the regular expression (RE2 syntax) that matches
// the keys of prefix, for secret scanners.
func ScannerPattern(prefix string) string {
	return `\b` + strings.ReplaceAll(prefix, ".", `\.`) + `_[0-9A-Za-z]{` + itoa(BodyLen) + `}\b`
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// validPrefix reports whether p matches [a-z][a-z0-9]*(_[a-z0-9]+)* and is
// at most maxPrefixLen bytes.
func validPrefix(p string) bool {
	if p == "" || len(p) > maxPrefixLen || p[0] < 'a' || p[0] > 'z' || p[len(p)-1] == '_' {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '_' && p[i-1] != '_':
		default:
			return false
		}
	}
	return true
}

func isBase62(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}

// Parse checks that s is a well-formed key of prefix (the prefix, the
// lengths, the characters and the checksum) without any store lookup, and
// returns its parts. It returns an error wrapping ErrMalformedKey, which
// never quotes s.
func Parse(prefix, s string) (Key, error) {
	id, secret, ok := parse(prefix, s)
	if !ok {
		return Key{}, malformed
	}
	return Key{Prefix: prefix, ID: id, secret: secret}, nil
}

// parse is Parse without the error value; it does not allocate.
func parse(prefix, s string) (id, secret string, ok bool) {
	if len(s) != len(prefix)+1+BodyLen || s[:len(prefix)] != prefix || s[len(prefix)] != '_' {
		return "", "", false
	}
	body := s[len(prefix)+1:]
	for i := 0; i < len(body); i++ {
		if !isBase62(body[i]) {
			return "", "", false
		}
	}
	var sum [ChecksumLen]byte
	encodeChecksum(&sum, crc32.ChecksumIEEE([]byte(s[:len(s)-ChecksumLen])))
	if string(sum[:]) != body[IDLen+SecretLen:] {
		return "", "", false
	}
	return body[:IDLen], body[IDLen : IDLen+SecretLen], true
}

// encodeChecksum writes c as ChecksumLen base62 digits.
func encodeChecksum(dst *[ChecksumLen]byte, c uint32) {
	v := uint64(c)
	for i := ChecksumLen - 1; i >= 0; i-- {
		dst[i] = base62[v%62]
		v /= 62
	}
}

// randomBase62 returns n base62 characters drawn uniformly from
// crypto/rand: bytes of 248 and more are rejected, so that the remainder
// modulo 62 is uniform.
func randomBase62(n int) string {
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		_, _ = rand.Read(buf[:]) // crypto/rand.Read never fails (Go 1.24+)
		for _, b := range buf {
			if b < 248 && len(out) < n {
				out = append(out, base62[b%62])
			}
		}
	}
	return string(out)
}

// format returns the key of prefix, id and secret with its checksum.
func format(prefix, id, secret string) string {
	head := prefix + "_" + id + secret
	var sum [ChecksumLen]byte
	encodeChecksum(&sum, crc32.ChecksumIEEE([]byte(head)))
	return head + string(sum[:])
}

// ValidateKeyID reports whether id is a well-formed key ID: IDLen base62
// characters. It is the check of a subscriber to a key invalidation feed.
func ValidateKeyID(id string) error {
	if len(id) != IDLen {
		return errBadKeyID
	}
	for i := 0; i < len(id); i++ {
		if !isBase62(id[i]) {
			return errBadKeyID
		}
	}
	return nil
}
