package grpcmw

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/tenantkit/tenantkit/tenant"
)

// metadataCarrier adapts gRPC metadata to tenant.ValuesCarrier. Keys are
// matched in every letter case, since an MD built as a literal can hold
// keys that are not lower case; Set stores the lower-case key, as gRPC
// requires, and removes every other case of it.
type metadataCarrier metadata.MD

var _ tenant.ValuesCarrier = metadataCarrier(nil)

// Get returns the first value of key in any letter case, or "".
func (c metadataCarrier) Get(key string) string {
	if v := c[mdKey(key)]; len(v) > 0 {
		return v[0]
	}
	for k, v := range c {
		if len(v) > 0 && len(k) == len(key) && strings.EqualFold(k, key) {
			return v[0]
		}
	}
	return ""
}

// Values returns the values of key in every letter case. It allocates only
// when more than one case of key is present.
func (c metadataCarrier) Values(key string) []string {
	var out []string
	shared := true // out aliases a slice of c
	for k, v := range c {
		if len(k) != len(key) || !strings.EqualFold(k, key) || len(v) == 0 {
			continue
		}
		if out == nil {
			out = v
			continue
		}
		if shared {
			out = append(make([]string, 0, len(out)+len(v)), out...)
			shared = false
		}
		out = append(out, v...)
	}
	return out
}

// Set replaces the values of key, in every letter case, with value under
// the lower-case key.
func (c metadataCarrier) Set(key, value string) {
	for k := range c {
		if len(k) == len(key) && strings.EqualFold(k, key) {
			delete(c, k)
		}
	}
	c[mdKey(key)] = []string{value}
}

// Keys returns the keys present.
func (c metadataCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// mdKey maps a carrier key to its metadata form. The keys tenantkit uses
// are mapped without strings.ToLower, which would allocate on every call.
func mdKey(k string) string {
	switch k {
	case tenant.AuthorizationKey, authorizationKey:
		return authorizationKey
	case tenant.AssertionKey, assertionKey:
		return assertionKey
	}
	return strings.ToLower(k)
}

// recorder records what a propagator sets, for a call that has no
// outgoing metadata yet: the credential is then appended without building
// an MD.
type recorder struct{ kv []string }

func (r *recorder) Get(string) string      { return "" }
func (r *recorder) Values(string) []string { return nil }
func (r *recorder) Set(key, value string)  { r.kv = append(r.kv, mdKey(key), value) }
func (r *recorder) Keys() []string         { return nil }

// outgoing checks the tenant of ctx against p and returns ctx with p's
// credential in the outgoing metadata. It fails closed like
// httpmw.Transport: no tenant (unless tenant.WithoutTenant) is
// tenant.ErrNoTenant; a tenant credential of either format already in the
// metadata, under any key case, that does not verify as this tenant is
// tenant.ErrMismatch. The metadata checked is the metadata sent: when the
// call has outgoing metadata it is merged into one lower-case MD (case
// variants of a key in an MD literal collapse into one), checked, and
// attached again with NewOutgoingContext.
func outgoing(ctx context.Context, p tenant.Propagator, method string, opts []grpc.CallOption) (context.Context, error) {
	for _, o := range opts {
		if _, ok := o.(grpc.PerRPCCredsCallOption); ok {
			// Its metadata is computed by the transport, after every
			// interceptor: nothing here could check it.
			return nil, fmt.Errorf("grpcmw: %s: %w: a per-call PerRPCCredentials option adds credentials this client cannot check", method, tenant.ErrMismatch)
		}
	}
	md, ok := metadata.FromOutgoingContext(ctx)
	if !ok {
		_, send, err := tenant.CheckOutgoing(ctx, metadataCarrier(nil), p)
		if err != nil {
			return nil, fmt.Errorf("grpcmw: %s: %w", method, err)
		}
		if !send {
			return ctx, nil
		}
		r := &recorder{}
		if err := p.Inject(ctx, r); err != nil {
			return nil, fmt.Errorf("grpcmw: %s: %w", method, err)
		}
		return metadata.AppendToOutgoingContext(ctx, r.kv...), nil
	}
	c := metadataCarrier(md)
	_, send, err := tenant.CheckOutgoing(ctx, c, p)
	if err != nil {
		return nil, fmt.Errorf("grpcmw: %s: %w", method, err)
	}
	if send {
		if err := p.Inject(ctx, c); err != nil {
			return nil, fmt.Errorf("grpcmw: %s: %w", method, err)
		}
	}
	return metadata.NewOutgoingContext(ctx, md), nil
}

// UnaryClientPropagate returns an interceptor that sends the tenant of
// each call's context to the server with p ([tenant.Relay] or an
// [*authn.Assertion]). It fails closed: a call without a tenant fails with
// [tenant.ErrNoTenant] unless its context is [tenant.WithoutTenant], and
// one whose outgoing metadata holds a tenant credential p cannot verify as
// the context's tenant with [tenant.ErrMismatch]; neither leaves the
// process.
//
// It panics if p is nil, or if p or the Verifier of a Relay p is a typed
// nil.
func UnaryClientPropagate(p tenant.Propagator) grpc.UnaryClientInterceptor {
	// A credential of either format, under any key case, must verify with
	// p as the context's tenant (tenant.CheckOutgoing); a per-call
	// grpc.PerRPCCredentials option is refused as a mismatch too, since its
	// metadata is computed after every interceptor. The credential p
	// injects replaces every other value of its key.
	mustPropagator("UnaryClientPropagate", p)
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		ctx, err := outgoing(ctx, p, method, opts)
		if err != nil {
			return err
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// StreamClientPropagate is [UnaryClientPropagate] for streams; the check
// happens when the stream opens. It panics as UnaryClientPropagate does.
func StreamClientPropagate(p tenant.Propagator) grpc.StreamClientInterceptor {
	mustPropagator("StreamClientPropagate", p)
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		ctx, err := outgoing(ctx, p, method, opts)
		if err != nil {
			return nil, err
		}
		return streamer(ctx, desc, cc, method, opts...)
	}
}
