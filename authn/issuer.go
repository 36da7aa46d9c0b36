package authn

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tenantkit/tenantkit/tenant"
)

// Token uses of Amazon Cognito tokens (the "token_use" claim).
const (
	TokenUseAccess = "access"
	TokenUseID     = "id"
)

// Issuer is one token issuer a Verifier trusts. Each issuer has its own key
// set: a key published by one issuer never verifies a token that names
// another.
type Issuer struct {
	// URL is the exact "iss" value of the issuer's tokens, such as
	// https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123.
	// It must use https, or plain http to a loopback address or
	// "localhost"; it carries no user information.
	URL string

	// JWKSURL is where the issuer publishes its keys, under the same https
	// rule as URL. When empty it is read from the issuer's OpenID Connect
	// discovery document, whose jwks_uri must pass the rule too, as must
	// every redirect followed while fetching either.
	JWKSURL string

	// Audiences lists accepted "aud" values; a token must name at least one.
	Audiences []string

	// ClientIDs lists accepted "client_id" values. Cognito access tokens
	// carry the app client in "client_id" and have no "aud".
	ClientIDs []string

	// TokenUse, when set, is the required "token_use" claim (TokenUseAccess
	// or TokenUseID), as in Cognito tokens.
	TokenUse string

	// AnyAudience accepts tokens whatever their audience. Without an
	// audience check, a token the issuer minted for any other application
	// is accepted too, so this must be chosen explicitly.
	AnyAudience bool

	// Tenants lists the tenant IDs the issuer may assert; a token of this
	// issuer naming another tenant is refused with ErrTenantNotAllowed.
	// IDs are compared exactly. Use it for an IdP that speaks for some
	// tenants only, such as a customer's own IdP federated beside the
	// platform's user pool. For a dynamic rule, set AnyTenant and decide
	// in a WithCheck hook from Tenant.Issuer and Tenant.ID.
	Tenants []string

	// AnyTenant lets the issuer assert every tenant. When a Verifier
	// trusts more than one issuer, each must set Tenants or AnyTenant, so
	// that adding an issuer never lets it speak for every tenant by
	// accident. A lone issuer may assert any tenant without it.
	AnyTenant bool

	// Types, when set, lists the accepted "typ" header values; "" stands
	// for a token without one. Values compare as media types: case-
	// insensitively, "application/" prefix optional. Without Types any
	// type is accepted except those of tokens that never authenticate a
	// request (logout+jwt, secevent+jwt, AssertionType), which cannot be
	// listed either; a token with an "events" claim (a logout or security
	// event token, whatever its typ) is refused in every case. Cognito
	// tokens carry no typ or "JWT", so Types: []string{"", "JWT"} fits
	// them; RFC 9068 access tokens carry "at+jwt".
	Types []string
}

func (is *Issuer) validate() error {
	if is.URL == "" {
		return fmt.Errorf("%w: issuer with empty URL", ErrConfig)
	}
	if err := checkFetchString(is.URL); err != nil {
		return fmt.Errorf("%w: issuer %s: URL: %w", ErrConfig, is.URL, err)
	}
	if is.JWKSURL != "" {
		if err := checkFetchString(is.JWKSURL); err != nil {
			return fmt.Errorf("%w: issuer %s: JWKS URL: %w", ErrConfig, is.URL, err)
		}
	}
	if len(is.Audiences) == 0 && len(is.ClientIDs) == 0 && !is.AnyAudience {
		return fmt.Errorf("%w: issuer %s: set Audiences or ClientIDs (or AnyAudience)", ErrConfig, is.URL)
	}
	switch is.TokenUse {
	case "", TokenUseAccess, TokenUseID:
	default:
		return fmt.Errorf("%w: issuer %s: token use %q", ErrConfig, is.URL, is.TokenUse)
	}
	if len(is.Tenants) > 0 && is.AnyTenant {
		return fmt.Errorf("%w: issuer %s: set Tenants or AnyTenant, not both", ErrConfig, is.URL)
	}
	if err := is.validateTypes(); err != nil {
		return err
	}
	for i, id := range is.Tenants {
		if err := tenant.ValidateID(id); err != nil {
			return fmt.Errorf("%w: issuer %s: Tenants[%d]: %v", ErrConfig, is.URL, i, err)
		}
	}
	return nil
}

// tenantSet returns the tenants the issuer may assert, or nil for any.
func (is *Issuer) tenantSet() map[string]struct{} {
	if len(is.Tenants) == 0 {
		return nil
	}
	set := make(map[string]struct{}, len(is.Tenants))
	for _, id := range is.Tenants {
		set[id] = struct{}{}
	}
	return set
}

// checkAudience applies the issuer's audience, client and token-use rules
// to verified claims.
func (is *Issuer) checkAudience(c *claimSet) error {
	if is.TokenUse != "" {
		if use, _ := c.str("token_use"); use != is.TokenUse {
			return ErrTokenUse
		}
	}
	if len(is.Audiences) > 0 {
		aud, err := c.GetAudience()
		if err != nil || !slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(is.Audiences, a) }) {
			return ErrAudience
		}
	}
	if len(is.ClientIDs) > 0 {
		if id, _ := c.str("client_id"); !slices.Contains(is.ClientIDs, id) {
			return ErrClientID
		}
	}
	return nil
}

// Cognito returns the Issuer for an Amazon Cognito user pool. tokenUse
// selects which tokens the service accepts: TokenUseAccess (checked against
// "client_id", since Cognito access tokens have no "aud") or TokenUseID
// (checked against "aud"). clientIDs are the pool's app client IDs whose
// tokens are accepted; at least one is required.
//
// The issuer URL and JWKS URL follow Cognito's fixed layout, so no
// discovery round trip is needed. Tokens of a pool carry the tenant in a
// custom attribute; the Verifier's default claim names are Cognito's
// ("custom:tenant_id", "custom:tier").
func Cognito(region, userPoolID, tokenUse string, clientIDs ...string) (Issuer, error) {
	if !validRegion(region) {
		return Issuer{}, fmt.Errorf("%w: Cognito region %q", ErrConfig, region)
	}
	prefix, rest, ok := strings.Cut(userPoolID, "_")
	if !ok || prefix != region || rest == "" || !alnumOnly(rest) {
		return Issuer{}, fmt.Errorf("%w: Cognito user pool ID %q (want %s_XXXXXXXXX)", ErrConfig, userPoolID, region)
	}
	if len(clientIDs) == 0 {
		return Issuer{}, fmt.Errorf("%w: Cognito needs at least one app client ID", ErrConfig)
	}
	url := "https://cognito-idp." + region + ".amazonaws.com/" + userPoolID
	is := Issuer{URL: url, JWKSURL: url + "/.well-known/jwks.json", TokenUse: tokenUse}
	switch tokenUse {
	case TokenUseAccess:
		is.ClientIDs = clientIDs
	case TokenUseID:
		is.Audiences = clientIDs
	default:
		return Issuer{}, fmt.Errorf("%w: Cognito token use %q (want %q or %q)", ErrConfig, tokenUse, TokenUseAccess, TokenUseID)
	}
	return is, nil
}

func validRegion(r string) bool {
	if r == "" || len(r) > 32 {
		return false
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func alnumOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
