package httpmw

import (
	"net/http"

	"github.com/tenantkit/tenantkit/tenant"
)

// BearerToken returns the token of the request's Authorization header (see
// tenant.ParseBearer for the syntax). It returns tenant.ErrMissingBearer when
// there is no Authorization header or it uses another scheme, and
// tenant.ErrInvalidBearer when the header is repeated or malformed.
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
	return tenant.ParseBearer(values[0])
}
