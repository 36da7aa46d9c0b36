package featureflag

import (
	"context"
	"maps"
	"slices"

	"github.com/open-feature/go-sdk/openfeature"

	"github.com/tenantkit/tenantkit/internal/nilarg"
)

// Provider returns p wrapped so that every evaluation and tracking event
// reaches p with the verified tenant. The guard runs as the last provider
// hook, after the API, client and invocation hooks, so no hook added later
// can change the tenant: it refuses an evaluation that names another
// tenant (the caller gets the default value and an error wrapping the
// *[RefusalError]) and fills in the targeting key and tenant attributes
// when they are missing. The wrapper then checks, and completes, the
// flattened context p receives once more, so a hook that ran outside the
// SDK's order cannot slip past. It panics if p is nil.
//
// The wrapper forwards p's hooks, initialisation, shutdown, events and
// tracking; a refused tracking event is dropped.
func (g *Guard) Provider(p openfeature.FeatureProvider) openfeature.FeatureProvider {
	if d := nilarg.Describe(p); d != "" {
		panic("featureflag: Guard.Provider: the provider is " + d)
	}
	gp := &guardedProvider{g: g, p: p}
	if eh, ok := p.(openfeature.EventHandler); ok {
		return &guardedEventProvider{guardedProvider: gp, events: eh}
	}
	return gp
}

type guardedProvider struct {
	g *Guard
	p openfeature.FeatureProvider
}

var (
	_ openfeature.FeatureProvider          = (*guardedProvider)(nil)
	_ openfeature.ContextAwareStateHandler = (*guardedProvider)(nil)
	_ openfeature.Tracker                  = (*guardedProvider)(nil)
	_ openfeature.EventHandler             = (*guardedEventProvider)(nil)
)

// guardedEventProvider is the wrapper of a provider that emits events; the
// SDK listens to a provider's events only when it implements EventHandler,
// so the wrapper does only then.
type guardedEventProvider struct {
	*guardedProvider
	events openfeature.EventHandler
}

func (p *guardedEventProvider) EventChannel() <-chan openfeature.Event {
	return p.events.EventChannel()
}

func (p *guardedProvider) Metadata() openfeature.Metadata { return p.p.Metadata() }

// Hooks returns p's hooks and then the guard: provider hooks run last, so
// the guard's Before sees the context every other hook has left. Its
// refusal reaches the caller as an error wrapping the *RefusalError (the
// SDK keeps a hook's error; it keeps only the text of a resolution error).
func (p *guardedProvider) Hooks() []openfeature.Hook {
	return append(slices.Clip(p.p.Hooks()), p.g)
}

func (p *guardedProvider) Init(ec openfeature.EvaluationContext) error {
	if sh, ok := p.p.(openfeature.StateHandler); ok {
		return sh.Init(ec)
	}
	return nil
}

func (p *guardedProvider) Shutdown() {
	if sh, ok := p.p.(openfeature.StateHandler); ok {
		sh.Shutdown()
	}
}

func (p *guardedProvider) InitWithContext(ctx context.Context, ec openfeature.EvaluationContext) error {
	if sh, ok := p.p.(openfeature.ContextAwareStateHandler); ok {
		return sh.InitWithContext(ctx, ec)
	}
	return p.Init(ec)
}

func (p *guardedProvider) ShutdownWithContext(ctx context.Context) error {
	if sh, ok := p.p.(openfeature.ContextAwareStateHandler); ok {
		return sh.ShutdownWithContext(ctx)
	}
	p.Shutdown()
	return nil
}

func (p *guardedProvider) Track(ctx context.Context, name string, ec openfeature.EvaluationContext, details openfeature.TrackingEventDetails) {
	tr, ok := p.p.(openfeature.Tracker)
	if !ok {
		return
	}
	t, err := p.g.check(ctx, ec.TargetingKey(), ec.Attributes())
	if err != nil {
		p.g.refuse(ctx, name, err)
		return
	}
	if !t.IsZero() {
		attrs := ec.Attributes()
		maps.Copy(attrs, tenantAttributes(t))
		ec = openfeature.NewEvaluationContext(t.ID(), attrs)
	}
	tr.Track(ctx, name, ec, details)
}

// flat returns the flattened context to pass on, or the refusal.
func (p *guardedProvider) flat(ctx context.Context, flag string, fc openfeature.FlattenedContext) (openfeature.FlattenedContext, error) {
	// The targeting key is a member of the flattened context
	// (openfeature.TargetingKey), checked as an attribute.
	t, err := p.g.check(ctx, "", fc)
	if err != nil {
		p.g.refuse(ctx, flag, err)
		return nil, err
	}
	if t.IsZero() {
		return fc, nil
	}
	tk, _ := fc[openfeature.TargetingKey].(string)
	if targets(t, tk, func(k string) any { return fc[k] }) {
		return fc, nil
	}
	out := make(openfeature.FlattenedContext, len(fc)+3)
	maps.Copy(out, fc)
	out[openfeature.TargetingKey] = t.ID()
	maps.Copy(out, tenantAttributes(t))
	return out, nil
}

func refusal(err error) openfeature.ProviderResolutionDetail {
	return openfeature.ProviderResolutionDetail{
		ResolutionError: openfeature.NewGeneralResolutionError(err.Error(), err),
		Reason:          openfeature.ErrorReason,
	}
}

func (p *guardedProvider) BooleanEvaluation(ctx context.Context, flag string, def bool, fc openfeature.FlattenedContext) openfeature.BoolResolutionDetail {
	fc, err := p.flat(ctx, flag, fc)
	if err != nil {
		return openfeature.BoolResolutionDetail{Value: def, ProviderResolutionDetail: refusal(err)}
	}
	return p.p.BooleanEvaluation(ctx, flag, def, fc)
}

func (p *guardedProvider) StringEvaluation(ctx context.Context, flag string, def string, fc openfeature.FlattenedContext) openfeature.StringResolutionDetail {
	fc, err := p.flat(ctx, flag, fc)
	if err != nil {
		return openfeature.StringResolutionDetail{Value: def, ProviderResolutionDetail: refusal(err)}
	}
	return p.p.StringEvaluation(ctx, flag, def, fc)
}

func (p *guardedProvider) FloatEvaluation(ctx context.Context, flag string, def float64, fc openfeature.FlattenedContext) openfeature.FloatResolutionDetail {
	fc, err := p.flat(ctx, flag, fc)
	if err != nil {
		return openfeature.FloatResolutionDetail{Value: def, ProviderResolutionDetail: refusal(err)}
	}
	return p.p.FloatEvaluation(ctx, flag, def, fc)
}

func (p *guardedProvider) IntEvaluation(ctx context.Context, flag string, def int64, fc openfeature.FlattenedContext) openfeature.IntResolutionDetail {
	fc, err := p.flat(ctx, flag, fc)
	if err != nil {
		return openfeature.IntResolutionDetail{Value: def, ProviderResolutionDetail: refusal(err)}
	}
	return p.p.IntEvaluation(ctx, flag, def, fc)
}

func (p *guardedProvider) ObjectEvaluation(ctx context.Context, flag string, def any, fc openfeature.FlattenedContext) openfeature.InterfaceResolutionDetail {
	fc, err := p.flat(ctx, flag, fc)
	if err != nil {
		return openfeature.InterfaceResolutionDetail{Value: def, ProviderResolutionDetail: refusal(err)}
	}
	return p.p.ObjectEvaluation(ctx, flag, def, fc)
}
