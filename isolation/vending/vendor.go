package vending

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/tenantkit/tenantkit/internal/nilarg"
	"github.com/tenantkit/tenantkit/isolation"
	"github.com/tenantkit/tenantkit/tenant"
)

// AssumeRoleAPIClient is the part of *sts.Client the [Vendor] uses.
type AssumeRoleAPIClient interface {
	AssumeRole(ctx context.Context, params *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)
}

// Vendor is the token vending machine: it hands each tenant AWS credentials
// that can reach only that tenant's resources.
//
// For a pooled resource it assumes the shared role with a session policy
// rendered for the tenant (DynamoDB leading keys, S3 prefix, the tenant's
// KMS key); for a siloed resource it assumes the tenant's own role; a
// bridge tenant gets one session per role its resources use. Every
// AssumeRole call carries the session tags TenantID and Tier and a
// RoleSessionName derived from the tenant.
//
// Credentials are cached per tenant in aws.CredentialsCache values (so
// concurrent requests for a tenant share one STS call, and refresh happens
// before expiry with jitter) inside a bounded cache. A Vendor is safe for
// concurrent use.
type Vendor struct {
	client   AssumeRoleAPIClient
	resolver isolation.Resolver
	cfg      config
	cache    *cache
}

// session is one role assumed for one tenant with one policy.
type session struct {
	roleARN  string
	policy   string // "" for none
	tenantID string
	creds    *aws.CredentialsCache
}

// New returns a Vendor that calls AssumeRole through client (an
// *sts.Client) on the roles resolver places tenants in. A nil client or
// resolver, or an option with an invalid value, is an error wrapping
// [ErrInvalidOption].
func New(client AssumeRoleAPIClient, resolver isolation.Resolver, opts ...Option) (*Vendor, error) {
	if err := nilarg.Check("vending: New", "the STS client", client); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	if err := nilarg.Check("vending: New", "the resolver", resolver); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return &Vendor{client: client, resolver: resolver, cfg: cfg, cache: newCache(cfg.cacheSize)}, nil
}

// Credentials returns the credentials provider of the tenant in ctx for
// resource r. Pass it to any aws-sdk-go-v2 client, for the client's
// lifetime or for one call:
//
//	creds, err := v.Credentials(ctx, isolation.Table)
//	...
//	out, err := db.GetItem(ctx, in, func(o *dynamodb.Options) { o.Credentials = creds })
//
// No STS call happens here; the first Retrieve makes it (once for all the
// tenant's concurrent requests). The provider refuses to retrieve under a
// context that carries a different tenant ([ErrTenantMismatch]).
//
// Errors: [tenant.ErrNoTenant], resolution errors (*[isolation.PlacementError]),
// [isolation.ErrIncompletePlacement] when the tenant has no such resource,
// [isolation.ErrPolicyTooLarge] when the rendered session policy exceeds
// [isolation.MaxSessionPolicyLen] (before any STS call), [isolation.ErrInvalidValue].
// Retrieve returns *[STSError] for failed STS calls.
func (v *Vendor) Credentials(ctx context.Context, r isolation.Resource) (aws.CredentialsProvider, error) {
	s, err := v.session(ctx, r)
	if err != nil {
		return nil, err
	}
	return (*boundProvider)(s), nil
}

// Placement returns the placement of the tenant in ctx, as resolved when
// the tenant was first seen (see [Vendor.Invalidate]).
func (v *Vendor) Placement(ctx context.Context) (isolation.Placement, error) {
	e, err := v.entry(ctx)
	if err != nil {
		return isolation.Placement{}, err
	}
	return e.placement, nil
}

// ContextProvider returns one provider for all tenants: each Retrieve
// returns the credentials for resource r of the tenant in its context, or
// fails closed with [tenant.ErrNoTenant]. Set it as the Credentials of a
// client shared by every tenant; the SDK passes each operation's context
// to Retrieve.
//
// Do not wrap it in an aws.CredentialsCache: that would keep the first
// tenant's credentials for everyone. It caches per tenant by itself.
func (v *Vendor) ContextProvider(r isolation.Resource) aws.CredentialsProvider {
	return contextProvider{v: v, r: r}
}

// Invalidate drops the cached placement and credentials of tenant id, for
// example after its placement changed. Providers already handed out keep
// working until dropped.
func (v *Vendor) Invalidate(id string) { v.cache.removeTenant(id) }

// Len returns the number of cache entries.
func (v *Vendor) Len() int { return v.cache.len() }

func (v *Vendor) session(ctx context.Context, r isolation.Resource) (*session, error) {
	if r >= isolation.NumResources {
		return nil, fmt.Errorf("vending: unknown resource %v", r)
	}
	e, err := v.entry(ctx)
	if err != nil {
		return nil, err
	}
	if s := e.sessions[r]; s != nil {
		return s, nil
	}
	return nil, &isolation.PlacementError{TenantID: e.key.id, Field: r.String() + " not placed", Err: isolation.ErrIncompletePlacement}
}

// entry returns the ready cache entry of the tenant in ctx.
func (v *Vendor) entry(ctx context.Context) (*entry, error) {
	t, ok := tenant.FromContext(ctx)
	if !ok {
		return nil, tenant.ErrNoTenant
	}
	k := entryKey{id: t.ID(), tier: t.Tier()}
	if v.cfg.sourceIdentity != nil {
		k.source = v.cfg.sourceIdentity(t)
	}
	sh := v.cache.shard(k.id)
	e := sh.get(k)
	if e == nil {
		var created bool
		if e, created = sh.getOrCreate(k); created {
			v.fill(ctx, sh, e, t)
		}
	}
	select {
	case <-e.ready:
	default:
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if e.err != nil {
		return nil, e.err
	}
	return e, nil
}

var errFillPanicked = errors.New("vending: resolving the placement panicked")

// fill resolves e's placement and prepares its sessions, then marks it
// ready. A failed entry is dropped so that the next request tries again.
// The work is shared by every request waiting for e, so it does not stop
// when the creator's context is canceled.
func (v *Vendor) fill(ctx context.Context, sh *shard, e *entry, t tenant.Tenant) {
	done := false
	defer func() {
		if !done {
			e.err = errFillPanicked
		}
		close(e.ready)
		if e.err != nil {
			sh.remove(e)
		}
	}()
	e.placement, e.sessions, e.err = v.build(context.WithoutCancel(ctx), t, e.key.source)
	done = true
}

func (v *Vendor) build(ctx context.Context, t tenant.Tenant, source string) (isolation.Placement, [isolation.NumResources]*session, error) {
	var sessions [isolation.NumResources]*session
	id := t.ID()
	if source != "" && (len(source) < 2 || len(source) > 64 || !sessionNameChars.MatchString(source)) {
		return isolation.Placement{}, sessions, fmt.Errorf("%w: source identity must be 2 to 64 characters of [\\w+=,.@-]", isolation.ErrInvalidValue)
	}
	p, err := v.resolver.Resolve(ctx, t)
	if err != nil {
		return isolation.Placement{}, sessions, err
	}
	if p.TenantID != id {
		return isolation.Placement{}, sessions, &isolation.PlacementError{TenantID: id, Field: "resolver returned another tenant's placement", Err: isolation.ErrInvalidPlacement}
	}
	for r := isolation.Resource(0); r < isolation.NumResources; r++ {
		b := p.Binding(r)
		if !b.Placed() || sessions[r] != nil {
			continue
		}
		if err := b.Check(); err != nil {
			return isolation.Placement{}, sessions, &isolation.PlacementError{TenantID: id, Field: r.String(), Err: err}
		}
		// Every resource reached through the same role and model shares
		// one session, whose policy covers all of them.
		var group []isolation.Resource
		vals := isolation.Values{TenantID: id, Tier: t.Tier(), Region: b.Region}
		vals.Partition, vals.Account = arnPartitionAccount(b.RoleARN)
		for r2 := r; r2 < isolation.NumResources; r2++ {
			b2 := p.Binding(r2)
			if !b2.Placed() || b2.RoleARN != b.RoleARN || b2.Model != b.Model {
				continue
			}
			group = append(group, r2)
			switch r2 {
			case isolation.Table:
				vals.Table = b2.Name
			case isolation.Bucket:
				vals.Bucket = b2.Name
			case isolation.KMSKey:
				vals.KMSKey = b2.Name
			}
		}
		policy := ""
		if b.Model == isolation.Pool || v.cfg.siloPolicies {
			ts := make([]*isolation.Template, len(group))
			for i, g := range group {
				ts[i] = v.cfg.policies[g]
			}
			tpl, err := isolation.Merge(ts...)
			if err != nil {
				return isolation.Placement{}, sessions, err
			}
			if policy, err = tpl.Render(vals); err != nil {
				return isolation.Placement{}, sessions, err
			}
		}
		s := v.newSession(t, b.RoleARN, policy, source)
		for _, g := range group {
			sessions[g] = s
		}
	}
	return p, sessions, nil
}

func (v *Vendor) newSession(t tenant.Tenant, role, policy, source string) *session {
	name := sessionName(v.cfg.prefix, t.ID())
	in := sts.AssumeRoleInput{
		RoleArn:           aws.String(role),
		RoleSessionName:   aws.String(name),
		DurationSeconds:   aws.Int32(int32(v.cfg.duration / time.Second)),
		Tags:              []types.Tag{{Key: aws.String(TagTenantID), Value: aws.String(t.ID())}},
		TransitiveTagKeys: v.cfg.transitive,
	}
	if t.Tier() != "" {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(TagTier), Value: aws.String(t.Tier())})
	} else if len(in.TransitiveTagKeys) > 0 {
		// A transitive key must name a tag of the request.
		in.TransitiveTagKeys = nil
		for _, k := range v.cfg.transitive {
			if k != TagTier {
				in.TransitiveTagKeys = append(in.TransitiveTagKeys, k)
			}
		}
	}
	if policy != "" {
		in.Policy = aws.String(policy)
	}
	if source != "" {
		in.SourceIdentity = aws.String(source)
	}
	p := &assumeRoleProvider{client: v.client, in: in, tenantID: t.ID(), timeout: v.cfg.stsTimeout}
	return &session{
		roleARN:  role,
		policy:   policy,
		tenantID: t.ID(),
		creds: aws.NewCredentialsCache(p, func(o *aws.CredentialsCacheOptions) {
			o.ExpiryWindow = v.cfg.expiryWindow
			o.ExpiryWindowJitterFrac = v.cfg.expiryJitter
		}),
	}
}

// sessionName derives RoleSessionName from the tenant ID: prefix + id, or,
// if that is longer than 64 characters, its first 43 followed by '=' and 20
// hex digits (80 bits) of the SHA-256 of the ID ('=' never occurs in an ID,
// so a shortened name never equals another tenant's full one). 80 bits keep
// a deliberate collision out of reach: 32 bits, as before, fell to a
// birthday search in milliseconds, and two tenants sharing a session name
// share its CloudTrail identity. A name shorter than the minimum of 2
// characters is padded with '='.
func sessionName(prefix, id string) string {
	n := prefix + id
	switch {
	case len(n) > 64:
		sum := sha256.Sum256([]byte(id))
		return n[:43] + "=" + hex.EncodeToString(sum[:10])
	case len(n) < 2:
		return n + "="
	}
	return n
}

// arnPartitionAccount returns the partition and account fields of an ARN.
func arnPartitionAccount(arn string) (partition, account string) {
	f := strings.SplitN(arn, ":", 6)
	if len(f) < 6 {
		return "", ""
	}
	return f[1], f[4]
}

// boundProvider is a session's credentials, bound to its tenant.
type boundProvider session

// Retrieve returns the session's credentials, unless ctx carries another
// tenant.
func (p *boundProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if t, ok := tenant.FromContext(ctx); ok && t.ID() != p.tenantID {
		return aws.Credentials{}, ErrTenantMismatch
	}
	return p.creds.Retrieve(ctx)
}

type contextProvider struct {
	v *Vendor
	r isolation.Resource
}

// Retrieve returns the credentials of the tenant in ctx.
func (p contextProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	s, err := p.v.session(ctx, p.r)
	if err != nil {
		return aws.Credentials{}, err
	}
	return s.creds.Retrieve(ctx)
}

// assumeRoleProvider calls AssumeRole for one session. It is the provider
// inside the session's aws.CredentialsCache, which calls it once at a time.
type assumeRoleProvider struct {
	client   AssumeRoleAPIClient
	in       sts.AssumeRoleInput
	tenantID string
	timeout  time.Duration
}

// credentialsSource is the Source of vended credentials.
const credentialsSource = "tenantkit/isolation"

func (p *assumeRoleProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	in := p.in
	role := aws.ToString(in.RoleArn)
	out, err := p.client.AssumeRole(ctx, &in)
	if err != nil {
		return aws.Credentials{}, newSTSError(p.tenantID, role, err)
	}
	c := out.Credentials
	if c == nil || aws.ToString(c.AccessKeyId) == "" || aws.ToString(c.SecretAccessKey) == "" ||
		aws.ToString(c.SessionToken) == "" || c.Expiration == nil || out.AssumedRoleUser == nil ||
		!strings.HasSuffix(aws.ToString(out.AssumedRoleUser.Arn), "/"+aws.ToString(in.RoleSessionName)) {
		return aws.Credentials{}, &STSError{TenantID: p.tenantID, RoleARN: role, Err: ErrCredentialsMismatch}
	}
	_, account := arnPartitionAccount(aws.ToString(out.AssumedRoleUser.Arn))
	return aws.Credentials{
		AccessKeyID:     *c.AccessKeyId,
		SecretAccessKey: *c.SecretAccessKey,
		SessionToken:    *c.SessionToken,
		Source:          credentialsSource,
		CanExpire:       true,
		Expires:         *c.Expiration,
		AccountID:       account,
	}, nil
}
