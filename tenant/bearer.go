package tenant

// ParseBearer returns the token of an Authorization header value (or gRPC
// "authorization" metadata value) as RFC 6750 section 2.1 defines it: the
// scheme "Bearer" in any letter case, one or more spaces, and a token68
// (letters, digits, "-._~+/" and trailing "="). It returns ErrMissingBearer
// when the value uses another scheme and ErrInvalidBearer when the token is
// missing or malformed. The token is a substring of v, not a copy.
func ParseBearer(v string) (string, error) {
	const scheme = "bearer"
	if len(v) < len(scheme) || !equalFoldASCII(v[:len(scheme)], scheme) {
		return "", ErrMissingBearer
	}
	rest := v[len(scheme):]
	if len(rest) == 0 || rest[0] != ' ' {
		if len(rest) == 0 {
			return "", ErrInvalidBearer
		}
		return "", ErrMissingBearer // another scheme, such as "Bearerx"
	}
	i := 0
	for i < len(rest) && rest[i] == ' ' {
		i++
	}
	tok := rest[i:]
	if tok == "" {
		return "", ErrInvalidBearer
	}
	j := 0
	for j < len(tok) && isToken68(tok[j]) {
		j++
	}
	for k := j; k < len(tok); k++ {
		if tok[k] != '=' {
			return "", ErrInvalidBearer
		}
	}
	if j == 0 {
		return "", ErrInvalidBearer
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
