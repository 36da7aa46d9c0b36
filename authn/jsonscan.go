package authn

import (
	"encoding/json"
	"errors"
)

// Limits on the shape of a token, checked before its signature. Real
// headers are a handful of short members; real claims nest a few levels
// (Keycloak's resource_access.<client>.roles is three).
const (
	maxHeaderSize = 1 << 10
	maxClaimDepth = 16
)

var (
	errNotObject = errors.New("not a JSON object")
	errTooDeep   = errors.New("JSON nested too deep")
	errTruncated = errors.New("JSON text unbalanced or truncated")
)

// jsonShape is what scanJSON learns about a JSON object.
type jsonShape struct {
	depth   int    // deepest nesting of objects and arrays; 1 for a flat object
	members int    // members of the top-level object
	value   []byte // the raw string (quotes included) of the last top-level member named key, if a string
	found   int    // how many top-level members are named key
}

// scanJSON makes one pass over data, which must hold one JSON object, to
// bound its nesting and to find the top-level member named key, without
// allocating. It balances brackets and strings but does not check the rest
// of the grammar: an object it accepts may still be invalid JSON, which
// the decoder that runs later refuses. Its cost is a few instructions a
// byte, so that a hostile token costs little before its signature is
// checked; the decoder, which allocates for every value, runs only on
// signed payloads.
func scanJSON(data []byte, maxDepth int, key string) (jsonShape, error) {
	var sh jsonShape
	i := skipSpace(data, 0)
	if i == len(data) || data[i] != '{' {
		return sh, errNotObject
	}
	depth, wantKey := 0, false
	for i < len(data) {
		switch b := data[i]; b {
		case '"':
			end := stringEnd(data, i)
			if end < 0 {
				return sh, errTruncated
			}
			if depth == 1 && wantKey {
				wantKey = false
				sh.members++
				if jsonStringEquals(data[i:end], key) {
					sh.found++
					sh.value = nil
					if j := skipSpace(data, end); j < len(data) && data[j] == ':' {
						if j = skipSpace(data, j+1); j < len(data) && data[j] == '"' {
							if e := stringEnd(data, j); e > 0 {
								sh.value = data[j:e]
							}
						}
					}
				}
			}
			i = end
			continue
		case '{', '[':
			depth++
			if depth > maxDepth {
				return sh, errTooDeep
			}
			sh.depth = max(sh.depth, depth)
			wantKey = depth == 1
		case '}', ']':
			depth--
			if depth < 0 {
				return sh, errTruncated
			}
			if depth == 0 {
				if skipSpace(data, i+1) != len(data) {
					return sh, errTruncated
				}
				return sh, nil
			}
		case ',':
			if depth == 1 {
				wantKey = true
			}
		}
		i++
	}
	return sh, errTruncated
}

// stringEnd returns the index just past the JSON string that starts with
// the quote at data[i], or -1 if it is not terminated.
func stringEnd(data []byte, i int) int {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// jsonStringEquals reports whether the JSON string raw (quotes included)
// decodes to s.
func jsonStringEquals(raw []byte, s string) bool {
	if plainASCII(raw) {
		return string(raw[1:len(raw)-1]) == s
	}
	dec, ok := jsonString(raw)
	return ok && dec == s
}

// jsonString decodes the JSON string raw (quotes included) as
// encoding/json does, invalid UTF-8 becoming U+FFFD. Only a string with an
// escape, a control character or a non-ASCII byte goes to the decoder.
func jsonString(raw []byte) (string, bool) {
	if plainASCII(raw) {
		return string(raw[1 : len(raw)-1]), true
	}
	var dec string
	err := json.Unmarshal(raw, &dec)
	return dec, err == nil
}

// plainASCII reports whether the body of the JSON string raw is printable
// ASCII without escapes, and so reads the same raw and decoded.
func plainASCII(raw []byte) bool {
	for _, c := range raw[1 : len(raw)-1] {
		if c == '\\' || c < 0x20 || c >= 0x80 {
			return false
		}
	}
	return true
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}
