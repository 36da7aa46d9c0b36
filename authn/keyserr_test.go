package authn_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/tenant"
)

// When keys cannot be fetched, Verify's error matches ErrKeysUnavailable,
// names the issuer and wraps the fetch failure, so callers can tell a
// misconfigured JWKS URL (404) from an outage (connection refused).
func TestKeysUnavailableWrapsCause(t *testing.T) {
	t.Run("status 404", func(t *testing.T) {
		a := startIssuer(t)
		token := tok(a, a.SigningKey(), "acme")
		v := newVerifier(t, []authn.Issuer{{URL: a.URL(), JWKSURL: a.URL() + "/no-such-jwks.json", Audiences: []string{"api"}}})
		_, err := v.Verify(context.Background(), token)
		assertKeysUnavailable(t, err, a.URL(), token)
		var se *authn.HTTPStatusError
		if !errors.As(err, &se) || se.StatusCode != 404 || se.URL != a.URL()+"/no-such-jwks.json" {
			t.Fatalf("err = %v, want an *HTTPStatusError with status 404", err)
		}
	})
	t.Run("issuer down", func(t *testing.T) {
		a := startIssuer(t)
		token := tok(a, a.SigningKey(), "acme")
		a.Down()
		v := newVerifier(t, issuerCfg(a), authn.WithMissCooldown(time.Hour))
		_, err := v.Verify(context.Background(), token)
		assertKeysUnavailable(t, err, a.URL(), token)
		var oe *net.OpError
		if !errors.As(err, &oe) || oe.Op != "dial" {
			t.Fatalf("err = %v, want a dial *net.OpError", err)
		}
		// Inside the miss cooldown the error comes at once, with the
		// cause of the fetch that failed.
		_, err = v.Verify(context.Background(), token)
		assertKeysUnavailable(t, err, a.URL(), token)
		if !errors.As(err, &oe) {
			t.Fatalf("err inside the cooldown = %v, want the dial error", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		a := startIssuer(t)
		token := tok(a, a.SigningKey(), "acme")
		a.SetDelay(2 * time.Second)
		v := newVerifier(t, issuerCfg(a), authn.WithFetchTimeout(100*time.Millisecond))
		_, err := v.Verify(context.Background(), token)
		assertKeysUnavailable(t, err, a.URL(), token)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want context.DeadlineExceeded", err)
		}
	})
}

func assertKeysUnavailable(t *testing.T, err error, issuer, token string) {
	t.Helper()
	if !errors.Is(err, authn.ErrKeysUnavailable) || errors.Is(err, tenant.ErrInvalidToken) {
		t.Fatalf("err = %v, want ErrKeysUnavailable only", err)
	}
	if !strings.Contains(err.Error(), issuer) {
		t.Fatalf("err = %q does not name the issuer %s", err, issuer)
	}
	assertNoTokenBytes(t, err, token)
}
