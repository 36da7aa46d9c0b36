// Command dataplane is tenantkit's demo: a multi-tenant HTTP service behind
// tenantkit's middleware, called with good and bad credentials, printing
// what each request got. It runs on loopback only and needs no AWS account
// and no Redis: a local OpenID Connect issuer stands in for Amazon Cognito.
//
//	go run ./examples/dataplane
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"text/tabwriter"
	"time"

	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/internal/oidctest"
	"github.com/tenantkit/tenantkit/tenant"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "dataplane:", err)
		os.Exit(1)
	}
}

const audience = "orders-api"

func run(ctx context.Context, out io.Writer) error {
	// The identity provider: in production a Cognito user pool, here a
	// real OIDC issuer on loopback with its own signing key.
	idp, err := oidctest.Start()
	if err != nil {
		return err
	}
	defer idp.Close()
	verifier, err := tenant.NewVerifier([]tenant.Issuer{{URL: idp.URL(), Audiences: []string{audience}}})
	if err != nil {
		return err
	}
	defer verifier.Close()

	// The service: every route sees only the verified tenant.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders", func(w http.ResponseWriter, r *http.Request) {
		t, err := tenant.Require(r.Context())
		if err != nil { // cannot happen behind Authenticate; fail closed anyway
			http.Error(w, "no tenant", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"tenant": t.ID(), "tier": t.Tier()})
	})
	srv, base, err := serve(httpmw.Authenticate(verifier)(mux))
	if err != nil {
		return err
	}
	defer srv.Close()

	// Credentials an attacker might try.
	rogue, err := oidctest.Start() // a real issuer we do not trust
	if err != nil {
		return err
	}
	defer rogue.Close()
	forger, err := oidctest.NewKey(idp.SigningKey().ID, "RS256") // same kid, wrong key
	if err != nil {
		return err
	}
	claims := func(id, tier string) map[string]any {
		return map[string]any{"aud": audience, "custom:tenant_id": id, "custom:tier": tier}
	}
	expired := claims("acme", "enterprise")
	expired["exp"] = time.Now().Add(-time.Minute).Unix()

	calls := []struct {
		what   string
		token  string
		header map[string]string
	}{
		{"acme (enterprise)", idp.Token(claims("acme", "enterprise")), nil},
		{"globex (pro)", idp.Token(claims("globex", "pro")), nil},
		{"initech (free)", idp.Token(claims("initech", "free")), nil},
		{"initech + X-Tenant-ID: acme", idp.Token(claims("initech", "free")), map[string]string{"X-Tenant-ID": "acme"}},
		{"forged signature", forger.Sign(nil, idp.Claims(claims("acme", "enterprise"))), nil},
		{"expired token", idp.Token(expired), nil},
		{"wrong issuer", rogue.Token(claims("acme", "enterprise")), nil},
		{"wildcard tenant ID", idp.Token(claims("*", "enterprise")), nil},
		{"no token", "", nil},
	}

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REQUEST\tSTATUS\tTENANT\tTIER\tREASON")
	client := &http.Client{Timeout: 5 * time.Second}
	for _, c := range calls {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/orders", nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		tenantID, tier, reason := str(body["tenant"]), str(body["tier"]), str(body["detail"])
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", c.what, resp.StatusCode, dash(tenantID), dash(tier), dash(reason))
	}
	return tw.Flush()
}

// serve runs h on a free loopback port.
func serve(h http.Handler) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "serve:", err)
		}
	}()
	return srv, "http://" + ln.Addr().String(), nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
