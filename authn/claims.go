package authn

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// claimSet is the payload of a token. It decodes like jwt.MapClaims but
// refuses a payload that names a member twice: encoding/json would silently
// keep the last value, so {"custom:tenant_id":"a","custom:tenant_id":"b"}
// could show one tenant to a proxy or WAF that keeps the first and another
// to us. RFC 7519, section 4, lets a parser reject such input; we do.
type claimSet struct {
	m map[string]any
}

var errDuplicateMember = errors.New("duplicate member")

func (c *claimSet) UnmarshalJSON(data []byte) error {
	m := make(map[string]any, 16)
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	// Unmarshal keeps one entry per distinct name (after unescaping, so
	// "\u0063ustom:tenant_id" and "custom:tenant_id" collide too); fewer
	// entries than members in the text means a name was repeated.
	if countMembers(data) != len(m) {
		return errDuplicateMember
	}
	c.m = m
	return nil
}

// countMembers counts the members of the top-level JSON object in data,
// which must be valid JSON (json.Unmarshal checked it). Each member has
// exactly one colon at depth 1 outside strings. This costs one pass over the
// bytes and no allocation, far less than decoding token by token.
func countMembers(data []byte) int {
	n, depth, inString := 0, 0, false
	for i := 0; i < len(data); i++ {
		b := data[i]
		if inString {
			switch b {
			case '\\':
				i++ // skip the escaped byte, which may be a quote
			case '"':
				inString = false
			}
			continue
		}
		switch b {
		case '"':
			inString = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case ':':
			if depth == 1 {
				n++
			}
		}
	}
	return n
}

// caseVariant reports whether the payload holds a member whose name differs
// from name only in letter case. Such a twin is rejected for the tenant and
// tier claims because systems that match claim names case-insensitively
// would read a different value than we do.
func (c *claimSet) caseVariant(name string) bool {
	for k := range c.m {
		if k != name && strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

func (c *claimSet) str(name string) (string, bool) {
	s, ok := c.m[name].(string)
	return s, ok
}

// The jwt.Claims methods let golang-jwt's validator check exp, nbf and iat.
func (c *claimSet) GetExpirationTime() (*jwt.NumericDate, error) {
	return jwt.MapClaims(c.m).GetExpirationTime()
}
func (c *claimSet) GetNotBefore() (*jwt.NumericDate, error) {
	return jwt.MapClaims(c.m).GetNotBefore()
}
func (c *claimSet) GetIssuedAt() (*jwt.NumericDate, error) {
	return jwt.MapClaims(c.m).GetIssuedAt()
}
func (c *claimSet) GetIssuer() (string, error)  { return jwt.MapClaims(c.m).GetIssuer() }
func (c *claimSet) GetSubject() (string, error) { return jwt.MapClaims(c.m).GetSubject() }
func (c *claimSet) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.MapClaims(c.m).GetAudience()
}
