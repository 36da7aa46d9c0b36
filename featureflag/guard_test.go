package featureflag_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/open-feature/go-sdk/openfeature"

	"github.com/tenantkit/tenantkit/featureflag"
	"github.com/tenantkit/tenantkit/tenant"
)

// overrideHook is a hook that a later change of the service (or a library)
// registers: it tries to point the evaluation at another tenant.
type overrideHook struct {
	openfeature.UnimplementedHook
	ec openfeature.EvaluationContext
}

func (h overrideHook) Before(context.Context, openfeature.HookContext, openfeature.HookHints) (*openfeature.EvaluationContext, error) {
	return &h.ec, nil
}

type profile struct {
	Name   string
	Tenant string `json:"tenant_id"`
}

type account struct {
	Owner struct {
		TenantRef string `json:"ref"`
	}
}

func nested(depth int) map[string]any {
	m := map[string]any{"leaf": 1}
	for range depth {
		m = map[string]any{"n": m}
	}
	return m
}

func attrs(kv ...any) openfeature.EvaluationContext {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return openfeature.NewTargetlessEvaluationContext(m)
}

// The attempts to evaluate a flag of tenant acme (tier pro) for another
// tenant. Each must return the default value with an error wrapping
// ErrOverride, and be counted.
var overrides = []struct {
	name   string
	ec     openfeature.EvaluationContext // invocation context
	member string                        // the member the refusal names
}{
	{"targeting key", openfeature.NewEvaluationContext("victim", nil), "targetingKey"},
	{"targeting key case variant", openfeature.NewEvaluationContext("ACME", nil), "targetingKey"},
	{"targeting key attribute", attrs("targetingKey", "victim"), "targetingKey"},
	{"targeting key attribute lower case", attrs("targetingkey", "victim"), "targetingkey"},
	{"tenant ID attribute", attrs("tenantId", "victim"), "tenantId"},
	{"tenant ID attribute not a string", attrs("tenantId", 42), "tenantId"},
	{"tenant ID dotted", attrs("tenant.id", "victim"), "tenant.id"},
	{"tenant ID snake case", attrs("tenant_id", "victim"), "tenant_id"},
	{"tenant ID upper case", attrs("TENANT-ID", "victim"), "TENANT-ID"},
	{"tenant ID with a space", attrs("Tenant Id", "victim"), "Tenant Id"},
	{"tenant ID with the Kelvin sign", attrs("tenantId\u212a", "victim"), "tenantId\u212a"},
	{"tenant ID full width", attrs("ｔｅｎａｎｔＩｄ", "victim"), "ｔｅｎａｎｔＩｄ"},
	{"tenant ID with a zero-width space", attrs("tenant\u200bId", "victim"), "tenant\u200bId"},
	{"tier upgrade", attrs("tenantTier", "enterprise"), "tenantTier"},
	{"tier dotted", attrs("tenant.tier", "enterprise"), "tenant.tier"},
	{"another tenant attribute", attrs("tenant", "victim"), "tenant"},
	{"tenant object", attrs("tenant", map[string]any{"id": "victim"}), "tenant"},
	{"nested tenant ID", attrs("user", map[string]any{"tenantId": "victim"}), "user.tenantId"},
	{"nested in a slice", attrs("orgs", []any{map[string]any{"tenant_id": "victim"}}), "orgs[0].tenant_id"},
	{"typed map", attrs("claims", map[string]string{"TenantID": "victim"}), "claims.TenantID"},
	{"struct field", attrs("profile", profile{Name: "x", Tenant: "victim"}), "profile.Tenant"},
	{"struct json tag", attrs("p", struct {
		Ref string `json:"tenant_id"`
	}{"victim"}), "p.tenant_id"},
	{"struct field name", attrs("account", &account{}), "account.Owner.TenantRef"},
	{"too deep to inspect", attrs("deep", nested(40)), ""},
}

func TestGuardRefusesEveryOverrideOfTheVerifiedTenant(t *testing.T) {
	for _, tc := range overrides {
		t.Run(tc.name, func(t *testing.T) {
			var handled atomic.Int64
			g := newGuard(t, featureflag.WithRefusalHandler(func(_ context.Context, flag string, err error) {
				if flag != "whoami" || !errors.Is(err, featureflag.ErrOverride) {
					t.Errorf("refusal handler: flag %q, err %v", flag, err)
				}
				handled.Add(1)
			}))
			client := newAPI(t, g, whoamiFlags()).NewClient()
			ctx := tenantCtx(t, "acme", "pro")

			got, err := client.StringValue(ctx, "whoami", "default", tc.ec)
			if got != "default" {
				t.Errorf("value %q, want the default", got)
			}
			if !errors.Is(err, featureflag.ErrOverride) || !errors.Is(err, tenant.ErrMismatch) {
				t.Fatalf("err %v, want ErrOverride", err)
			}
			var re *featureflag.RefusalError
			if !errors.As(err, &re) {
				t.Fatalf("err %v is not a *RefusalError", err)
			}
			if tc.member != "" && re.Member != tc.member {
				t.Errorf("member %q, want %q", re.Member, tc.member)
			}
			if strings.Contains(err.Error(), "victim") || strings.Contains(err.Error(), "enterprise") {
				t.Errorf("the error echoes the supplied value: %v", err)
			}
			if g.Refused() != 1 || handled.Load() != 1 {
				t.Errorf("refused %d, handled %d, want 1 and 1", g.Refused(), handled.Load())
			}
		})
	}
}

// The same attempts through every other level of the SDK's merge (API,
// client, transaction) and through hooks registered later, which run after
// any hook the service added first.
func TestGuardRefusesOverridesFromEveryLevelAndFromLaterHooks(t *testing.T) {
	victim := openfeature.NewEvaluationContext("victim", map[string]any{"tenantId": "victim"})
	levels := []struct {
		name  string
		setup func(api *openfeature.EvaluationAPI, c *openfeature.Client, ctx context.Context) (context.Context, []openfeature.Option)
	}{
		{"API context", func(api *openfeature.EvaluationAPI, _ *openfeature.Client, ctx context.Context) (context.Context, []openfeature.Option) {
			api.SetEvaluationContext(attrs("tenant_id", "victim"))
			return ctx, nil
		}},
		{"client context", func(_ *openfeature.EvaluationAPI, c *openfeature.Client, ctx context.Context) (context.Context, []openfeature.Option) {
			c.SetEvaluationContext(victim)
			return ctx, nil
		}},
		{"transaction context replaced after Targeting", func(_ *openfeature.EvaluationAPI, _ *openfeature.Client, ctx context.Context) (context.Context, []openfeature.Option) {
			return openfeature.WithTransactionContext(ctx, victim), nil
		}},
		{"transaction context merged after Targeting", func(_ *openfeature.EvaluationAPI, _ *openfeature.Client, ctx context.Context) (context.Context, []openfeature.Option) {
			return openfeature.MergeTransactionContext(ctx, attrs("Tenant.Id", "victim")), nil
		}},
		{"API hook", func(api *openfeature.EvaluationAPI, _ *openfeature.Client, ctx context.Context) (context.Context, []openfeature.Option) {
			api.AddHooks(overrideHook{ec: victim})
			return ctx, nil
		}},
		{"client hook", func(_ *openfeature.EvaluationAPI, c *openfeature.Client, ctx context.Context) (context.Context, []openfeature.Option) {
			c.AddHooks(overrideHook{ec: victim})
			return ctx, nil
		}},
		{"invocation hook", func(_ *openfeature.EvaluationAPI, _ *openfeature.Client, ctx context.Context) (context.Context, []openfeature.Option) {
			return ctx, []openfeature.Option{openfeature.WithHooks(overrideHook{ec: victim})}
		}},
	}
	for _, lv := range levels {
		t.Run(lv.name, func(t *testing.T) {
			g := newGuard(t)
			api := newAPI(t, g, whoamiFlags())
			client := api.NewClient()
			// The guard as a client hook too, registered first: a hook
			// added later runs after it, the provider wrapper after all.
			client.AddHooks(g)
			ctx, opts := lv.setup(api, client, tenantCtx(t, "acme", "pro"))
			got, err := client.StringValue(ctx, "whoami", "default", openfeature.EvaluationContext{}, opts...)
			if got != "default" || !errors.Is(err, featureflag.ErrOverride) {
				t.Fatalf("got %q, %v; want the default and ErrOverride", got, err)
			}
			if g.Refused() != 1 {
				t.Errorf("refused %d, want 1", g.Refused())
			}
		})
	}
}

func TestGuardLetsTheVerifiedTenantAndOtherAttributesThrough(t *testing.T) {
	g := newGuard(t)
	client := newAPI(t, g, whoamiFlags()).NewClient()
	ctx := tenantCtx(t, "acme", "pro")
	for name, ec := range map[string]openfeature.EvaluationContext{
		"nothing":                       {},
		"the same targeting key":        openfeature.NewEvaluationContext("acme", nil),
		"the same tenant attributes":    attrs("tenantId", "acme", "tenantTier", "pro", "tenant.id", "acme"),
		"unrelated attributes":          attrs("country", "NZ", "user", map[string]any{"plan": "x", "id": "u1"}),
		"a value that names the victim": attrs("note", "tenantId=victim"),
		"a large binary attribute":      attrs("blob", make([]byte, 1<<20)),
	} {
		got, err := client.StringValue(ctx, "whoami", "default", ec)
		if err != nil || got != "acme/pro" {
			t.Errorf("%s: got %q, %v; want acme/pro", name, got, err)
		}
	}
	if g.Refused() != 0 {
		t.Errorf("refused %d, want 0", g.Refused())
	}
}

func TestGuardForcesTheTenantWhenTheTransactionContextIsMissing(t *testing.T) {
	// A handler whose context has the verified tenant but no transaction
	// context (Targeting not installed): the wrapper still targets the
	// verified tenant.
	g := newGuard(t)
	client := newAPI(t, g, whoamiFlags()).NewClient()
	ctx := tenant.NewContext(context.Background(), mustTenant(t, "acme", "pro"))
	if got, err := client.StringValue(ctx, "whoami", "default", openfeature.EvaluationContext{}); err != nil || got != "acme/pro" {
		t.Fatalf("got %q, %v; want acme/pro", got, err)
	}
	// As a hook alone, too.
	hookOnly := newAPI(t, nil, whoamiFlags()).NewClient()
	hookOnly.AddHooks(g)
	if got, err := hookOnly.StringValue(ctx, "whoami", "default", openfeature.EvaluationContext{}); err != nil || got != "acme/pro" {
		t.Fatalf("hook: got %q, %v; want acme/pro", got, err)
	}
}

func TestGuardWithoutAVerifiedTenantRefusesATenantAndAllowsNone(t *testing.T) {
	g := newGuard(t)
	client := newAPI(t, g, whoamiFlags()).NewClient()
	ctx := context.Background()
	if got, err := client.StringValue(ctx, "whoami", "default", openfeature.EvaluationContext{}); err != nil || got != "<nil>/<nil>" {
		t.Fatalf("no tenant: got %q, %v", got, err)
	}
	for _, ec := range []openfeature.EvaluationContext{
		openfeature.NewEvaluationContext("acme", nil),
		attrs("tenantId", "acme"),
		attrs("x", map[string]any{"TENANT_ID": "acme"}),
	} {
		got, err := client.StringValue(ctx, "whoami", "default", ec)
		if got != "default" || !errors.Is(err, featureflag.ErrNoTenant) || !errors.Is(err, tenant.ErrNoTenant) {
			t.Errorf("got %q, %v; want the default and ErrNoTenant", got, err)
		}
	}
}

func TestGuardAsAHookAloneRefusesInvocationOverrides(t *testing.T) {
	g := newGuard(t)
	client := newAPI(t, nil, whoamiFlags()).NewClient()
	client.AddHooks(g)
	ctx := tenantCtx(t, "acme", "pro")
	got, err := client.StringValue(ctx, "whoami", "default", attrs("tenant_id", "victim"))
	if got != "default" || !errors.Is(err, featureflag.ErrOverride) {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestGuardTenantWithoutTierRefusesATier(t *testing.T) {
	g := newGuard(t)
	client := newAPI(t, g, whoamiFlags()).NewClient()
	ctx := tenantCtx(t, "acme", "")
	if got, err := client.StringValue(ctx, "whoami", "default", openfeature.EvaluationContext{}); err != nil || got != "acme/<nil>" {
		t.Fatalf("got %q, %v", got, err)
	}
	got, err := client.StringValue(ctx, "whoami", "default", attrs("tenantTier", "enterprise"))
	if got != "default" || !errors.Is(err, featureflag.ErrOverride) {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestGuardWithTenantIDAttributes(t *testing.T) {
	g := newGuard(t, featureflag.WithTenantIDAttributes("orgId"))
	client := newAPI(t, g, whoamiFlags()).NewClient()
	ctx := tenantCtx(t, "acme", "pro")
	if _, err := client.StringValue(ctx, "whoami", "default", attrs("org_id", "acme")); err != nil {
		t.Fatalf("the verified ID: %v", err)
	}
	if _, err := client.StringValue(ctx, "whoami", "default", attrs("ORG.ID", "victim")); !errors.Is(err, featureflag.ErrOverride) {
		t.Fatalf("another ID: %v", err)
	}
	if _, err := featureflag.NewGuard(featureflag.WithTenantIDAttributes("..")); !errors.Is(err, featureflag.ErrInvalidOption) {
		t.Errorf("a name without letters: %v", err)
	}
	if _, err := featureflag.NewGuard(featureflag.WithRefusalHandler(nil)); !errors.Is(err, featureflag.ErrInvalidOption) {
		t.Errorf("a nil handler: %v", err)
	}
	if _, err := featureflag.NewGuard(nil); !errors.Is(err, featureflag.ErrInvalidOption) {
		t.Errorf("a nil option: %v", err)
	}
}

func TestGuardTooManyValuesIsRefused(t *testing.T) {
	g := newGuard(t)
	client := newAPI(t, g, whoamiFlags()).NewClient()
	big := make([]any, 20_000)
	for i := range big {
		big[i] = i
	}
	_, err := client.StringValue(tenantCtx(t, "acme", "pro"), "whoami", "default", attrs("big", big))
	if !errors.Is(err, featureflag.ErrOverride) {
		t.Fatalf("err %v", err)
	}
}

type trackingProvider struct {
	openfeature.FeatureProvider
	events []openfeature.EvaluationContext
}

func (p *trackingProvider) Track(_ context.Context, _ string, ec openfeature.EvaluationContext, _ openfeature.TrackingEventDetails) {
	p.events = append(p.events, ec)
}

func TestGuardTrackingEventsCarryTheVerifiedTenant(t *testing.T) {
	g := newGuard(t)
	tp := &trackingProvider{FeatureProvider: openfeature.NoopProvider{}}
	p := g.Provider(tp).(openfeature.Tracker)
	ctx := tenant.NewContext(context.Background(), mustTenant(t, "acme", "pro"))
	p.Track(ctx, "checkout", openfeature.EvaluationContext{}, openfeature.NewTrackingEventDetails(1))
	p.Track(ctx, "checkout", openfeature.NewEvaluationContext("victim", nil), openfeature.NewTrackingEventDetails(1))
	if len(tp.events) != 1 || tp.events[0].TargetingKey() != "acme" || tp.events[0].Attribute("tenantTier") != "pro" {
		t.Fatalf("events %+v", tp.events)
	}
	if g.Refused() != 1 {
		t.Errorf("refused %d", g.Refused())
	}
}

func TestContextWithTenantReplacesAnEarlierTenant(t *testing.T) {
	ctx := openfeature.WithTransactionContext(context.Background(),
		openfeature.NewEvaluationContext("victim", map[string]any{"tenantTier": "enterprise", "region": "eu"}))
	ctx = featureflag.ContextWithTenant(ctx, mustTenant(t, "acme", ""))
	ec := openfeature.TransactionContext(ctx)
	if ec.TargetingKey() != "acme" || ec.Attribute("tenantId") != "acme" || ec.Attribute("tenantTier") != nil || ec.Attribute("region") != "eu" {
		t.Fatalf("transaction context %v %v", ec.TargetingKey(), ec.Attributes())
	}
	if featureflag.ContextWithTenant(ctx, tenant.Tenant{}) != ctx {
		t.Error("the zero tenant changed the context")
	}
}
