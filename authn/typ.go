package authn

import (
	"fmt"
	"strings"
)

// Explicit typing (RFC 8725, section 3.11). An issuer signs more than
// access and ID tokens with its keys: OpenID Connect back-channel logout
// tokens (typ "logout+jwt"), Security Event Tokens (RFC 8417, typ
// "secevent+jwt"), and tenantkit signs internal assertions. None of them is
// a credential for a request, so none of them must be taken for one.

// AssertionType is the "typ" header of internal assertions. An Assertion
// accepts no other type, and a Verifier refuses it.
const AssertionType = "tenant-assertion+jwt"

// refusedTypes are the normalized types a bearer Verifier never accepts.
var refusedTypes = map[string]bool{
	"application/logout+jwt":       true,
	"application/secevent+jwt":     true,
	"application/" + AssertionType: true,
}

// normalizeType returns the media type of a "typ" value in a form that
// compares with ==: lower case, with the "application/" prefix that RFC
// 7515, section 4.1.9, lets producers omit. The empty value stays empty.
func normalizeType(typ string) string {
	if typ == "" {
		return ""
	}
	typ = strings.ToLower(typ)
	if !strings.Contains(typ, "/") {
		typ = "application/" + typ
	}
	return typ
}

// typeSet returns the normalized allow-list of an issuer, or nil when
// Types is empty.
func typeSet(types []string) map[string]bool {
	if len(types) == 0 {
		return nil
	}
	set := make(map[string]bool, len(types))
	for _, t := range types {
		set[normalizeType(t)] = true
	}
	return set
}

func (is *Issuer) validateTypes() error {
	for _, t := range is.Types {
		if refusedTypes[normalizeType(t)] {
			return fmt.Errorf("%w: issuer %s: type %q never authenticates a request", ErrConfig, is.URL, t)
		}
	}
	return nil
}

// checkType applies an issuer's type rule to the "typ" header of t:
// allowed (nil for the default rule) is the issuer's normalized allow-list.
func checkType(allowed map[string]bool, t *jws) error {
	s, present, isString := t.headerString("typ")
	if present && !isString {
		return tokenErr(ErrTokenType, "typ is not a string")
	}
	typ := normalizeType(s)
	if allowed != nil {
		if !allowed[typ] {
			return tokenErr(ErrTokenType, "typ not in the issuer's list")
		}
		return nil
	}
	if refusedTypes[typ] {
		return tokenErr(ErrTokenType, "typ of a token that does not authenticate requests")
	}
	return nil
}
