// Command dataplane is tenantkit's demo: a multi-tenant HTTP edge service
// behind tenantkit's middleware that calls a gRPC backend. It sends requests
// with good and bad credentials and prints what each got and which tenant
// each hop saw, then shows per-tier rate limits and quotas, a tenant
// suspended and another downgraded mid-run through the tenant directory, a
// machine client calling with an API key, and ends with the per-tenant usage
// and cost table.
//
// It runs on loopback only and needs no AWS account and no Redis: a local
// OpenID Connect issuer stands in for Amazon Cognito, the tenant directory
// and the API key store are held in memory (directory.Memory, apikey.Memory;
// DynamoDB in production, through dynamostore) and rate limits are kept in
// process.
//
//	go run ./examples/dataplane                   # everything in process
//	go run ./examples/dataplane -redis 127.0.0.1:6379  # limits shared through Redis
//	go run ./examples/dataplane -telemetry        # also print spans and metrics (to stderr)
//
// Tenant-scoped AWS credentials (STS token vending) have their own demo:
// go run ./examples/vending.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tenantkit/tenantkit/apikey"
	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/directory"
	"github.com/tenantkit/tenantkit/grpcmw"
	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/ratelimit"
	"github.com/tenantkit/tenantkit/ratelimit/redislimit"
	"github.com/tenantkit/tenantkit/tenant"
)

type options struct {
	redisAddr string // share limits through this Redis; "" keeps them in process
	telemetry bool   // print spans and metrics with the stdout exporters

	// The in-process limiter's clock and the demo's pauses; nil means the
	// wall clock. The test passes a virtual clock that moves only when the
	// demo pauses, so the counts it checks do not depend on how fast a
	// loaded machine answers.
	now   func() time.Time
	sleep func(time.Duration)
}

func main() {
	var o options
	flag.StringVar(&o.redisAddr, "redis", "", "share rate limits and quotas through the Redis at `ADDR` (host:port)")
	flag.BoolVar(&o.telemetry, "telemetry", false, "print spans and metrics to standard error")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, o); err != nil {
		fmt.Fprintln(os.Stderr, "dataplane:", err)
		os.Exit(1)
	}
}

const audience = "orders-api"

// The usage plans of the demo's tiers: small numbers, so that a few
// requests show each limit.
func plans() (*ratelimit.Plans, error) {
	return ratelimit.NewPlans(
		ratelimit.Plan{Rate: ratelimit.PerMinute(10), Burst: 2}, // unknown tiers: never unlimited
		map[string]ratelimit.Plan{
			"free":       {Rate: ratelimit.PerSecond(20), Burst: 5, Quota: ratelimit.Daily(12)},
			"pro":        {Rate: ratelimit.PerMinute(600), Burst: 50, Quota: ratelimit.Monthly(100_000)},
			"enterprise": {Rate: ratelimit.PerMinute(10_000), Burst: 1_000, InFlight: 200},
		})
}

func run(ctx context.Context, out io.Writer, o options) error {
	// The identity provider: in production a Cognito user pool, here a
	// real OIDC issuer on loopback with its own signing key.
	idp, err := authntest.StartIssuer()
	if err != nil {
		return err
	}
	defer idp.Close()
	verifier, err := authn.NewVerifier([]authn.Issuer{{URL: idp.URL(), Audiences: []string{audience}}})
	if err != nil {
		return err
	}
	defer verifier.Close()

	tel, err := newTelemetry(os.Stderr, o.telemetry) // apart from the tables on out
	if err != nil {
		return err
	}
	defer tel.shutdown()

	// The edge calls the backend with a signed internal assertion: a
	// short-lived token minted per tenant, verified by the backend with the
	// same key ring.
	signing, err := authn.GenerateRingKey("2026-11")
	if err != nil {
		return err
	}
	ring, err := authn.NewKeyRing(signing)
	if err != nil {
		return err
	}
	toBackend, err := authn.NewAssertion(ring, "orders-backend")
	if err != nil {
		return err
	}
	backend := grpc.NewServer(tel.grpcServerOptions(grpc.ChainUnaryInterceptor(grpcmw.UnaryServerAuthenticate(nil, grpcmw.WithAssertion(toBackend))))...)
	backend.RegisterService(&ordersDesc, nil)
	backendAddr, err := serveGRPC(backend)
	if err != nil {
		return err
	}
	defer backend.Stop()
	conn, err := grpc.NewClient(backendAddr, tel.grpcClientOptions(grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(grpcmw.UnaryClientPropagate(toBackend)))...)
	if err != nil {
		return err
	}
	defer conn.Close()

	// Rate limits and quotas per tier, in process or shared through Redis.
	tierPlans, err := plans()
	if err != nil {
		return err
	}
	var limiter ratelimit.Limiter
	var limiterOpts []ratelimit.Option
	if o.now != nil {
		limiterOpts = append(limiterOpts, ratelimit.WithClock(o.now))
	}
	limiter, err = ratelimit.NewLocal(limiterOpts...)
	if err != nil {
		return err
	}
	limits := "in process"
	if o.redisAddr != "" {
		rdb := redis.NewClient(&redis.Options{Addr: o.redisAddr})
		defer rdb.Close()
		if err := rdb.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("redis at %s: %w", o.redisAddr, err)
		}
		// A fresh key prefix per run, so that the demo's quotas start from
		// zero however often it runs against the same Redis.
		limiter, err = redislimit.New(rdb, redislimit.WithPrefix(fmt.Sprintf("tenantkit-demo:%d:", time.Now().UnixNano())))
		if err != nil {
			return err
		}
		limits = "shared through Redis at " + o.redisAddr
	}

	// The tenant directory, the control plane's record of each tenant's
	// status and current tier, behind a cache (10 s TTL, served stale for
	// up to 5 min while the directory fails). Its tier overrides the
	// token's tier claim.
	dir := directory.NewMemory(tenants())
	cache, err := directory.NewCache(dir)
	if err != nil {
		return err
	}
	// API keys for machine clients: the store keeps a digest of each
	// secret, the Verifier caches verified keys, and the Manager tells it
	// at once when a key is revoked.
	keyStore := apikey.NewMemory()
	keyMgr, err := apikey.NewManager(keyStore)
	if err != nil {
		return err
	}
	keys, err := apikey.NewVerifier(keyStore)
	if err != nil {
		return err
	}
	keyMgr.OnChange(keys.Invalidate)
	// The control plane's events (an EventBridge API destination in
	// production) reach the cache here, on a listener of their own.
	controlPlane := http.NewServeMux()
	controlPlane.Handle("POST /events/tenants", directory.EventHandler(cache))
	events, eventsBase, err := serve(controlPlane)
	if err != nil {
		return err
	}
	defer events.Close()

	// The edge: authentication (a JWT or an API key, as a bearer token or
	// in X-API-Key, and the tenant admitted by the directory), per-tenant
	// metrics and usage, rate limits, then the application, which sees
	// only the verified tenant.
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
	auth := httpmw.Authenticate(directory.Verifier(apikey.Dispatch(verifier, keys), cache),
		httpmw.WithExtractor(apikey.Header{Verifier: directory.Verifier(keys, cache)}))
	edge := auth(httpmw.Telemetry(tel.metrics, httpmw.WithLabeler(otelhttpLabels))(httpmw.RateLimit(limiter, tierPlans,
		httpmw.WithDecisionHook(tel.recordDecision))(mux)))
	srv, base, err := serve(otelhttp.NewHandler(edge, "edge", tel.otelhttpOptions()...))
	if err != nil {
		return err
	}
	defer srv.Close()
	d := &demo{ctx: ctx, out: out, base: base, idp: idp, client: &http.Client{Timeout: 5 * time.Second},
		dir: dir, events: eventsBase + "/events/tenants", keys: keyMgr, sleep: o.sleep}
	if d.sleep == nil {
		d.sleep = time.Sleep
	}

	if err := d.identity(); err != nil {
		return err
	}
	if err := d.leak(verifier, conn); err != nil {
		return err
	}
	if err := d.rateLimits(limits); err != nil {
		return err
	}
	if err := d.suspension(); err != nil {
		return err
	}
	if err := d.downgrade(); err != nil {
		return err
	}
	if err := d.machineClient(); err != nil {
		return err
	}
	return tel.usageTable(out)
}

// demo holds what the parts of the demo share.
type demo struct {
	ctx    context.Context
	out    io.Writer
	base   string
	idp    *authntest.Issuer
	client *http.Client
	dir    *directory.Memory // the control plane's tenant directory
	events string            // URL of the edge's control-plane event endpoint
	keys   *apikey.Manager
	sleep  func(time.Duration)
}

func (d *demo) claims(id, tier string) map[string]any {
	return map[string]any{"aud": audience, "custom:tenant_id": id, "custom:tier": tier}
}

// result is what one request to the edge got.
type result struct {
	status                         int
	tenant, tier, backend, problem string
	reason                         string // refusal reason: rate, quota, in-flight, tenant-suspended
	problemType                    string // the problem type URI of a refusal
}

func (d *demo) get(token string, header map[string]string) (result, error) {
	req, _ := http.NewRequestWithContext(d.ctx, http.MethodGet, d.base+"/orders", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return result{status: resp.StatusCode, tenant: str(body["tenant"]), tier: str(body["tier"]),
		backend: str(body["backend"]), problem: str(body["detail"]), reason: str(body["reason"]), problemType: str(body["type"])}, nil
}

// identity sends good and bad credentials and shows what each hop saw.
func (d *demo) identity() error {
	rogue, err := authntest.StartIssuer() // a real issuer we do not trust
	if err != nil {
		return err
	}
	defer rogue.Close()
	forger, err := authntest.NewKey(d.idp.SigningKey().ID, "RS256") // same kid, wrong key
	if err != nil {
		return err
	}
	expired := d.claims("acme", "enterprise")
	expired["exp"] = time.Now().Add(-time.Minute).Unix()

	calls := []struct {
		what   string
		token  string
		header map[string]string
	}{
		{"acme (enterprise)", d.idp.TokenWithClaims(d.claims("acme", "enterprise")), nil},
		{"globex (pro)", d.idp.TokenWithClaims(d.claims("globex", "pro")), nil},
		{"initech (free)", d.idp.TokenWithClaims(d.claims("initech", "free")), nil},
		{"initech + X-Tenant-ID: acme", d.idp.TokenWithClaims(d.claims("initech", "free")), map[string]string{"X-Tenant-ID": "acme"}},
		{"forged signature", forger.Sign(nil, d.idp.Claims(d.claims("acme", "enterprise"))), nil},
		{"expired token", d.idp.TokenWithClaims(expired), nil},
		{"wrong issuer", rogue.TokenWithClaims(d.claims("acme", "enterprise")), nil},
		{"wildcard tenant ID", d.idp.TokenWithClaims(d.claims("*", "enterprise")), nil},
		{"no token", "", nil},
	}
	fmt.Fprintln(d.out, "1. Identity: who is calling, as each hop sees it")
	tw := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REQUEST\tSTATUS\tEDGE SAW\tTIER\tBACKEND SAW\tREASON")
	for _, c := range calls {
		r, err := d.get(c.token, c.header)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", c.what, r.status, dash(r.tenant), dash(r.tier), dash(r.backend), dash(r.problem))
	}
	return tw.Flush()
}

// leak shows the classic tenant leak: work handed to a goroutine with
// context.Background() has no tenant, so its backend call is refused before
// it leaves the process; context.WithoutCancel keeps the tenant.
func (d *demo) leak(v *authn.Verifier, conn *grpc.ClientConn) error {
	acme, err := v.Verify(d.ctx, d.idp.TokenWithClaims(d.claims("acme", "enterprise")))
	if err != nil {
		return err
	}
	reqCtx := tenant.NewContext(d.ctx, acme)
	// One channel per goroutine: they finish in either order.
	lost, kept := make(chan string, 1), make(chan string, 1)
	go func() { _, err := backendOwner(context.Background(), conn); lost <- fmt.Sprint(err) }()
	go func() { owner, _ := backendOwner(context.WithoutCancel(reqCtx), conn); kept <- owner }()
	fmt.Fprintln(d.out, "\n2. Background work")
	fmt.Fprintf(d.out, "with context.Background():   %s\n", <-lost)
	fmt.Fprintf(d.out, "with context.WithoutCancel: backend saw %s\n", <-kept)
	return nil
}

// rateLimits sends a quick burst per tenant, then a slow trickle for the
// free tier: the burst trips the free tier's rate limit (its bucket holds 5,
// two of them spent in part 1), the trickle stays under the rate and runs
// into the daily quota of 12, and the other tiers pass.
func (d *demo) rateLimits(where string) error {
	fmt.Fprintf(d.out, "\n3. Rate limits and quotas per tier (%s)\n", where)
	tw := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TENANT\tTIER\tPLAN\tTRAFFIC\t200\t429 RATE\t429 QUOTA")
	runs := []struct {
		id, tier, plan string
		n              int
		gap            time.Duration
	}{
		{"acme", "enterprise", "10000/min, burst 1000", 15, 0},
		{"globex", "pro", "600/min, burst 50, 100000/month", 15, 0},
		{"initech", "free", "20/s, burst 5, 12/day", 15, 0},
		{"initech", "free", "20/s, burst 5, 12/day", 10, 100 * time.Millisecond},
	}
	for _, run := range runs {
		token := d.idp.TokenWithClaims(d.claims(run.id, run.tier))
		counts := map[string]int{}
		for range run.n {
			d.sleep(run.gap) // a refill of 2 tokens at 20/s: the rate never denies
			r, err := d.get(token, nil)
			if err != nil {
				return err
			}
			counts[fmt.Sprint(r.status, r.reason)]++
		}
		traffic := fmt.Sprintf("%d in a row", run.n)
		if run.gap > 0 {
			traffic = fmt.Sprintf("%d, %v apart", run.n, run.gap)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\n", run.id, run.tier, run.plan, traffic, counts["200"], counts["429rate"], counts["429quota"])
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
	return strings.TrimSpace(s)
}

// otelhttpLabels puts the tenant attributes on otelhttp's own metrics
// (http.server.request.duration and the body sizes).
func otelhttpLabels(ctx context.Context, attrs []attribute.KeyValue) {
	if l, ok := otelhttp.LabelerFromContext(ctx); ok {
		l.Add(attrs...)
	}
}
