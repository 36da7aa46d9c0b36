package isolation

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/tenantkit/tenantkit/tenant"
)

// Model is a deployment model.
type Model string

// Deployment models.
const (
	// Pool: resources shared by many tenants, reached through a shared role
	// whose credentials a session policy scopes to one tenant.
	Pool Model = "pool"
	// Silo: resources dedicated to one tenant (possibly in its own AWS
	// account), reached through the tenant's own role.
	Silo Model = "silo"
	// Bridge: some resources pooled, others siloed; see [Deployment].
	Bridge Model = "bridge"
)

// Resource is a kind of resource a tenant's data lives in.
type Resource uint8

// Resources a placement binds.
const (
	Table  Resource = iota // a DynamoDB table
	Bucket                 // an S3 bucket
	KMSKey                 // a KMS key

	// NumResources is the number of kinds: every Resource is below it.
	NumResources = 3
)

// String returns "table", "bucket" or "kmsKey".
func (r Resource) String() string {
	switch r {
	case Table:
		return "table"
	case Bucket:
		return "bucket"
	case KMSKey:
		return "kmsKey"
	}
	return fmt.Sprintf("Resource(%d)", uint8(r))
}

// Binding says where one resource of a tenant is and which role reaches it.
type Binding struct {
	Model   Model  // Pool or Silo; "" when the resource is not placed
	RoleARN string // the role to assume for this resource
	Region  string
	// Name is the table ARN (DynamoDB accepts it as TableName), the bucket
	// name, or the KMS key ARN.
	Name string
}

// Placed reports whether the binding names a resource.
func (b Binding) Placed() bool { return b.Name != "" }

// Placement is where one tenant's data lives.
type Placement struct {
	TenantID string
	Tier     string // the tenant's tier, as verified
	Model    Model  // the deployment model that applied
	Table    Binding
	Bucket   Binding
	KMSKey   Binding
}

// Binding returns the binding of resource r.
func (p Placement) Binding(r Resource) Binding {
	switch r {
	case Table:
		return p.Table
	case Bucket:
		return p.Bucket
	case KMSKey:
		return p.KMSKey
	}
	return Binding{}
}

func (p *Placement) binding(r Resource) *Binding {
	switch r {
	case Table:
		return &p.Table
	case Bucket:
		return &p.Bucket
	default:
		return &p.KMSKey
	}
}

// Resolver maps a tenant to its placement. Implementations must be safe
// for concurrent use; [ConfigResolver] is the one built from a [Config].
// Users may implement it over their own tenant registry.
//
// The [Vendor] calls Resolve once per tenant for all the requests waiting
// on it, with a context that is not canceled when the first request's is,
// so an implementation that does I/O should bound its own time.
type Resolver interface {
	Resolve(ctx context.Context, t tenant.Tenant) (Placement, error)
}

// ResolverFunc adapts a function to [Resolver].
type ResolverFunc func(ctx context.Context, t tenant.Tenant) (Placement, error)

// Resolve calls f.
func (f ResolverFunc) Resolve(ctx context.Context, t tenant.Tenant) (Placement, error) {
	return f(ctx, t)
}

// Resources names AWS resources. Any field may be empty. String fields may
// use the placeholders ${tenant.id} and ${tenant.tier}; they are
// substituted per tenant (with values that passed tenant.ValidateID) and
// the result is checked again as an ARN, name or region.
type Resources struct {
	RoleARN   string `json:"roleArn,omitempty"`   // IAM role ARN
	Region    string `json:"region,omitempty"`    // default: Config.Region
	Table     string `json:"table,omitempty"`     // DynamoDB table ARN
	Bucket    string `json:"bucket,omitempty"`    // S3 bucket name
	KMSKeyARN string `json:"kmsKeyArn,omitempty"` // KMS key ARN (not an alias)
}

// over returns r with the non-empty fields of o.
func (r Resources) over(o Resources) Resources {
	for _, f := range [...]struct{ dst, src *string }{
		{&r.RoleARN, &o.RoleARN}, {&r.Region, &o.Region}, {&r.Table, &o.Table},
		{&r.Bucket, &o.Bucket}, {&r.KMSKeyARN, &o.KMSKeyARN},
	} {
		if *f.src != "" {
			*f.dst = *f.src
		}
	}
	return r
}

// Deployment says how a tier (or a tenant) is deployed. With Model Pool or
// Silo every resource follows it; with Bridge each resource names its own
// model, Pool or Silo.
type Deployment struct {
	Model  Model `json:"model"`
	Table  Model `json:"table,omitempty"`
	Bucket Model `json:"bucket,omitempty"`
	KMSKey Model `json:"kmsKey,omitempty"`
}

func (d Deployment) modelOf(r Resource) Model {
	if d.Model != Bridge {
		return d.Model
	}
	switch r {
	case Table:
		return d.Table
	case Bucket:
		return d.Bucket
	default:
		return d.KMSKey
	}
}

func (d Deployment) check() error {
	switch d.Model {
	case Pool, Silo:
		for _, m := range []Model{d.Table, d.Bucket, d.KMSKey} {
			if m != "" && m != d.Model {
				return fmt.Errorf("per-resource models are for model %q only", Bridge)
			}
		}
	case Bridge:
		for _, m := range []Model{d.Table, d.Bucket, d.KMSKey} {
			if m != Pool && m != Silo {
				return fmt.Errorf("model %q needs table, bucket and kmsKey each %q or %q", Bridge, Pool, Silo)
			}
		}
	default:
		return fmt.Errorf("unknown model %q", d.Model)
	}
	return nil
}

// Override is a tenant's entry in [Config.Tenants].
type Override struct {
	// Deployment, if set, replaces the one of the tenant's tier.
	Deployment *Deployment `json:"deployment,omitempty"`
	// Pool and Silo override, field by field, the configuration's pool
	// resources and silo resources for this tenant: a pooled tenant's own
	// KMS key, a siloed tenant's role in its own account.
	Pool Resources `json:"pool,omitzero"`
	Silo Resources `json:"silo,omitzero"`
}

// Config is the placement configuration of a [ConfigResolver]. It decodes
// from JSON (see [DecodeConfig]):
//
//	{
//	  "region": "us-east-1",
//	  "pool": {"roleArn": "arn:aws:iam::111122223333:role/tenant-pool",
//	           "table": "arn:aws:dynamodb:us-east-1:111122223333:table/orders",
//	           "bucket": "example-pool-data"},
//	  "silo": {"roleArn": "arn:aws:iam::111122223333:role/tenant-${tenant.id}",
//	           "table": "arn:aws:dynamodb:us-east-1:111122223333:table/orders-${tenant.id}"},
//	  "tiers": {"basic": {"model": "pool"}, "premium": {"model": "silo"},
//	            "plus": {"model": "bridge", "table": "pool", "bucket": "silo", "kmsKey": "silo"}},
//	  "defaultTier": "basic",
//	  "tenants": {"acme": {"pool": {"kmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}}}
//	}
type Config struct {
	Region string    `json:"region,omitempty"` // default region of both resource sets
	Pool   Resources `json:"pool,omitzero"`    // the shared resources
	Silo   Resources `json:"silo,omitzero"`    // per-tenant resources, usually with ${tenant.id}
	// Tiers maps a tier name to its deployment.
	Tiers map[string]Deployment `json:"tiers,omitempty"`
	// DefaultTier names the entry of Tiers for tenants whose tier is empty
	// or not in Tiers. Without it such tenants fail with ErrUnknownTier
	// (unless their override has a Deployment).
	DefaultTier string `json:"defaultTier,omitempty"`
	// Tenants holds per-tenant overrides, by tenant ID.
	Tenants map[string]Override `json:"tenants,omitempty"`
	// RequireListed makes every tenant not in Tenants fail with
	// ErrUnknownTenant.
	RequireListed bool `json:"requireListed,omitempty"`
	// ReservedIDs are IDs that must never resolve as tenants, matched
	// without regard to case: a pooled bucket's top-level prefixes are
	// tenant IDs, so a tenant named "shared" would be granted
	// "shared/config.json". Such tenants fail with ErrReservedTenant. A
	// pooled bucket or table should hold tenant data only; reserve the name
	// of anything else kept beside it.
	ReservedIDs []string `json:"reservedIds,omitempty"`
}

// DecodeConfig decodes a JSON [Config] strictly: unknown fields and data
// after the object are errors. It does not validate the configuration;
// [NewConfigResolver] does.
func DecodeConfig(r io.Reader) (Config, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return Config{}, &PlacementError{Err: fmt.Errorf("%w: %w", ErrInvalidPlacement, err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return Config{}, &PlacementError{Err: fmt.Errorf("%w: data after the configuration object", ErrInvalidPlacement)}
	}
	return c, nil
}

// LoadConfig reads a [ConfigResolver] from the JSON file at path.
func LoadConfig(path string) (*ConfigResolver, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return NewConfigResolver(c)
}

// ConfigResolver is the [Resolver] of a [Config]. It is immutable and safe
// for concurrent use; to change placements build a new one.
type ConfigResolver struct {
	tiers         map[string]Deployment
	defaultTier   string
	requireListed bool
	pool, silo    compiledResources
	tenants       map[string]compiledOverride
	reserved      map[string]bool // lower-cased
}

type compiledOverride struct {
	deployment *Deployment
	pool, silo compiledResources
}

// compiledResources holds the fields of a Resources, split into literal
// text and ${tenant.id} / ${tenant.tier} placeholders.
type compiledResources struct {
	role, region, table, bucket, key []segment
}

// NewConfigResolver validates c and returns its resolver. Errors are
// *[PlacementError] values wrapping [ErrInvalidPlacement] (or
// [ErrUnknownTier] for a DefaultTier not in Tiers).
func NewConfigResolver(c Config) (*ConfigResolver, error) {
	r := &ConfigResolver{
		tiers:         make(map[string]Deployment, len(c.Tiers)),
		defaultTier:   c.DefaultTier,
		requireListed: c.RequireListed,
		tenants:       make(map[string]compiledOverride, len(c.Tenants)),
		reserved:      make(map[string]bool, len(c.ReservedIDs)),
	}
	for _, id := range c.ReservedIDs {
		if err := tenant.ValidateID(id); err != nil {
			return nil, &PlacementError{Field: "reservedIds", Err: fmt.Errorf("%w: %w", ErrInvalidPlacement, err)}
		}
		r.reserved[strings.ToLower(id)] = true
	}
	for id := range c.Tenants {
		if r.reserved[strings.ToLower(id)] {
			return nil, &PlacementError{TenantID: id, Field: "tenants", Err: fmt.Errorf("%w: %w", ErrInvalidPlacement, ErrReservedTenant)}
		}
	}
	for name, d := range c.Tiers {
		if err := tenant.ValidateID(name); err != nil {
			return nil, &PlacementError{Field: "tiers", Err: fmt.Errorf("%w: tier name: %w", ErrInvalidPlacement, err)}
		}
		if err := d.check(); err != nil {
			return nil, &PlacementError{Field: "tiers." + name, Err: fmt.Errorf("%w: %s", ErrInvalidPlacement, err)}
		}
		r.tiers[name] = d
	}
	if c.DefaultTier != "" {
		if _, ok := r.tiers[c.DefaultTier]; !ok {
			return nil, &PlacementError{Field: "defaultTier", Err: ErrUnknownTier}
		}
	}
	var err error
	if r.pool, err = compileResources("pool", c.Pool, c.Region); err != nil {
		return nil, err
	}
	if r.silo, err = compileResources("silo", c.Silo, c.Region); err != nil {
		return nil, err
	}
	for id, o := range c.Tenants {
		if err := tenant.ValidateID(id); err != nil {
			return nil, &PlacementError{Field: "tenants", Err: fmt.Errorf("%w: %w", ErrInvalidPlacement, err)}
		}
		co := compiledOverride{deployment: o.Deployment}
		if o.Deployment != nil {
			if err := o.Deployment.check(); err != nil {
				return nil, &PlacementError{TenantID: id, Field: "deployment", Err: fmt.Errorf("%w: %s", ErrInvalidPlacement, err)}
			}
			d := *o.Deployment
			co.deployment = &d
		}
		if co.pool, err = compileResources("tenants."+id+".pool", c.Pool.over(o.Pool), c.Region); err != nil {
			return nil, err
		}
		if co.silo, err = compileResources("tenants."+id+".silo", c.Silo.over(o.Silo), c.Region); err != nil {
			return nil, err
		}
		r.tenants[id] = co
	}
	return r, nil
}

// Field patterns, checked after substitution. No pattern admits '*' or '?'.
var (
	roleARNPattern    = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$`)
	tableARNPattern   = regexp.MustCompile(`^arn:aws[a-z-]*:dynamodb:[a-z]{2}(?:-[a-z]+)+-\d{1,2}:\d{12}:table/[\w.-]{3,255}$`)
	keyARNPattern     = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z]{2}(?:-[a-z]+)+-\d{1,2}:\d{12}:key/[a-zA-Z0-9-]{1,128}$`)
	regionPattern     = regexp.MustCompile(`^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$`)
	bucketNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
)

// Check reports whether a placed binding can be acted on: its model is Pool
// or Silo and its role ARN is well formed. A resolver's placement is
// checked this way before any credential is vended for it. The error wraps
// ErrInvalidPlacement.
func (b Binding) Check() error {
	if b.Model != Pool && b.Model != Silo {
		return fmt.Errorf("%w: unknown model", ErrInvalidPlacement)
	}
	return checkField("roleArn", b.RoleARN)
}

func checkField(field, v string) error {
	var ok bool
	switch field {
	case "roleArn":
		ok = roleARNPattern.MatchString(v)
	case "table":
		ok = tableARNPattern.MatchString(v)
	case "kmsKeyArn":
		ok = keyARNPattern.MatchString(v)
	case "region":
		ok = regionPattern.MatchString(v)
	case "bucket":
		ok = bucketNamePattern.MatchString(v) && !strings.Contains(v, "..")
	}
	if !ok {
		return fmt.Errorf("%w: malformed %s", ErrInvalidPlacement, field)
	}
	return nil
}

func compileResources(where string, r Resources, defaultRegion string) (compiledResources, error) {
	if r.Region == "" {
		r.Region = defaultRegion
	}
	var c compiledResources
	for _, f := range [...]struct {
		name string
		src  string
		dst  *[]segment
	}{
		{"roleArn", r.RoleARN, &c.role}, {"region", r.Region, &c.region}, {"table", r.Table, &c.table},
		{"bucket", r.Bucket, &c.bucket}, {"kmsKeyArn", r.KMSKeyARN, &c.key},
	} {
		if f.src == "" {
			continue
		}
		segs, err := compileString(f.src)
		if err == nil {
			for _, s := range segs {
				if s.ph != phLiteral && s.ph != phTenantID && s.ph != phTier || strings.Contains(s.text, "${") {
					err = fmt.Errorf("only ${tenant.id} and ${tenant.tier} may be used")
				}
			}
		}
		if err == nil {
			// Check the shape once now, with a probe tenant, so that a
			// malformed configuration fails at startup.
			err = checkField(f.name, substitute(segs, "probe", "probe"))
		}
		if err != nil {
			return c, &PlacementError{Field: where + "." + f.name, Err: fmt.Errorf("%w: %w", ErrInvalidPlacement, err)}
		}
		*f.dst = segs
	}
	return c, nil
}

// substitute renders a configuration string for a tenant whose ID and tier
// passed tenant.ValidateID. It returns "" if the string uses ${tenant.tier}
// and tier is empty.
func substitute(segs []segment, id, tier string) string {
	if len(segs) == 1 && segs[0].ph == phLiteral {
		return segs[0].text
	}
	var b strings.Builder
	for _, s := range segs {
		switch s.ph {
		case phTenantID:
			b.WriteString(id)
		case phTier:
			if tier == "" {
				return ""
			}
			b.WriteString(tier)
		default:
			b.WriteString(s.text)
		}
	}
	return b.String()
}

// Resolve returns the placement of t. Errors are *[PlacementError] values
// wrapping [ErrUnknownTenant], [ErrReservedTenant], [ErrUnknownTier],
// [ErrIncompletePlacement] or [ErrInvalidPlacement]; a zero t is
// [tenant.ErrNoTenant].
func (r *ConfigResolver) Resolve(_ context.Context, t tenant.Tenant) (Placement, error) {
	if t.IsZero() {
		return Placement{}, tenant.ErrNoTenant
	}
	id, tier := t.ID(), t.Tier()
	if err := tenant.ValidateID(id); err != nil { // a Tenant is valid by construction; check anyway
		return Placement{}, &PlacementError{Err: fmt.Errorf("%w: %w", ErrInvalidValue, err)}
	}
	if len(r.reserved) > 0 && r.reserved[strings.ToLower(id)] {
		return Placement{}, &PlacementError{TenantID: id, Err: ErrReservedTenant}
	}
	o, listed := r.tenants[id]
	if !listed {
		if r.requireListed {
			return Placement{}, &PlacementError{TenantID: id, Err: ErrUnknownTenant}
		}
		o = compiledOverride{pool: r.pool, silo: r.silo}
	}
	d, ok := r.tiers[tier]
	switch {
	case o.deployment != nil:
		d = *o.deployment
	case !ok && r.defaultTier != "":
		d = r.tiers[r.defaultTier]
	case !ok:
		return Placement{}, &PlacementError{TenantID: id, Field: "tier " + tier, Err: ErrUnknownTier}
	}

	p := Placement{TenantID: id, Tier: tier, Model: d.Model}
	placed := false
	for res := Resource(0); res < NumResources; res++ {
		m := d.modelOf(res)
		set, setName := &o.pool, "pool"
		if m == Silo {
			set, setName = &o.silo, "silo"
		}
		var nameSegs []segment
		field := ""
		switch res {
		case Table:
			nameSegs, field = set.table, "table"
		case Bucket:
			nameSegs, field = set.bucket, "bucket"
		case KMSKey:
			nameSegs, field = set.key, "kmsKeyArn"
		}
		if nameSegs == nil {
			continue // this tenant has no such resource
		}
		if set.role == nil {
			return Placement{}, &PlacementError{TenantID: id, Field: setName + ".roleArn (for " + res.String() + ")", Err: ErrIncompletePlacement}
		}
		if set.region == nil {
			return Placement{}, &PlacementError{TenantID: id, Field: setName + ".region (for " + res.String() + ")", Err: ErrIncompletePlacement}
		}
		b := Binding{
			Model:   m,
			RoleARN: substitute(set.role, id, tier),
			Region:  substitute(set.region, id, tier),
			Name:    substitute(nameSegs, id, tier),
		}
		for _, f := range [...]struct{ name, v string }{{"roleArn", b.RoleARN}, {"region", b.Region}, {field, b.Name}} {
			if f.v == "" {
				return Placement{}, &PlacementError{TenantID: id, Field: setName + "." + f.name + " uses ${tenant.tier}, the tenant has no tier", Err: ErrIncompletePlacement}
			}
			if err := checkField(f.name, f.v); err != nil {
				return Placement{}, &PlacementError{TenantID: id, Field: setName + "." + f.name, Err: err}
			}
		}
		*p.binding(res) = b
		placed = true
	}
	if !placed {
		return Placement{}, &PlacementError{TenantID: id, Field: "no resource placed", Err: ErrIncompletePlacement}
	}
	return p, nil
}
