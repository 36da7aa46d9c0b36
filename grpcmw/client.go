package grpcmw

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/tenantkit/tenantkit/tenant"
)

// MetadataCarrier adapts gRPC metadata to tenant.Carrier (and to
// OpenTelemetry's TextMapCarrier). Keys are lower-cased, as gRPC requires.
type MetadataCarrier metadata.MD

// Get returns the first value of key, or "".
func (c MetadataCarrier) Get(key string) string {
	if v := c[mdKey(key)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Set replaces the values of key with value.
func (c MetadataCarrier) Set(key, value string) { c[mdKey(key)] = []string{value} }

// Keys returns the keys present.
func (c MetadataCarrier) Keys() []string {
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

// incomingCarrier reads a call's incoming metadata in place; it is
// read-only.
type incomingCarrier struct{ ctx context.Context }

func (c incomingCarrier) Get(key string) string {
	if v := metadata.ValueFromIncomingContext(c.ctx, mdKey(key)); len(v) > 0 {
		return v[0]
	}
	return ""
}
func (c incomingCarrier) Set(string, string) {}
func (c incomingCarrier) Keys() []string {
	md, _ := metadata.FromIncomingContext(c.ctx)
	return MetadataCarrier(md).Keys()
}

// outgoingCarrier reads a call's outgoing metadata in place and records
// what the propagator sets, to be appended without copying the metadata.
type outgoingCarrier struct {
	ctx context.Context
	kv  []string
}

func (c *outgoingCarrier) Get(key string) string {
	if v := metadata.ValueFromOutgoingContext(c.ctx, mdKey(key)); len(v) > 0 {
		return v[0]
	}
	return ""
}
func (c *outgoingCarrier) Set(key, value string) { c.kv = append(c.kv, mdKey(key), value) }
func (c *outgoingCarrier) Keys() []string {
	md, _ := metadata.FromOutgoingContext(c.ctx)
	return MetadataCarrier(md).Keys()
}

// outgoing checks the tenant of ctx against p and returns ctx with p's
// credential in the outgoing metadata. It fails closed like
// httpmw.Transport: no tenant (unless tenant.WithoutTenant) is
// tenant.ErrNoTenant, a credential of another tenant already in the
// metadata is tenant.ErrMismatch. A credential of the same tenant already
// there is left as it is rather than sent twice.
func outgoing(ctx context.Context, p tenant.Propagator, method string) (context.Context, error) {
	c := &outgoingCarrier{ctx: ctx}
	if _, send, err := tenant.CheckOutgoing(ctx, c, p); err != nil {
		return nil, fmt.Errorf("grpcmw: %s: %w", method, err)
	} else if !send {
		return ctx, nil // tenant-less on purpose, or the credential is already there
	}
	if err := p.Inject(ctx, c); err != nil {
		return nil, fmt.Errorf("grpcmw: %s: %w", method, err)
	}
	return metadata.AppendToOutgoingContext(ctx, c.kv...), nil
}

// UnaryClientInterceptor sends the tenant of each call's context to the
// server with p (tenant.Relay or a *tenant.Assertion), and refuses calls
// made without a tenant or already carrying another tenant's credential.
// The error wraps tenant.ErrNoTenant or tenant.ErrMismatch; the call never
// leaves the process.
func UnaryClientInterceptor(p tenant.Propagator) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		ctx, err := outgoing(ctx, p, method)
		if err != nil {
			return err
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// StreamClientInterceptor is UnaryClientInterceptor for streams; the check
// happens when the stream opens.
func StreamClientInterceptor(p tenant.Propagator) grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		ctx, err := outgoing(ctx, p, method)
		if err != nil {
			return nil, err
		}
		return streamer(ctx, desc, cc, method, opts...)
	}
}

// lowerKeys returns the metadata form of header-style keys.
func lowerKeys(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = strings.ToLower(k)
	}
	return out
}
