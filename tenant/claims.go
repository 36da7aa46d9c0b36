package tenant

import (
	"bytes"
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
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errors.New("claims are not a JSON object")
	}
	m := make(map[string]any, 16)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		if _, dup := m[name]; dup {
			return errDuplicateMember
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return err
		}
		m[name] = v
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return err
	}
	c.m = m
	return nil
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
