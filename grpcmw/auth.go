package grpcmw

import (
	"context"
	"errors"
	"strings"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

// DefaultSpoofableKeys returns the incoming metadata keys the server
// interceptors remove before the handler runs: tenant.SpoofableNames() in
// lower case, such as x-tenant-id, tenant-id, x-forwarded-tenant and
// x-scope-orgid. Keys are matched by tenant.FoldName: in any letter case,
// with '_' for '-' and with or without a "-bin" suffix, so tenant_id and
// x-tenant-id-bin go too. Any client can set them, so code that read them
// instead of the verified tenant would be spoofed. It returns a new slice
// on every call.
func DefaultSpoofableKeys() []string { return lowerKeys(tenant.SpoofableNames()) }

type authConfig struct {
	spoofable []string
	extra     []string
	assertion *tenant.Assertion
}

// AuthOption configures the server authentication interceptors and
// AuthFunc.
type AuthOption func(*authConfig)

// WithSpoofableKeys adds keys to the metadata keys removed from every
// incoming call, on top of DefaultSpoofableKeys() or the list of
// WithSpoofableKeysOnly. Keys are matched as the defaults are, by
// tenant.FoldName.
func WithSpoofableKeys(keys ...string) AuthOption {
	return func(c *authConfig) { c.extra = append(c.extra, keys...) }
}

// WithSpoofableKeysOnly replaces DefaultSpoofableKeys() with keys: only
// these (and those of WithSpoofableKeys) are removed. The tenant-assertion
// key is still removed when the interceptor does not verify assertions.
func WithSpoofableKeysOnly(keys ...string) AuthOption {
	return func(c *authConfig) { c.spoofable = append([]string(nil), keys...) }
}

// WithAssertion also accepts the signed internal assertions of a (in the
// tenant-assertion metadata key), for services called by other services. A
// call may carry a bearer token, an assertion, or both; when both, they must
// name the same tenant and tier. To accept assertions only, pass a nil
// verifier.
func WithAssertion(a *tenant.Assertion) AuthOption {
	return func(c *authConfig) { c.assertion = a }
}

// authenticator is the shared core of the interceptors and AuthFunc.
type authenticator struct {
	props     []tenant.Propagator
	spoofable tenant.NameSet
}

func newAuthenticator(v tenant.TokenVerifier, opts []AuthOption) *authenticator {
	cfg := authConfig{spoofable: DefaultSpoofableKeys()}
	for _, o := range opts {
		o(&cfg)
	}
	names := append(append([]string(nil), cfg.spoofable...), cfg.extra...)
	a := &authenticator{}
	if v != nil {
		a.props = append(a.props, tenant.Relay{Verifier: v})
	}
	if cfg.assertion != nil {
		a.props = append(a.props, cfg.assertion)
	} else {
		// Nobody here verifies assertions; make sure nobody reads one.
		names = append(names, assertionKey)
	}
	if len(a.props) == 0 {
		panic("grpcmw: authentication needs a verifier or WithAssertion")
	}
	a.spoofable = tenant.NewNameSet(names...)
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
// returns a context carrying the tenant, without the spoofable keys.
func (a *authenticator) authenticate(ctx context.Context) (context.Context, error) {
	ctx, md := a.scrub(ctx)
	t, err := tenant.ExtractAny(ctx, MetadataCarrier(md), a.props...)
	if err != nil {
		return nil, statusFor(err)
	}
	telemetry.SetSpanTenant(trace.SpanFromContext(ctx), t)
	return tenant.NewContext(ctx, t), nil
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
		if a.spoofable.Contains(k) || credentialNames.Contains(k) && !strings.EqualFold(k, authorizationKey) && !strings.EqualFold(k, assertionKey) {
			delete(md, k)
			found = true
		}
	}
	if !found {
		return ctx, md
	}
	return metadata.NewIncomingContext(ctx, md), md
}

// statusFor maps a verification error to its gRPC status, mirroring the
// HTTP statuses of package httpmw. The message names the reason only.
func statusFor(err error) error {
	switch {
	case errors.Is(err, tenant.ErrMissingBearer), errors.Is(err, tenant.ErrMissingAssertion):
		return status.Error(codes.Unauthenticated, "a bearer token is required")
	case errors.Is(err, tenant.ErrForbidden):
		return status.Error(codes.PermissionDenied, "the tenant is not allowed")
	case errors.Is(err, tenant.ErrKeysUnavailable):
		return status.Error(codes.Unavailable, "the token issuer cannot be reached")
	}
	var te *tenant.TokenError
	if errors.As(err, &te) {
		return status.Error(codes.Unauthenticated, te.Reason.Error())
	}
	if errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, "canceled")
	}
	if errors.Is(err, tenant.ErrInvalidBearer) {
		return status.Error(codes.Unauthenticated, err.Error())
	}
	return status.Error(codes.Unauthenticated, "the bearer token is not valid")
}

// UnaryServerInterceptor verifies the bearer token of every unary call with
// v and runs the handler with the proven tenant in its context.
func UnaryServerInterceptor(v tenant.TokenVerifier, opts ...AuthOption) grpc.UnaryServerInterceptor {
	a := newAuthenticator(v, opts)
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := a.authenticate(ctx)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor verifies the bearer token when a stream opens and
// serves the stream with the proven tenant in its context.
func StreamServerInterceptor(v tenant.TokenVerifier, opts ...AuthOption) grpc.StreamServerInterceptor {
	a := newAuthenticator(v, opts)
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := a.authenticate(ss.Context())
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
func AuthFunc(v tenant.TokenVerifier, opts ...AuthOption) func(ctx context.Context) (context.Context, error) {
	return newAuthenticator(v, opts).authenticate
}

// serverStream replaces the context of a stream.
type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }
