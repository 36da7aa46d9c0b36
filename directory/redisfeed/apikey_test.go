package redisfeed_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/apikey"
	"github.com/tenantkit/tenantkit/directory/redisfeed"
	"github.com/tenantkit/tenantkit/internal/redistest"
)

// keyID is apikey's key ID rule: IDLen base62 characters.
func keyID(id string) error {
	if len(id) != apikey.IDLen || strings.Trim(id, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != "" {
		return errors.New("not an API key ID")
	}
	return nil
}

// A revoked key stops working on three replicas, each with its own cached
// apikey.Verifier, within 1 s of its key ID being published on the API-key
// channel (what the Manager's change hook does in a control plane).
func TestRevokedKeyRefusedOnThreeReplicasWithinOneSecond(t *testing.T) {
	addr := redistest.Addr(t)
	channel := redistest.Prefix(t) + redisfeed.APIKeyChannel
	store := apikey.NewMemory()
	m, err := apikey.NewManager(store)
	if err != nil {
		t.Fatal(err)
	}
	pub := newClient(t, addr)
	var changed []string
	m.OnChange(func(id string) { changed = append(changed, id) }) // published below, after a check

	var current string // the key each replica is presented
	var do []func() (bool, error)
	var subs []*redisfeed.Subscriber
	for range 3 {
		v, err := apikey.NewVerifier(store, apikey.WithTTL(apikey.MaxTTL))
		if err != nil {
			t.Fatal(err)
		}
		s, err := redisfeed.NewSubscriber(newClient(t, addr), channel, v, redisfeed.WithIDCheck(keyID))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		subs = append(subs, s)
		do = append(do, func() (bool, error) {
			_, err := v.Verify(ctx, current)
			return err == nil, nil
		})
	}
	waitReady(t, subs...)

	const rounds = 10
	var all []time.Duration
	for round := range rounds {
		key, r, err := m.Create(ctx, "acme", apikey.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		current = key
		for i, f := range do { // cached on all three
			if in, _ := f(); !in {
				t.Fatalf("round %d: replica %d refused a new key", round, i)
			}
		}
		if err := m.Revoke(ctx, r.KeyID); err != nil {
			t.Fatal(err)
		}
		// Without the feed, every replica still accepts its cached key.
		for i, f := range do {
			if in, _ := f(); !in {
				t.Fatalf("round %d: replica %d refused the revoked key before the publish: the cache is not in play", round, i)
			}
		}
		if !slices.Equal(changed, []string{r.KeyID}) {
			t.Fatalf("round %d: the Manager's change hook got %q, want [%s]", round, changed, r.KeyID)
		}
		changed = changed[:0]
		start := time.Now()
		if err := redisfeed.Publish(ctx, pub, channel, r.KeyID); err != nil {
			t.Fatal(err)
		}
		took := untilAll(t, start, 2*time.Second, false, do)
		all = append(all, slices.Max(took))
	}
	worst := slices.Max(all)
	t.Logf("revocation to refusal on 3 replicas over %d rounds: p50 %v, max %v", rounds, percentile(all, 0.5), worst)
	if worst >= time.Second {
		t.Fatalf("a revocation took %v to reach all three replicas, want < 1 s", worst)
	}
	for i, s := range subs {
		if st := s.Stats(); st.Malformed != 0 || st.Invalidated != rounds {
			t.Errorf("replica %d: %+v, want %d invalidated and none malformed", i, st, rounds)
		}
	}
}
