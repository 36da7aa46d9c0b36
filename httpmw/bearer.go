package httpmw

import (
	"net/http"

	"github.com/tenantkit/tenantkit/tenant"
)

// BearerToken returns the token of the request's Authorization header (see
// tenant.ParseBearer for the syntax). It returns tenant.ErrMissingBearer when
// there is no Authorization header or it uses another scheme, and
// tenant.ErrInvalidBearer when the header is repeated (in one letter case or
// several) or malformed.
func BearerToken(h http.Header) (string, error) {
	// The rule of tenant.ExtractAny, which Authenticate applies: a field
	// is read in every letter case, and more than one value is refused,
	// because two credentials make it ambiguous which one a proxy checked.
	values := headerCarrier(h).Values(tenant.AuthorizationKey)
	switch len(values) {
	case 0:
		return "", tenant.ErrMissingBearer
	case 1:
	default:
		return "", tenant.ErrInvalidBearer
	}
	return tenant.ParseBearer(values[0])
}
