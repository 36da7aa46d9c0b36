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
	v := metadata.MD(c).Get(key)
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// Set replaces the values of key with value.
func (c MetadataCarrier) Set(key, value string) { metadata.MD(c).Set(key, value) }

// Keys returns the keys present.
func (c MetadataCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// outgoing checks the tenant of ctx against p and returns ctx with p's
// credential in the outgoing metadata. It fails closed like
// httpmw.Transport: no tenant (unless tenant.WithoutTenant) is
// tenant.ErrNoTenant, a credential of another tenant already in the
// metadata is tenant.ErrMismatch.
func outgoing(ctx context.Context, p tenant.Propagator, method string) (context.Context, error) {
	md, _ := metadata.FromOutgoingContext(ctx) // a copy; ours to change
	if md == nil {
		md = metadata.MD{}
	}
	c := MetadataCarrier(md)
	if _, ok, err := tenant.CheckOutgoing(ctx, c, p); err != nil {
		return nil, fmt.Errorf("grpcmw: %s: %w", method, err)
	} else if !ok {
		return ctx, nil // deliberately tenant-less
	}
	if err := p.Inject(ctx, c); err != nil {
		return nil, fmt.Errorf("grpcmw: %s: %w", method, err)
	}
	return metadata.NewOutgoingContext(ctx, md), nil
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
