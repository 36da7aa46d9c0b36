package authorizer

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/tenantkit/tenantkit/apikey"
	"github.com/tenantkit/tenantkit/directory"
	"github.com/tenantkit/tenantkit/tenant"
)

// Keys of the authorizer context an allowed response carries. Values are
// strings. Package lambdahttp reads ContextTenantID, ContextTier and
// ContextPlan.
const (
	ContextTenantID = "tenantId"
	ContextTier     = "tier"
	// ContextPlan is present only when the directory set a plan other
	// than the tier (tenant.Tenant.Plan).
	ContextPlan              = "plan"
	ContextAccessKeyID       = "accessKeyId"
	ContextSecretAccessKey   = "secretAccessKey"
	ContextSessionToken      = "sessionToken"
	ContextCredentialsExpire = "credentialsExpire" // RFC 3339, UTC
)

// PolicyVersion is the IAM policy language version of returned policies.
const PolicyVersion = "2012-10-17"

// unknownPrincipal is the principalId of a denial whose tenant is not
// known; API Gateway requires one.
const unknownPrincipal = "anonymous"

// Authorizer verifies API Gateway callers and answers with the tenant. Its
// methods are the Lambda handlers of the authorizer types; all are safe
// for concurrent use.
type Authorizer struct {
	props    []tenant.Propagator
	planKeys map[string]string
	creds    CredentialSource
	cfg      config
	log      *slog.Logger
}

// New returns an Authorizer that verifies bearer tokens with v (an
// *authn.Verifier, possibly behind a check) and, with the options, API
// keys and the tenant directory. v may be nil only with [WithAPIKeys].
// Invalid options are errors wrapping [ErrInvalidOption].
func New(v tenant.TokenVerifier, opts ...Option) (*Authorizer, error) {
	cfg := config{keyHeader: apikey.HeaderKey}
	for _, o := range opts {
		if o == nil {
			cfg.fail(invalid("a nil Option"))
			continue
		}
		o(&cfg)
	}
	if cfg.invalid != nil {
		return nil, cfg.invalid
	}
	if v == nil && cfg.keys == nil {
		return nil, invalid("no verifier and no WithAPIKeys")
	}
	if typedNil(v) {
		return nil, invalid("a typed nil verifier")
	}
	// The same chain the server middleware builds: bearer tokens by
	// verifier (API keys among them by prefix), API keys by header, each
	// behind the directory; tenant.ExtractAny then applies the library's
	// rule for several credentials.
	bearer := v
	if cfg.keys != nil {
		bearer = apikey.Dispatch(v, cfg.keys)
	}
	var header tenant.TokenVerifier
	if cfg.keys != nil {
		header = cfg.keys
	}
	if cfg.dir != nil {
		bearer = directory.Verifier(bearer, cfg.dir)
		if header != nil {
			header = directory.Verifier(header, cfg.dir)
		}
	}
	a := &Authorizer{planKeys: cfg.planKeys, creds: cfg.creds, cfg: cfg, log: cfg.logger}
	a.props = append(a.props, tenant.Relay{Verifier: bearer})
	if header != nil {
		a.props = append(a.props, apikey.Header{Verifier: header, Name: cfg.keyHeader})
	}
	return a, nil
}

// typedNil reports whether x is an interface holding a nil pointer, map,
// slice, func or channel: a dependency that would panic on first use.
func typedNil(x any) bool {
	if x == nil {
		return false
	}
	switch v := reflect.ValueOf(x); v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// kind is the class of a decision.
type kind uint8

const (
	allow        kind = iota
	unauthorized      // no credential or a rejected one
	forbidden         // a verified tenant that is refused
	unavailable       // cannot decide now
)

// decision is the outcome of checking one request's credentials.
type decision struct {
	kind    kind
	t       tenant.Tenant
	planKey string
	context map[string]any
	reason  string // for the log: a fixed text, never credential bytes
}

// decide verifies the credentials in c.
func (a *Authorizer) decide(ctx context.Context, c carrier) decision {
	t, err := tenant.ExtractAny(ctx, c, a.props...)
	if err != nil {
		return classify(ctx, err)
	}
	d := decision{kind: allow, t: t}
	if a.planKeys != nil {
		key, ok := a.planKeys[t.Tier()]
		if !ok {
			return decision{kind: forbidden, t: t, reason: "no usage plan key for the tenant's tier"}
		}
		d.planKey = key
	}
	d.context = map[string]any{ContextTenantID: t.ID(), ContextTier: t.Tier()}
	if p := t.Plan(); p != t.Tier() {
		d.context[ContextPlan] = p
	}
	if a.creds != nil {
		if err := a.vend(tenant.NewContext(ctx, t), d.context); err != nil {
			return decision{kind: unavailable, t: t, reason: "credentials: " + err.Error()}
		}
	}
	return d
}

// classify maps the error of ExtractAny to a decision with the library's
// rules (those of the server middleware): a refusal is forbidden, an
// unavailable check or an ended context unavailable, anything else a bad
// or missing credential.
func classify(ctx context.Context, err error) decision {
	switch {
	case ctx.Err() != nil:
		return decision{kind: unavailable, reason: "the invocation's context ended"}
	case errors.Is(err, tenant.ErrForbidden):
		var r *tenant.Refusal
		if errors.As(err, &r) {
			return decision{kind: forbidden, reason: r.Reason}
		}
		return decision{kind: forbidden, reason: "tenant refused"}
	case errors.Is(err, tenant.ErrUnavailable):
		return decision{kind: unavailable, reason: err.Error()}
	case errors.Is(err, tenant.ErrAbsent):
		return decision{kind: unauthorized, reason: "no credential"}
	}
	// *tenant.TokenError texts name the reason, never token bytes; any
	// other error is reduced to a fixed text.
	var te *tenant.TokenError
	if errors.As(err, &te) {
		return decision{kind: unauthorized, reason: te.Error()}
	}
	if errors.Is(err, tenant.ErrInvalidBearer) {
		return decision{kind: unauthorized, reason: tenant.ErrInvalidBearer.Error()}
	}
	return decision{kind: unauthorized, reason: "credential rejected"}
}

func (a *Authorizer) vend(ctx context.Context, out map[string]any) error {
	p, err := a.creds.Credentials(ctx, a.cfg.credsRes)
	if err != nil {
		return err
	}
	cr, err := p.Retrieve(ctx)
	if err != nil {
		return err
	}
	out[ContextAccessKeyID] = cr.AccessKeyID
	out[ContextSecretAccessKey] = cr.SecretAccessKey
	out[ContextSessionToken] = cr.SessionToken
	if cr.CanExpire {
		out[ContextCredentialsExpire] = cr.Expires.UTC().Format(time.RFC3339)
	}
	return nil
}

// logDecision logs d, when a logger is set.
func (a *Authorizer) logDecision(ctx context.Context, typ string, d decision) {
	if a.log == nil {
		return
	}
	attrs := []slog.Attr{slog.String("authorizer", typ)}
	if !d.t.IsZero() {
		attrs = append(attrs, slog.String("tenant.id", d.t.ID()), slog.String("tenant.tier", d.t.Tier()))
	}
	switch d.kind {
	case allow:
		a.log.LogAttrs(ctx, slog.LevelInfo, "authorizer: allow", attrs...)
	case unavailable:
		a.log.LogAttrs(ctx, slog.LevelError, "authorizer: cannot decide", append(attrs, slog.String("reason", d.reason))...)
	default:
		a.log.LogAttrs(ctx, slog.LevelWarn, "authorizer: deny", append(attrs, slog.String("reason", d.reason))...)
	}
}

// Token is the handler of a REST API TOKEN authorizer. A missing or
// rejected token is answered with [ErrUnauthorized] (401); a refused
// tenant, a tier without a usage plan key or a malformed methodArn with a
// Deny policy (403); a check that cannot be made now with
// [ErrUnavailable]. An allowed caller gets an Allow policy for every
// method of the API's stage, principalId the tenant ID, the tenant
// context and the usage plan key of its tier.
func (a *Authorizer) Token(ctx context.Context, req events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	d := a.decide(ctx, &tokenCarrier{v: req.AuthorizationToken})
	a.logDecision(ctx, "token", d)
	switch d.kind {
	case unauthorized:
		return events.APIGatewayCustomAuthorizerResponse{}, ErrUnauthorized
	case unavailable:
		return events.APIGatewayCustomAuthorizerResponse{}, ErrUnavailable
	}
	return a.restResponse(ctx, req.MethodArn, d), nil
}

// Request is the handler of a REST API REQUEST authorizer: it reads the
// bearer token from the Authorization header and, with [WithAPIKeys], an
// API key from its header. Every failure is a Deny policy (403), except a
// check that cannot be made now ([ErrUnavailable]); an allowed caller is
// answered as by [Authorizer.Token].
func (a *Authorizer) Request(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	d := a.decide(ctx, &eventHeaders{single: req.Headers, multi: req.MultiValueHeaders})
	a.logDecision(ctx, "request", d)
	if d.kind == unavailable {
		return events.APIGatewayCustomAuthorizerResponse{}, ErrUnavailable
	}
	return a.restResponse(ctx, req.MethodArn, d), nil
}

// HTTPSimple is the handler of an HTTP API Lambda authorizer with simple
// responses (payload format 2.0): isAuthorized with the tenant context, or
// false (403) for every failure except [ErrUnavailable].
func (a *Authorizer) HTTPSimple(ctx context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	d := a.decide(ctx, &eventHeaders{single: req.Headers})
	a.logDecision(ctx, "http-simple", d)
	switch d.kind {
	case unavailable:
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, ErrUnavailable
	case allow:
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: d.context}, nil
	}
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}, nil
}

// HTTPIAM is the handler of an HTTP API Lambda authorizer with IAM policy
// responses (payload format 2.0): an Allow policy for every route of the
// stage of req.RouteArn with the tenant context, or a Deny policy (403)
// for every failure except [ErrUnavailable].
func (a *Authorizer) HTTPIAM(ctx context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerIAMPolicyResponse, error) {
	d := a.decide(ctx, &eventHeaders{single: req.Headers})
	a.logDecision(ctx, "http-iam", d)
	if d.kind == unavailable {
		return events.APIGatewayV2CustomAuthorizerIAMPolicyResponse{}, ErrUnavailable
	}
	resp := a.restResponse(ctx, req.RouteArn, d)
	return events.APIGatewayV2CustomAuthorizerIAMPolicyResponse{
		PrincipalID:    resp.PrincipalID,
		PolicyDocument: resp.PolicyDocument,
		Context:        resp.Context,
	}, nil
}

// restResponse builds the policy response of d for methodArn.
func (a *Authorizer) restResponse(ctx context.Context, methodArn string, d decision) events.APIGatewayCustomAuthorizerResponse {
	m, err := ParseMethodARN(methodArn)
	if err != nil {
		// Not an ARN API Gateway sends: deny everything.
		if d.kind == allow {
			d = decision{kind: forbidden, t: d.t, reason: "invalid methodArn"}
			a.logDecision(ctx, "policy", d)
		}
		return denyResponse(d, "*")
	}
	if d.kind != allow {
		return denyResponse(d, m.StageResource())
	}
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID:        d.t.ID(),
		PolicyDocument:     policy("Allow", m.StageResource()),
		Context:            d.context,
		UsageIdentifierKey: d.planKey,
	}
}

func denyResponse(d decision, resource string) events.APIGatewayCustomAuthorizerResponse {
	principal := unknownPrincipal
	if !d.t.IsZero() {
		principal = d.t.ID()
	}
	return events.APIGatewayCustomAuthorizerResponse{PrincipalID: principal, PolicyDocument: policy("Deny", resource)}
}

func policy(effect, resource string) events.APIGatewayCustomAuthorizerPolicy {
	return events.APIGatewayCustomAuthorizerPolicy{
		Version: PolicyVersion,
		Statement: []events.IAMPolicyStatement{{
			Action:   []string{"execute-api:Invoke"},
			Effect:   effect,
			Resource: []string{resource},
		}},
	}
}

// carrier is what decide reads credentials from.
type carrier = tenant.ValuesCarrier

// tokenCarrier is the carrier of a TOKEN authorizer: the identity source
// value, as the Authorization header.
type tokenCarrier struct {
	v   string
	one [1]string // backs Values and Keys without another allocation
}

func (t *tokenCarrier) Get(key string) string {
	if strings.EqualFold(key, tenant.AuthorizationKey) {
		return t.v
	}
	return ""
}

func (t *tokenCarrier) Values(key string) []string {
	if t.v == "" || !strings.EqualFold(key, tenant.AuthorizationKey) {
		return nil
	}
	t.one[0] = t.v
	return t.one[:]
}

func (*tokenCarrier) Set(string, string) {}

func (t *tokenCarrier) Keys() []string {
	if t.v == "" {
		return nil
	}
	t.one[0] = tenant.AuthorizationKey
	return t.one[:]
}

// eventHeaders reads the headers of an event, whose keys are in any letter
// case (lower case in HTTP API events), under every case, without copying
// them. A REST API event has single- and multi-value headers; the carrier
// sees the union of both, so that where they disagree the credential rule
// refuses the ambiguity instead of one of the two being picked.
type eventHeaders struct {
	single map[string]string
	multi  map[string][]string
}

func (h *eventHeaders) Get(key string) string {
	if vs := h.Values(key); len(vs) > 0 {
		return vs[0]
	}
	return ""
}

func (h *eventHeaders) Values(key string) []string {
	var out []string
	for k, vs := range h.multi {
		if len(k) == len(key) && strings.EqualFold(k, key) {
			out = append(out, vs...)
		}
	}
	for k, v := range h.single {
		if len(k) == len(key) && strings.EqualFold(k, key) && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func (*eventHeaders) Set(string, string) {}

func (h *eventHeaders) Keys() []string {
	out := make([]string, 0, len(h.single)+len(h.multi))
	for k := range h.multi {
		out = append(out, k)
	}
	for k := range h.single {
		if _, ok := h.multi[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}
