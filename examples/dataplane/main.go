// Command dataplane is tenantkit's demo: a multi-tenant HTTP edge service
// behind tenantkit's middleware that calls a gRPC backend, called with good
// and bad credentials, printing what each request got and which tenant each
// hop saw. It runs on loopback only and needs no AWS account and no Redis:
// a local OpenID Connect issuer stands in for Amazon Cognito.
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

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tenantkit/tenantkit/grpcmw"
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

	// The edge calls the backend with a signed internal assertion: a
	// short-lived token minted per tenant, verified by the backend with the
	// same key ring.
	signing, err := tenant.GenerateRingKey("2026-11")
	if err != nil {
		return err
	}
	ring, err := tenant.NewKeyRing(signing)
	if err != nil {
		return err
	}
	toBackend, err := tenant.NewAssertion(ring, "orders-backend")
	if err != nil {
		return err
	}
	backend := grpc.NewServer(grpc.ChainUnaryInterceptor(grpcmw.UnaryServerInterceptor(nil, grpcmw.WithAssertion(toBackend))))
	backend.RegisterService(&ordersDesc, nil)
	backendAddr, err := serveGRPC(backend)
	if err != nil {
		return err
	}
	defer backend.Stop()
	conn, err := grpc.NewClient(backendAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(grpcmw.UnaryClientInterceptor(toBackend)))
	if err != nil {
		return err
	}
	defer conn.Close()

	// The edge: every route sees only the verified tenant.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders", func(w http.ResponseWriter, r *http.Request) {
		t, err := tenant.Require(r.Context())
		if err != nil { // cannot happen behind Authenticate; fail closed anyway
			http.Error(w, "no tenant", http.StatusInternalServerError)
			return
		}
		owner, err := backendOwner(r.Context(), conn)
		if err != nil {
			http.Error(w, "backend: "+err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"tenant": t.ID(), "tier": t.Tier(), "backend": owner})
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
	fmt.Fprintln(tw, "REQUEST\tSTATUS\tEDGE SAW\tTIER\tBACKEND SAW\tREASON")
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
		tenantID, tier, seen, reason := str(body["tenant"]), str(body["tier"]), str(body["backend"]), str(body["detail"])
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", c.what, resp.StatusCode, dash(tenantID), dash(tier), dash(seen), dash(reason))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	// The classic leak: work handed to a goroutine with
	// context.Background() has no tenant, so its backend call is refused
	// before it leaves the process. context.WithoutCancel keeps the tenant.
	acme, err := verifier.Verify(ctx, idp.Token(claims("acme", "enterprise")))
	if err != nil {
		return err
	}
	reqCtx := tenant.NewContext(ctx, acme)
	done := make(chan string, 2)
	go func() { _, err := backendOwner(context.Background(), conn); done <- fmt.Sprint(err) }()
	go func() { owner, _ := backendOwner(context.WithoutCancel(reqCtx), conn); done <- owner }()
	fmt.Fprintf(out, "\nbackground call with context.Background():   %s\n", <-done)
	fmt.Fprintf(out, "background call with context.WithoutCancel: backend saw %s\n", <-done)
	return nil
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
