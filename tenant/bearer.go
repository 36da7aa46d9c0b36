package tenant

// ParseBearer returns the token of an Authorization header value (or gRPC
// "authorization" metadata value) as RFC 6750 section 2.1 defines it: the
// scheme "Bearer" in any letter case, one or more spaces, and a token68
// (letters, digits, "-._~+/" and trailing "="). It returns ErrMissingBearer
// when the value uses another scheme and ErrInvalidBearer when the token is
// missing or malformed. The token is a substring of v, not a copy.
func ParseBearer(v string) (string, error) {
	tok, err := splitBearer(v)
	if err != nil {
		return "", err
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

// splitBearer checks the scheme and returns the rest of v, unchecked. Relay
// uses it instead of ParseBearer: a token it passes on goes to a Verifier,
// whose strict base64url decoding refuses every byte token68 would, and
// whose cache answers a repeated token before the bytes are scanned at all.
func splitBearer(v string) (string, error) {
	const scheme = "bearer"
	if len(v) < len(scheme) || !equalFoldASCII(v[:len(scheme)], scheme) {
		return "", ErrMissingBearer
	}
	rest := v[len(scheme):]
	if len(rest) == 0 {
		return "", ErrInvalidBearer
	}
	if rest[0] != ' ' {
		return "", ErrMissingBearer // another scheme, such as "Bearerx"
	}
	i := 0
	for i < len(rest) && rest[i] == ' ' {
		i++
	}
	if i == len(rest) {
		return "", ErrInvalidBearer
	}
	return rest[i:], nil
}

// token68 characters as two 64-bit masks over ASCII: letters, digits and
// "-._~+/". A mask test is branch-free, which matters because every byte of
// every request's token passes through it.
const (
	token68Lo = 1<<'+' | 1<<'-' | 1<<'.' | 1<<'/' | (1<<10-1)<<'0'                    // bytes 0-63
	token68Hi = (1<<26-1)<<('A'-64) | 1<<('_'-64) | (1<<26-1)<<('a'-64) | 1<<('~'-64) // bytes 64-127
)

func isToken68(c byte) bool {
	switch c >> 6 {
	case 0:
		return token68Lo&(uint64(1)<<(c&63)) != 0
	case 1:
		return token68Hi&(uint64(1)<<(c&63)) != 0
	}
	return false
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
