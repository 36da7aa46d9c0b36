package grpcmw

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/internal/credfield"
	"github.com/tenantkit/tenantkit/internal/outcome"
	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

type authConfig struct {
	spoofable []string
	extra     []string
	assertion *authn.Assertion
	extract   []tenant.Propagator // of WithExtractor
	public    []func(ctx context.Context, fullMethod string) bool
	methods   map[string]bool // of WithPublicMethods
	invalid   string          // the first invalid option
}

func (c *authConfig) fail(option string) {
	if c.invalid == "" {
		c.invalid = option
	}
}

// AuthOption configures [UnaryServerAuthenticate],
// [StreamServerAuthenticate] and [AuthFunc].
type AuthOption func(*authConfig)

// WithPublic makes the calls for which match returns true public: one
// without a credential runs without a tenant in its context; one with a
// credential is verified as any other. fullMethod is
// "/package.Service/Method".
//
// Several WithPublic and [WithPublicMethods] options add up. Behind
// [UnaryServerRateLimit], a public call without a tenant needs
// [WithUntenantedKey], or it fails there with Unauthenticated.
func WithPublic(match func(ctx context.Context, fullMethod string) bool) AuthOption {
	return func(c *authConfig) {
		// An authorization value of another scheme counts as no
		// credential. A credential that is invalid, refused or cannot be
		// verified fails with Unauthenticated, PermissionDenied or
		// Unavailable as usual, never runs anonymously, and spoofable keys
		// go before match runs. match never runs when the method is
		// unknown (AuthFunc called outside a gRPC server). Outgoing calls
		// made with the tenant-less context fail with tenant.ErrNoTenant
		// unless marked tenant.WithoutTenant.
		if match == nil {
			c.fail("WithPublic(nil)")
			return
		}
		c.public = append(c.public, match)
	}
}

// WithPublicMethods makes the methods named public, as [WithPublic] does.
// Each name is a full method name, "/package.Service/Method", such as those
// of [HealthMethods] or the FullMethodName constants of generated code;
// another name is invalid.
func WithPublicMethods(fullMethods ...string) AuthOption {
	return func(c *authConfig) {
		for _, m := range fullMethods {
			if !isFullMethod(m) {
				c.fail("WithPublicMethods(" + strconv.Quote(m) + ")")
				return
			}
			if c.methods == nil {
				c.methods = map[string]bool{}
			}
			c.methods[m] = true
		}
	}
}

// HealthMethods returns the full method names of Check and Watch of the
// standard health service (grpc.health.v1.Health), for
// WithPublicMethods(HealthMethods()...). It returns a new slice on every
// call.
func HealthMethods() []string {
	// Load balancers and Kubernetes probes call them without credentials.
	// List, which names every service of the server, is left out.
	return []string{"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"}
}

// isFullMethod reports whether m has the form "/service/method", both parts
// non-empty.
func isFullMethod(m string) bool {
	svc, method, ok := strings.Cut(strings.TrimPrefix(m, "/"), "/")
	return strings.HasPrefix(m, "/") && ok && svc != "" && method != "" && !strings.Contains(method, "/")
}

// WithSpoofableKeys adds keys to the metadata keys removed from every
// incoming call, on top of [tenant.SpoofableNames] or the list of
// [WithSpoofableKeysOnly]. Keys are matched by [tenant.FoldName].
func WithSpoofableKeys(keys ...string) AuthOption {
	return func(c *authConfig) {
		if checkKeys(c, "WithSpoofableKeys", keys) {
			c.extra = append(c.extra, keys...)
		}
	}
}

// WithSpoofableKeysOnly replaces [tenant.SpoofableNames] with keys as the
// metadata keys removed. tenant-assertion is still removed when the
// interceptor does not verify assertions.
func WithSpoofableKeysOnly(keys ...string) AuthOption {
	return func(c *authConfig) {
		if checkKeys(c, "WithSpoofableKeysOnly", keys) {
			c.spoofable = append([]string(nil), keys...)
		}
	}
}

// checkKeys records an empty key as an invalid option; it reports whether
// all keys are usable.
func checkKeys(c *authConfig, option string, keys []string) bool {
	for _, k := range keys {
		if k == "" {
			c.fail(option + `("")`)
			return false
		}
	}
	return true
}

// WithAssertion also accepts the signed internal assertions of a, in the
// tenant-assertion metadata key. A call with both a bearer token and an
// assertion must name the same tenant and tier in both. To accept
// assertions only, pass a nil verifier.
func WithAssertion(a *authn.Assertion) AuthOption {
	return func(c *authConfig) {
		if a == nil {
			c.fail("WithAssertion(nil)")
			return
		}
		c.assertion = a
	}
}

// authenticator is the shared core of the interceptors and AuthFunc.
type authenticator struct {
	props       []tenant.Propagator
	spoofable   tenant.NameSet
	credentials credfield.Set // of WithExtractor
	public      []func(ctx context.Context, fullMethod string) bool
	methods     map[string]bool
}

// newAuthenticator builds the authenticator of ctor; it panics as the
// constructors document.
func newAuthenticator(ctor string, v tenant.TokenVerifier, opts []AuthOption) *authenticator {
	if v != nil {
		mustDependency(ctor, "verifier", v)
	}
	cfg := authConfig{spoofable: tenant.SpoofableNames()}
	for _, o := range opts {
		if o == nil {
			cfg.fail("a nil AuthOption")
			continue
		}
		o(&cfg)
	}
	mustValidOptions(ctor, cfg.invalid)
	if v == nil && cfg.assertion == nil && len(cfg.extract) == 0 {
		panic(errors.New("grpcmw: " + ctor + ": verifier is nil and neither WithAssertion nor WithExtractor is given"))
	}
	names := append(append([]string(nil), cfg.spoofable...), cfg.extra...)
	a := &authenticator{public: cfg.public, methods: cfg.methods}
	if v != nil {
		a.props = append(a.props, tenant.Relay{Verifier: v})
	}
	if cfg.assertion != nil {
		a.props = append(a.props, cfg.assertion)
	} else {
		// Nobody here verifies assertions; make sure nobody reads one.
		names = append(names, assertionKey)
	}
	a.props = append(a.props, cfg.extract...)
	a.spoofable = tenant.NewNameSet(append(names, credfield.Unclaimed(a.props)...)...)
	a.credentials = credfield.New(a.props)
	return a
}

// Metadata keys of the credentials.
const (
	authorizationKey = "authorization"
	assertionKey     = "tenant-assertion"
)

// credentialNames folds the credential keys, to find variants of them
// (tenant_assertion, authorization-bin) that a bridge might read.
var credentialNames = tenant.NewNameSet(authorizationKey, assertionKey)

// authenticate verifies the credentials of ctx's incoming metadata and
// returns a context carrying the tenant, without the spoofable keys. A call
// of fullMethod (known when ok) without a credential goes on without a
// tenant when the method is public.
func (a *authenticator) authenticate(ctx context.Context, fullMethod string, ok bool) (context.Context, error) {
	ctx, md := a.scrub(ctx)
	t, err := tenant.ExtractAny(ctx, metadataCarrier(md), a.props...)
	if err != nil {
		if ok && errors.Is(err, tenant.ErrAbsent) && a.isPublic(ctx, fullMethod) {
			return ctx, nil
		}
		return nil, statusFor(outcome.Auth(ctx, err), "")
	}
	telemetry.SetSpanTenant(trace.SpanFromContext(ctx), t)
	return tenant.NewContext(ctx, t), nil
}

// isPublic reports whether fullMethod is public.
func (a *authenticator) isPublic(ctx context.Context, fullMethod string) bool {
	if a.methods[fullMethod] {
		return true
	}
	for _, match := range a.public {
		if match(ctx, fullMethod) {
			return true
		}
	}
	return false
}

// scrub drops spoofable keys, and variants of the credential keys other
// than their lower-case form, from the incoming metadata, and returns the
// metadata the call goes on with. gRPC's API lists incoming keys only
// through a copy (FromIncomingContext), so every call pays for one; the
// context is replaced only when a key was dropped.
func (a *authenticator) scrub(ctx context.Context) (context.Context, metadata.MD) {
	md, _ := metadata.FromIncomingContext(ctx) // a copy, keys in lower case
	found := false
	for k := range md {
		if a.spoofable.Contains(k) || credentialNames.Contains(k) && !strings.EqualFold(k, authorizationKey) && !strings.EqualFold(k, assertionKey) || a.credentials.Variant(k) {
			delete(md, k)
			found = true
		}
	}
	if !found {
		return ctx, md
	}
	return metadata.NewIncomingContext(ctx, md), md
}

// grpcCode is the gRPC code of each outcome kind; see httpmw for the HTTP
// statuses of the same kinds.
func grpcCode(k outcome.Kind) codes.Code {
	switch k {
	case outcome.OK:
		return codes.OK
	case outcome.Unauthenticated:
		return codes.Unauthenticated
	case outcome.Forbidden:
		return codes.PermissionDenied
	case outcome.Unavailable:
		return codes.Unavailable
	case outcome.Canceled:
		return codes.Canceled
	case outcome.Deadline:
		return codes.DeadlineExceeded
	case outcome.Rate, outcome.Quota, outcome.InFlight:
		return codes.ResourceExhausted
	}
	return codes.Internal
}

// statusFor returns the status error of o, a refusal: Unavailable carries a
// RetryInfo, a denial by a limit a RetryInfo and a QuotaFailure naming
// subject and the violated policy.
func statusFor(o outcome.Outcome, subject string) error {
	s := status.New(grpcCode(o.Kind), o.Message)
	switch o.Kind {
	case outcome.Forbidden:
		if o.Reason != "" {
			return withDetails(s, &errdetails.ErrorInfo{Reason: errorInfoReason(o.Reason), Domain: outcome.ErrorInfoDomain})
		}
	case outcome.Unavailable:
		return withDetails(s, &errdetails.RetryInfo{RetryDelay: durationpb.New(o.RetryAfter)})
	case outcome.Rate, outcome.Quota, outcome.InFlight:
		return withDetails(s,
			&errdetails.RetryInfo{RetryDelay: durationpb.New(o.RetryAfter)},
			&errdetails.QuotaFailure{Violations: []*errdetails.QuotaFailure_Violation{{
				Subject:     subject,
				Description: o.Message,
				QuotaId:     o.Policy,
				QuotaValue:  o.Limit,
			}}})
	}
	return s.Err()
}

// errorInfoReason is the ErrorInfo reason of an outcome reason, in the
// UPPER_SNAKE_CASE that google.rpc.ErrorInfo asks for: "TENANT_SUSPENDED".
func errorInfoReason(r string) string {
	return strings.ToUpper(strings.ReplaceAll(r, "-", "_"))
}

// UnaryServerAuthenticate returns an interceptor that verifies the bearer
// token of every unary call with v and runs the handler with the proven
// tenant in its context ([tenant.FromContext]), after removing spoofable
// tenant metadata. Only methods made public by [WithPublic] or
// [WithPublicMethods] run without a credential.
//
// It panics if v holds a typed nil, if v is nil without [WithAssertion] or
// [WithExtractor], or if an option is invalid ([ErrInvalidOption]).
func UnaryServerAuthenticate(v tenant.TokenVerifier, opts ...AuthOption) grpc.UnaryServerInterceptor {
	// Failures map as in httpmw: Unauthenticated (401), PermissionDenied
	// (403), Unavailable with a RetryInfo (503), Canceled (499) and
	// DeadlineExceeded (504) when the call ended during the check.
	a := newAuthenticator("UnaryServerAuthenticate", v, opts)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := a.authenticate(ctx, info.FullMethod, true)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerAuthenticate is [UnaryServerAuthenticate] for streams: the
// token is verified when a stream opens. It panics as
// UnaryServerAuthenticate does.
func StreamServerAuthenticate(v tenant.TokenVerifier, opts ...AuthOption) grpc.StreamServerInterceptor {
	a := newAuthenticator("StreamServerAuthenticate", v, opts)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := a.authenticate(ss.Context(), info.FullMethod, true)
		if err != nil {
			return err
		}
		return handler(srv, &serverStream{ServerStream: ss, ctx: ctx})
	}
}

// AuthFunc returns a function with the signature of go-grpc-middleware v2's
// auth.AuthFunc, for services that already chain that package's auth
// interceptors:
//
//	auth.UnaryServerInterceptor(grpcmw.AuthFunc(verifier))
//
// [WithPublic] and [WithPublicMethods] work as with the interceptors. It
// panics as [UnaryServerAuthenticate] does.
func AuthFunc(v tenant.TokenVerifier, opts ...AuthOption) func(ctx context.Context) (context.Context, error) {
	// It reads the method from the context (grpc.Method). A method skipped
	// by go-grpc-middleware's selector, or served by a service implementing
	// its auth.ServiceAuthFuncOverride, never reaches AuthFunc and keeps its
	// spoofable keys, so prefer these options for public methods.
	a := newAuthenticator("AuthFunc", v, opts)
	return func(ctx context.Context) (context.Context, error) {
		m, ok := grpc.Method(ctx)
		return a.authenticate(ctx, m, ok)
	}
}

// serverStream replaces the context of a stream.
type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }
