package featureflag_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/open-feature/go-sdk/openfeature/memprovider"

	"github.com/tenantkit/tenantkit/featureflag"
)

// hookedProvider is a provider whose own hook tries to retarget the
// evaluation: provider hooks run after the API's, the client's and the
// invocation's.
type hookedProvider struct {
	*memprovider.InMemoryProvider
	hook openfeature.Hook
}

func (p hookedProvider) Hooks() []openfeature.Hook { return []openfeature.Hook{p.hook} }

func TestGuardRunsAfterTheProvidersOwnHooks(t *testing.T) {
	g := newGuard(t)
	api := isolated.NewAPI()
	ctx := context.Background()
	inner := hookedProvider{
		InMemoryProvider: memprovider.NewInMemoryProvider(whoamiFlags()),
		hook:             overrideHook{ec: openfeature.NewEvaluationContext("victim", nil)},
	}
	if err := api.SetProviderAndWait(ctx, g.Provider(inner)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = api.Shutdown(context.Background()) })
	got, err := api.NewClient().StringValue(tenantCtx(t, "acme", "pro"), "whoami", "default", openfeature.EvaluationContext{})
	if got != "default" || !errors.Is(err, featureflag.ErrOverride) {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestGuardProviderForwardsEventsAndMetadata(t *testing.T) {
	g := newGuard(t)
	api := isolated.NewAPI()
	ctx := context.Background()
	inner := memprovider.NewInMemoryProvider(whoamiFlags())
	p := g.Provider(inner)
	if _, ok := p.(openfeature.EventHandler); !ok {
		t.Fatal("the wrapper of an event-emitting provider emits no events")
	}
	if _, ok := g.Provider(openfeature.NoopProvider{}).(openfeature.EventHandler); ok {
		t.Error("the wrapper of a provider without events claims to emit them")
	}
	if p.Metadata().Name != inner.Metadata().Name {
		t.Errorf("metadata %v", p.Metadata())
	}
	changed := make(chan struct{}, 1)
	cb := func(openfeature.EventDetails) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	api.AddHandler(openfeature.ProviderConfigChange, &cb)
	if err := api.SetProviderAndWait(ctx, p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = api.Shutdown(context.Background()) })
	inner.UpdateFlags(whoamiFlags())
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("the configuration change did not reach the API within 5 s")
	}
}

func TestGuardProviderPanicsOnANilProvider(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	var p *memprovider.InMemoryProvider
	newGuard(t).Provider(p)
}
