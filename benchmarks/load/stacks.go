package load

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/authn/authntest"
	"github.com/tenantkit/tenantkit/httpmw"
	"github.com/tenantkit/tenantkit/ratelimit"
	"github.com/tenantkit/tenantkit/ratelimit/redislimit"
	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

// Transport of a stack.
const (
	HTTP = "http"
	GRPC = "grpc"
)

// The bare stacks, to which every other stack of their transport is
// compared.
const (
	BareHTTP = "bare"
	BareGRPC = "grpc-bare"
)

// Info describes a stack: its name, its transport, what it runs, and for a
// floor the tenantkit stack it is the floor of.
type Info struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Desc    string `json:"desc"`
	FloorOf string `json:"floor_of,omitempty"` // set for a floor stack
	Redis   bool   `json:"redis,omitempty"`    // needs Redis
	Addr    string `json:"addr,omitempty"`     // host:port once served
}

// Base returns the name of the bare stack of i's transport.
func (i Info) Base() string {
	if i.Kind == GRPC {
		return BareGRPC
	}
	return BareHTTP
}

// catalog lists every stack in report order. Floors come after the stack
// they bound.
var catalog = []Info{
	{Name: BareHTTP, Kind: HTTP, Desc: "net/http and the trivial handler"},
	{Name: "authn", Kind: HTTP, Desc: "Authenticate (verified-token cache)"},
	{Name: "authn+ratelimit", Kind: HTTP, Desc: "Authenticate + RateLimit (in process)"},
	{Name: "authn+telemetry", Kind: HTTP, Desc: "Authenticate + Telemetry (SDK meter provider, manual reader)"},
	{Name: "authn+telemetry+usage", Kind: HTTP, Desc: "Authenticate + Telemetry with usage metering"},
	{Name: "full", Kind: HTTP, Desc: "Authenticate + Telemetry with usage + RateLimit (in process)"},
	{Name: "full-redis", Kind: HTTP, Desc: "the full chain with the shared Redis limiter (redislimit)", Redis: true},
	{Name: "floor-lookup", Kind: HTTP, FloorOf: "authn", Desc: "token looked up in a map under a read lock, tenant put in the context"},
	{Name: "floor-jwt", Kind: HTTP, FloorOf: "authn", Desc: "golang-jwt parses and verifies the RS256 token on every request (no cache)"},
	{Name: "floor-otel1", Kind: HTTP, FloorOf: "authn+telemetry", Desc: "floor-lookup + one SDK histogram record with a prebuilt attribute set (what the metrics make per request)"},
	{Name: "floor-otel4", Kind: HTTP, FloorOf: "authn+telemetry", Desc: "floor-lookup + four SDK records per request (3 counters, 1 histogram: what the metrics made before they kept their counters themselves)"},
	{Name: "floor-full", Kind: HTTP, FloorOf: "full", Desc: "floor-lookup + x/time/rate Allow per tenant + one SDK histogram record"},
	{Name: "floor-redis", Kind: HTTP, FloorOf: "full-redis", Desc: "floor-lookup + one go-redis script round trip (return 1)", Redis: true},
	{Name: BareGRPC, Kind: GRPC, Desc: "grpc-go and the trivial unary method"},
	{Name: "grpc-authn", Kind: GRPC, Desc: "UnaryServerAuthenticate (verified-token cache)"},
	{Name: "grpc-full", Kind: GRPC, Desc: "UnaryServerAuthenticate + Telemetry with usage + RateLimit (in process)"},
}

// Catalog returns the description of every stack, in report order.
func Catalog() []Info { return append([]Info(nil), catalog...) }

// plans are the tiers' plans: generous enough that the load is never
// limited (the harness measures the cost of a decision, not a refusal).
func plans() (*ratelimit.Plans, error) {
	free := ratelimit.Plan{Rate: ratelimit.PerSecond(20_000), Burst: 20_000}
	return ratelimit.NewPlans(free, map[string]ratelimit.Plan{
		"free":       free,
		"pro":        {Rate: ratelimit.PerSecond(50_000), Burst: 50_000},
		"enterprise": {Rate: ratelimit.PerSecond(100_000), Burst: 100_000},
	})
}

// handler is the trivial handler of every HTTP stack.
func handler(seen *sync.Map) http.Handler { return &trivial{seen: seen, body: []byte("ok")} }

// trivial is the handler of the HTTP stacks. It is a named type, not a
// closure, so that a CPU profile names it the same however it is compiled
// (see isHandler).
type trivial struct {
	seen *sync.Map
	body []byte
}

func (h *trivial) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.seen != nil {
		if t, ok := tenant.FromContext(r.Context()); ok {
			h.seen.Store(t.ID(), struct{}{})
		}
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write(h.body)
}

// built is a stack once built: its handler or gRPC server, and what to
// close with it.
type built struct {
	info   Info
	http   http.Handler
	grpc   *grpc.Server
	seen   *sync.Map // tenants the handler saw, with Config.CountTenants
	closer []func()
}

func (b *built) onClose(f func()) { b.closer = append(b.closer, f) }

// builder holds what the stacks share: the issuer, the tokens, Redis.
type builder struct {
	cfg    Config
	idp    *authntest.Issuer
	toks   []Token
	plans  *ratelimit.Plans
	redis  *redis.Client
	prefix string
}

func (bd *builder) verifier(b *built) (*authn.Verifier, error) {
	v, err := bd.idp.Verifier()
	if err != nil {
		return nil, err
	}
	b.onClose(func() { _ = v.Close() })
	return v, nil
}

// meterProvider is an SDK meter provider with a manual reader (nothing
// exported, as in the microbenchmarks), with the cardinality limit the
// telemetry package documents for its tenants.
func meterProvider(b *built) *sdkmetric.MeterProvider {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()),
		sdkmetric.WithCardinalityLimit(telemetry.SDKCardinalityLimit(telemetry.DefaultMaxTenants)))
	b.onClose(func() { _ = mp.Shutdown(context.Background()) })
	return mp
}

func metrics(b *built, withUsage bool) (*telemetry.Metrics, error) {
	mp := meterProvider(b)
	opts := []telemetry.Option{telemetry.WithMeterProvider(mp)}
	if withUsage {
		u, err := telemetry.NewUsage(telemetry.WithMeterProvider(mp))
		if err != nil {
			return nil, err
		}
		b.onClose(func() { _ = u.Close() })
		opts = append(opts, telemetry.WithUsage(u))
	}
	return telemetry.NewMetrics(opts...)
}

func (bd *builder) build(info Info) (*built, error) {
	b := &built{info: info}
	if bd.cfg.CountTenants {
		b.seen = &sync.Map{}
	}
	h := handler(b.seen)
	var err error
	switch info.Name {
	case BareHTTP:
		b.http = h
	case "authn", "authn+ratelimit", "authn+telemetry", "authn+telemetry+usage", "full", "full-redis":
		b.http, err = bd.chain(b, h)
	case "floor-lookup", "floor-otel1", "floor-otel4", "floor-full", "floor-redis":
		b.http, err = bd.floor(b, h)
	case "floor-jwt":
		b.http, err = bd.jwtFloor(h)
	case BareGRPC, "grpc-authn", "grpc-full":
		b.grpc, err = bd.grpcStack(b)
	default:
		err = fmt.Errorf("load: unknown stack %q", info.Name)
	}
	if err != nil {
		b.close()
		return nil, fmt.Errorf("load: stack %s: %w", info.Name, err)
	}
	return b, nil
}

func (b *built) close() {
	for i := len(b.closer) - 1; i >= 0; i-- {
		b.closer[i]()
	}
	b.closer = nil
}

// chain builds the tenantkit HTTP stacks, in the order the httpmw
// documentation gives: Authenticate, Telemetry, RateLimit.
func (bd *builder) chain(b *built, h http.Handler) (http.Handler, error) {
	v, err := bd.verifier(b)
	if err != nil {
		return nil, err
	}
	name := b.info.Name
	if name == "authn+ratelimit" || name == "full" || name == "full-redis" {
		var l ratelimit.Limiter
		if name == "full-redis" {
			rl, err := redislimit.New(bd.redis, redislimit.WithPrefix(bd.prefix))
			if err != nil {
				return nil, err
			}
			l = rl
		} else {
			loc, err := ratelimit.NewLocal()
			if err != nil {
				return nil, err
			}
			l = loc
		}
		h = httpmw.RateLimit(l, bd.plans)(h)
	}
	if name != "authn" && name != "authn+ratelimit" {
		m, err := metrics(b, name != "authn+telemetry")
		if err != nil {
			return nil, err
		}
		h = httpmw.Telemetry(m)(h)
	}
	return httpmw.Authenticate(v)(h), nil
}

// floor builds the floor stacks: what the dependencies of a middleware do
// at the least, with nothing of tenantkit but the tenant value.
func (bd *builder) floor(b *built, h http.Handler) (http.Handler, error) {
	byToken := make(map[string]tenant.Tenant, len(bd.toks))
	for _, t := range bd.toks {
		tt, err := tenant.New(t.Tenant, t.Tier)
		if err != nil {
			return nil, err
		}
		byToken[t.Token] = tt
	}
	var mu sync.RWMutex // the cache's read lock, never taken for writing here
	name := b.info.Name

	// Per tenant: the prebuilt attribute options and a rate limiter.
	type perTenant struct {
		add []metric.AddOption
		rec []metric.RecordOption
		lim *rate.Limiter
	}
	var (
		per                  map[string]*perTenant
		requests, reqB, resB metric.Int64Counter
		duration             metric.Float64Histogram
	)
	if name == "floor-otel1" || name == "floor-otel4" || name == "floor-full" {
		meter := meterProvider(b).Meter("tenantkit-load-floor")
		var err, e error
		duration, e = meter.Float64Histogram("floor.duration", metric.WithUnit("s"))
		err = errors.Join(err, e)
		requests, e = meter.Int64Counter("floor.requests")
		err = errors.Join(err, e)
		reqB, e = meter.Int64Counter("floor.request.size")
		err = errors.Join(err, e)
		resB, e = meter.Int64Counter("floor.response.size")
		err = errors.Join(err, e)
		if err != nil {
			return nil, err
		}
		per = make(map[string]*perTenant, len(bd.toks))
		for _, t := range bd.toks {
			set := attribute.NewSet(telemetry.TenantIDKey.String(t.Tenant), telemetry.TenantTierKey.String(t.Tier),
				telemetry.OutcomeKey.String("ok"))
			p := &perTenant{
				add: []metric.AddOption{metric.WithAttributeSet(set)},
				rec: []metric.RecordOption{metric.WithAttributeSet(set)},
			}
			if name == "floor-full" {
				pl := bd.plans.For(t.Tier)
				p.lim = rate.NewLimiter(rate.Limit(float64(pl.Rate.N)/pl.Rate.Period.Seconds()), pl.Burst)
			}
			per[t.Tenant] = p
		}
	}
	script := redis.NewScript("return 1")

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		mu.RLock()
		t, ok := byToken[raw]
		mu.RUnlock()
		if !found || !ok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		ctx := r.Context()
		switch name {
		case "floor-redis":
			if err := script.Run(ctx, bd.redis, []string{bd.prefix + "floor:{" + t.ID() + "}"}).Err(); err != nil {
				http.Error(w, "redis", http.StatusServiceUnavailable)
				return
			}
		case "floor-full":
			if !per[t.ID()].lim.Allow() {
				http.Error(w, "limited", http.StatusTooManyRequests)
				return
			}
		}
		start := time.Now()
		h.ServeHTTP(w, r.WithContext(tenant.NewContext(ctx, t)))
		switch name {
		case "floor-otel1", "floor-full":
			p := per[t.ID()]
			duration.Record(ctx, time.Since(start).Seconds(), p.rec...)
		case "floor-otel4":
			p := per[t.ID()]
			requests.Add(ctx, 1, p.add...)
			duration.Record(ctx, time.Since(start).Seconds(), p.rec...)
			reqB.Add(ctx, 0, p.add...)
			resB.Add(ctx, 2, p.add...)
		}
	}), nil
}

// jwtFloor verifies every token with golang-jwt (parse, RS256 signature,
// iss, aud, exp) and reads the tenant claims: what Authenticate costs
// without its cache.
func (bd *builder) jwtFloor(h http.Handler) (http.Handler, error) {
	pub := bd.idp.SigningKey().Private.Public()
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(bd.idp.URL()),
		jwt.WithAudience(bd.idp.Audience()), jwt.WithExpirationRequired())
	keyFunc := func(*jwt.Token) (any, error) { return crypto.PublicKey(pub), nil }
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		claims := jwt.MapClaims{}
		if _, err := parser.ParseWithClaims(raw, claims, keyFunc); err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		id, _ := claims[authn.DefaultTenantClaim].(string)
		tier, _ := claims[authn.DefaultTierClaim].(string)
		t, err := tenant.New(id, tier)
		if err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r.WithContext(tenant.NewContext(r.Context(), t)))
	}), nil
}
