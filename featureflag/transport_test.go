package featureflag_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/featureflag"
	"github.com/tenantkit/tenantkit/grpcmw"
	"github.com/tenantkit/tenantkit/httpmw"
)

// evaluate is what the handlers of these tests do: evaluate "whoami" with
// an invocation context built from client-supplied data (query parameters
// or a request field), the mistake the guard exists for. It returns the
// value and the class of the error.
func evaluate(ctx context.Context, client *openfeature.Client, supplied url.Values) string {
	m := map[string]any{}
	for k, v := range supplied {
		m[k] = v[0]
	}
	v, err := client.StringValue(ctx, "whoami", "default", openfeature.NewTargetlessEvaluationContext(m))
	switch {
	case err == nil:
		return v
	case errors.Is(err, featureflag.ErrOverride):
		return v + " override"
	case errors.Is(err, featureflag.ErrNoTenant):
		return v + " no-tenant"
	}
	return v + " " + err.Error()
}

// The cases of both transports: token tenant and tier, what the client
// supplies, what the handler evaluated.
var targetingCases = []struct {
	name           string
	id, tier       string
	supplied, want string
}{
	{"acme", "acme", "pro", "", "acme/pro"},
	{"globex", "globex", "free", "", "globex/free"},
	{"tenant without tier", "initech", "", "", "initech/<nil>"},
	{"unrelated attribute", "acme", "pro", "country=NZ", "acme/pro"},
	{"tenant ID override", "acme", "pro", "tenantId=globex", "default override"},
	{"targeting key override", "acme", "pro", "targetingKey=globex", "default override"},
	{"case variant override", "acme", "pro", "TENANT_ID=globex", "default override"},
	{"tier upgrade", "globex", "free", "tenant.tier=enterprise", "default override"},
	{"the same tenant", "acme", "pro", "tenantId=acme", "acme/pro"},
}

func TestTargetingOverHTTP(t *testing.T) {
	idp := authntest.NewIssuer(t)
	verifier := authntest.NewVerifier(t, idp)
	g := newGuard(t)
	client := newAPI(t, g, whoamiFlags()).NewClient()

	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, evaluate(r.Context(), client, r.URL.Query()))
	})
	mux := http.NewServeMux()
	mux.Handle("/", app)
	h := httpmw.Authenticate(verifier, httpmw.WithPublic(func(r *http.Request) bool { return r.URL.Path == "/public" }))(featureflag.Targeting()(mux))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	base := "http://" + ln.Addr().String()

	get := func(path, token string, header ...string) string {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, b)
	}

	overrides := 0
	for _, tc := range targetingCases {
		got := get("/flags?"+tc.supplied, idp.Token(tc.id, tc.tier))
		if got != "200 "+tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, "200 "+tc.want)
		}
		if strings.HasSuffix(tc.want, "override") {
			overrides++
		}
	}
	// A spoofed tenant header is removed by Authenticate before Targeting.
	if got := get("/flags", idp.Token("acme", "pro"), "X-Tenant-ID", "globex"); got != "200 acme/pro" {
		t.Errorf("spoofed header: %q", got)
	}
	// A public route has no tenant: no transaction context, and a
	// client-supplied tenant is refused.
	if got := get("/public", ""); got != "200 <nil>/<nil>" {
		t.Errorf("public: %q", got)
	}
	if got := get("/public?tenantId=acme", ""); got != "200 default no-tenant" {
		t.Errorf("public with a supplied tenant: %q", got)
	}
	if got := get("/flags", "not-a-token"); !strings.HasPrefix(got, "401 ") {
		t.Errorf("bad token: %q", got)
	}
	if n := g.Refused(); n != uint64(overrides+1) {
		t.Errorf("refused %d, want %d", n, overrides+1)
	}

	// Concurrent requests of two tenants each see their own.
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := range 64 {
		wg.Go(func() {
			id, tier := "acme", "pro"
			if i%2 == 1 {
				id, tier = "globex", "free"
			}
			req, _ := http.NewRequest(http.MethodGet, base+"/flags", nil)
			req.Header.Set("Authorization", "Bearer "+idp.Token(id, tier))
			resp, err := hc.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != id+"/"+tier {
				errs <- fmt.Sprintf("%s saw %q", id, b)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

type flagHealth struct {
	grpc_health_v1.UnimplementedHealthServer
	client *openfeature.Client
}

// Check and Watch evaluate with the request's service field as
// client-supplied attributes and answer with the result as the status of
// an unknown service name, read back through the error detail: they put
// it in a trailer.
func (h *flagHealth) Check(ctx context.Context, req *grpc_health_v1.HealthCheckRequest) (*grpc_health_v1.HealthCheckResponse, error) {
	supplied, _ := url.ParseQuery(req.GetService())
	_ = grpc.SetTrailer(ctx, metadata.Pairs("flag", evaluate(ctx, h.client, supplied)))
	return &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}, nil
}

func (h *flagHealth) Watch(req *grpc_health_v1.HealthCheckRequest, ss grpc_health_v1.Health_WatchServer) error {
	supplied, _ := url.ParseQuery(req.GetService())
	ss.SetTrailer(metadata.Pairs("flag", evaluate(ss.Context(), h.client, supplied)))
	return ss.Send(&grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING})
}

func TestTargetingOverGRPC(t *testing.T) {
	idp := authntest.NewIssuer(t)
	verifier := authntest.NewVerifier(t, idp)
	g := newGuard(t)
	client := newAPI(t, g, whoamiFlags()).NewClient()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(
		grpc.ChainUnaryInterceptor(grpcmw.UnaryServerAuthenticate(verifier), featureflag.UnaryServerTargeting()),
		grpc.ChainStreamInterceptor(grpcmw.StreamServerAuthenticate(verifier), featureflag.StreamServerTargeting()),
	)
	grpc_health_v1.RegisterHealthServer(s, &flagHealth{client: client})
	go s.Serve(ln)
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	hc := grpc_health_v1.NewHealthClient(conn)

	overrides := 0
	for _, tc := range targetingCases {
		ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(),
			"authorization", "Bearer "+idp.Token(tc.id, tc.tier), "x-tenant-id", "globex"), 10*time.Second)
		var trailer metadata.MD
		if _, err := hc.Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: tc.supplied}, grpc.Trailer(&trailer)); err != nil {
			t.Fatalf("%s: Check: %v", tc.name, err)
		}
		if got := strings.Join(trailer.Get("flag"), ","); got != tc.want {
			t.Errorf("%s: unary got %q, want %q", tc.name, got, tc.want)
		}
		stream, err := hc.Watch(ctx, &grpc_health_v1.HealthCheckRequest{Service: tc.supplied})
		if err != nil {
			t.Fatalf("%s: Watch: %v", tc.name, err)
		}
		if _, err := stream.Recv(); err != nil {
			t.Fatalf("%s: Recv: %v", tc.name, err)
		}
		if _, err := stream.Recv(); err != io.EOF {
			t.Fatalf("%s: second Recv: %v", tc.name, err)
		}
		if got := strings.Join(stream.Trailer().Get("flag"), ","); got != tc.want {
			t.Errorf("%s: stream got %q, want %q", tc.name, got, tc.want)
		}
		cancel()
		if strings.HasSuffix(tc.want, "override") {
			overrides += 2
		}
	}
	if n := g.Refused(); n != uint64(overrides) {
		t.Errorf("refused %d, want %d", n, overrides)
	}
}
