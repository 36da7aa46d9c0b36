package httpmw

import (
	"net/http"

	"github.com/tenantkit/tenantkit/tenant"
)

// BearerToken returns the token of the request's Authorization header as
// RFC 6750 section 2.1 defines it: the scheme "Bearer" in any letter case,
// one or more spaces, and a token68 (letters, digits, "-._~+/" and trailing
// "="). It returns tenant.ErrMissingBearer when there is no Authorization
// header or it uses another scheme, and tenant.ErrInvalidBearer when the
// header is repeated or its token is malformed. The token is returned as a
// substring of the header, without copying.
func BearerToken(h http.Header) (string, error) {
	values := h.Values("Authorization")
	switch len(values) {
	case 0:
		return "", tenant.ErrMissingBearer
	case 1:
	default:
		// Two credentials make it ambiguous which one a proxy checked.
		return "", tenant.ErrInvalidBearer
	}
	return parseBearer(values[0])
}

func parseBearer(v string) (string, error) {
	const scheme = "bearer"
	if len(v) < len(scheme) || !equalFoldASCII(v[:len(scheme)], scheme) {
		return "", tenant.ErrMissingBearer
	}
	rest := v[len(scheme):]
	if len(rest) == 0 || rest[0] != ' ' {
		if len(rest) == 0 {
			return "", tenant.ErrInvalidBearer
		}
		return "", tenant.ErrMissingBearer // another scheme, such as "Bearerx"
	}
	i := 0
	for i < len(rest) && rest[i] == ' ' {
		i++
	}
	tok := rest[i:]
	if tok == "" {
		return "", tenant.ErrInvalidBearer
	}
	j := 0
	for j < len(tok) && isToken68(tok[j]) {
		j++
	}
	for k := j; k < len(tok); k++ {
		if tok[k] != '=' {
			return "", tenant.ErrInvalidBearer
		}
	}
	if j == 0 {
		return "", tenant.ErrInvalidBearer
	}
	return tok, nil
}

func isToken68(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}
