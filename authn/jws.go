package authn

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// b64 is the base64url alphabet without padding, strict about the unused
// bits of the last character, as a JWS requires (RFC 7515, section 2).
var b64 = base64.RawURLEncoding.Strict()

// jws is a compact JWS split and decoded as far as is safe before its
// signature is checked: the header (bounded in size) is decoded to its
// members, the payload only scanned for its shape and its "iss". The claims
// are decoded after the signature verifies, so that an unsigned payload
// costs a base64 decode and one scan, never the allocations of a JSON
// decode.
type jws struct {
	header  map[string]json.RawMessage
	payload []byte // decoded, not parsed
	iss     []byte // the raw JSON string of the top-level "iss", or nil
	signing string // header "." payload, as signed
	sig     []byte
}

// parseJWS splits token, which has exactly two dots. Its errors are
// TokenErrors that quote nothing of the token.
func parseJWS(token string) (*jws, error) {
	h, rest, _ := strings.Cut(token, ".")
	p, s, _ := strings.Cut(rest, ".")
	if b64.DecodedLen(len(h)) > maxHeaderSize {
		return nil, tokenErr(ErrMalformed, "header too large")
	}
	hb, err := b64.DecodeString(h)
	if err != nil {
		return nil, tokenErr(ErrMalformed, "header is not base64url")
	}
	t := &jws{signing: token[:len(h)+1+len(p)]}
	if err := json.Unmarshal(hb, &t.header); err != nil {
		return nil, tokenErr(ErrMalformed, "header is not a JSON object")
	}
	if countMembers(hb) != len(t.header) {
		return nil, tokenErr(ErrMalformed, "header names a member twice")
	}
	if caseVariantHeader(t.header) {
		return nil, tokenErr(ErrMalformed, "header member is a letter-case variant of a registered one")
	}
	if t.payload, err = b64.DecodeString(p); err != nil {
		return nil, tokenErr(ErrMalformed, "payload is not base64url")
	}
	if t.sig, err = b64.DecodeString(s); err != nil {
		return nil, tokenErr(ErrMalformed, "signature is not base64url")
	}
	shape, err := scanJSON(t.payload, maxClaimDepth, "iss")
	switch {
	case err == errTooDeep:
		return nil, tokenErr(ErrMalformed, "claims nested too deep")
	case err != nil:
		return nil, tokenErr(ErrMalformed, "payload is not a JSON object")
	case shape.found > 1:
		return nil, tokenErr(ErrDuplicateClaim, "payload names iss twice")
	}
	t.iss = shape.value
	return t, nil
}

// headerNames are the header members a Verifier reads or refuses.
var headerNames = [...]string{"alg", "kid", "typ", "crit", "jku", "x5u", "jwk", "x5c"}

// caseVariantHeader reports whether the header holds a member whose name
// differs from one of headerNames only in letter case ("ALG", "Kid",
// "CRIT"). Member names are case-sensitive, so we would ignore it, but a
// library that decodes the header into a struct matches names
// case-insensitively and would read it: a relayed token must not mean one
// algorithm, key or critical extension to us and another downstream.
func caseVariantHeader(header map[string]json.RawMessage) bool {
	for name := range header {
		for _, known := range headerNames {
			if name != known && strings.EqualFold(name, known) {
				return true
			}
		}
	}
	return false
}

// headerString returns the string member name of the header. ok is false
// when the member is absent; isString is false when it is absent or not a
// string.
func (t *jws) headerString(name string) (s string, ok, isString bool) {
	raw, ok := t.header[name]
	if !ok {
		return "", false, false
	}
	if len(raw) < 2 || raw[0] != '"' {
		return "", true, false
	}
	s, isString = jsonString(raw)
	return s, true, isString
}
