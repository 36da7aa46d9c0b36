package kmsenvelope

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const workers = 64

// run starts n goroutines running f(i) and waits for them.
func run(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { f(i) })
	}
	wg.Wait()
}

// sealed is one ciphertext with when its Encrypt started.
type sealed struct {
	ct    []byte
	start time.Time
}

func encryptedKeyOf(t *testing.T, ct []byte) string {
	h, err := parse(ct)
	if err != nil {
		t.Error(err)
		return ""
	}
	return string(h.encryptedKey)
}

// TestCacheBoundsUnder64Goroutines checks each bound of the data-key cache
// with 64 goroutines at once, counting GenerateDataKey and Decrypt calls
// through a wrapper around the real client.
func TestCacheBoundsUnder64Goroutines(t *testing.T) {
	c := newClient(t)
	key := createKey(t, c)

	// seal encrypts perWorker records of size bytes from each of 64
	// goroutines as tenant acme, and returns them.
	seal := func(t *testing.T, e *Envelope, perWorker, size int) []sealed {
		ctx := tenantCtx(t, "acme")
		out := make([][]sealed, workers)
		run(workers, func(i int) {
			for j := range perWorker {
				start := time.Now()
				ct, err := e.Encrypt(ctx, bytes.Repeat([]byte{byte(j)}, size), nil)
				if err != nil {
					t.Error(err)
					return
				}
				out[i] = append(out[i], sealed{ct, start})
			}
		})
		var all []sealed
		for _, s := range out {
			all = append(all, s...)
		}
		return all
	}
	usesPerKey := func(t *testing.T, all []sealed) map[string]int {
		m := map[string]int{}
		for _, s := range all {
			m[encryptedKeyOf(t, s.ct)]++
		}
		return m
	}

	t.Run("messages", func(t *testing.T) {
		const perKey = 10
		cc := newCounting(c)
		e := mustNew(t, cc, StaticKey(key), WithMaxMessages(perKey))
		all := seal(t, e, 20, 100)
		uses := usesPerKey(t, all)
		for k, n := range uses {
			if n > perKey {
				t.Errorf("a data key sealed %d messages, bound %d", n, perKey)
			}
			if _, ok := cc.generatedAt([]byte(k)); !ok {
				t.Errorf("a data key that GenerateDataKey did not return")
			}
		}
		// Merged misses: one call per 10 messages, no more.
		if want := int64(workers * 20 / perKey); cc.generate.Load() != want || int64(len(uses)) != want {
			t.Errorf("GenerateDataKey %d calls, %d keys; want %d", cc.generate.Load(), len(uses), want)
		}
	})

	t.Run("bytes", func(t *testing.T) {
		const perKey, size = 1000, 100
		cc := newCounting(c)
		e := mustNew(t, cc, StaticKey(key), WithMaxBytes(perKey))
		all := seal(t, e, 20, size)
		for _, n := range usesPerKey(t, all) {
			if n*size > perKey {
				t.Errorf("a data key sealed %d bytes, bound %d", n*size, perKey)
			}
		}
		if want := int64(workers * 20 * size / perKey); cc.generate.Load() != want {
			t.Errorf("GenerateDataKey %d calls, want %d", cc.generate.Load(), want)
		}
		// A record longer than the bound gets a key of its own, not cached.
		ctx := tenantCtx(t, "acme")
		before := cc.generate.Load()
		for range 2 {
			if _, err := e.Encrypt(ctx, make([]byte, perKey+1), nil); err != nil {
				t.Fatal(err)
			}
		}
		if n := cc.generate.Load() - before; n != 2 {
			t.Errorf("oversized records: %d calls, want 2", n)
		}
	})

	t.Run("age", func(t *testing.T) {
		const maxAge = 200 * time.Millisecond
		cc := newCounting(c)
		e := mustNew(t, cc, StaticKey(key), WithMaxAge(maxAge))
		ctx := tenantCtx(t, "acme")
		stop := time.Now().Add(6 * maxAge)
		out := make([][]sealed, workers)
		run(workers, func(i int) {
			for j := 0; j < 5000 && time.Now().Before(stop); j++ {
				start := time.Now()
				ct, err := e.Encrypt(ctx, []byte("r"), nil)
				if err != nil {
					t.Error(err)
					return
				}
				out[i] = append(out[i], sealed{ct, start})
				time.Sleep(time.Millisecond)
			}
		})
		keys := map[string]bool{}
		var maxLate time.Duration
		for _, list := range out {
			for _, s := range list {
				k := encryptedKeyOf(t, s.ct)
				keys[k] = true
				gen, ok := cc.generatedAt([]byte(k))
				if !ok {
					t.Fatal("unknown data key")
				}
				// gen is a moment before the cache's own timestamp (more
				// than a moment on a loaded machine: hence the slack
				// below; a key that outlived its age would show as late
				// as the whole run).
				if late := s.start.Sub(gen); late > maxLate {
					maxLate = late
				}
			}
		}
		if maxLate >= maxAge+150*time.Millisecond {
			t.Errorf("a data key sealed a record %v after it was generated, max age %v", maxLate, maxAge)
		}
		if len(keys) < 4 {
			t.Errorf("%d data keys in %v with max age %v", len(keys), 6*maxAge, maxAge)
		}
		t.Logf("%d data keys, oldest use %v after generation", len(keys), maxLate)

		// Decryption: a data key older than the max age is asked of KMS
		// again, once for all 64 goroutines.
		old := out[0][0].ct
		before := cc.decrypt.Load()
		run(workers, func(int) {
			if _, err := e.Decrypt(ctx, old, nil); err != nil {
				t.Error(err)
			}
		})
		if n := cc.decrypt.Load() - before; n != 1 {
			t.Errorf("expired key: %d Decrypt calls, want 1", n)
		}
		time.Sleep(maxAge)
		before = cc.decrypt.Load()
		if _, err := e.Decrypt(ctx, old, nil); err != nil {
			t.Fatal(err)
		}
		if n := cc.decrypt.Load() - before; n != 1 {
			t.Errorf("decrypted key past its age: %d Decrypt calls, want 1", n)
		}
	})

	t.Run("entries", func(t *testing.T) {
		const maxEntries = 16
		cc := newCounting(c)
		e := mustNew(t, cc, StaticKey(key), WithMaxEntries(maxEntries), WithMaxMessages(1))
		var over atomic.Int64
		done := make(chan struct{})
		var sampler sync.WaitGroup
		sampler.Go(func() {
			for i := 0; i < 100000; i++ {
				select {
				case <-done:
					return
				case <-time.After(time.Millisecond):
				}
				if st := e.cache.stats(); st.entries > maxEntries || st.sealKeys+st.openKeys != st.entries {
					over.Add(1)
				}
			}
		})
		// 64 tenants, each sealing records (a key per record) and reading
		// them back through another Envelope's cache, and its own.
		reader := mustNew(t, cc, StaticKey(key), WithMaxEntries(maxEntries))
		run(workers, func(i int) {
			ctx := tenantCtx(t, fmt.Sprintf("tenant-%d", i))
			for j := range 4 {
				pt := []byte(fmt.Sprint(i, j))
				ct, err := e.Encrypt(ctx, pt, nil)
				if err != nil {
					t.Error(err)
					return
				}
				for _, env := range []*Envelope{reader, e} {
					got, err := env.Decrypt(ctx, ct, nil)
					if err != nil || !bytes.Equal(got, pt) {
						t.Errorf("tenant-%d: %q, %v", i, got, err)
						return
					}
				}
			}
		})
		close(done)
		sampler.Wait()
		for name, env := range map[string]*Envelope{"writer": e, "reader": reader} {
			if st := env.cache.stats(); st.entries > maxEntries || st.entries == 0 {
				t.Errorf("%s: %d entries, bound %d", name, st.entries, maxEntries)
			}
		}
		if over.Load() > 0 {
			t.Errorf("%d samples over the bound", over.Load())
		}
		if g := cc.generate.Load(); g != workers*4 {
			t.Errorf("GenerateDataKey %d calls, want %d (one per record)", g, workers*4)
		}
	})

	t.Run("merged decrypt", func(t *testing.T) {
		cc := newCounting(c)
		e := mustNew(t, cc, StaticKey(key))
		ctx := tenantCtx(t, "acme")
		ct, err := mustNew(t, c, StaticKey(key)).Encrypt(ctx, []byte("r"), nil)
		if err != nil {
			t.Fatal(err)
		}
		run(workers, func(int) {
			for range 10 {
				if _, err := e.Decrypt(ctx, ct, nil); err != nil {
					t.Error(err)
					return
				}
			}
		})
		if n := cc.decrypt.Load(); n != 1 {
			t.Errorf("Decrypt %d calls for one data key, want 1", n)
		}
	})

	t.Run("canceled leader", func(t *testing.T) {
		// A caller whose context ends while it asks KMS for everyone fails
		// alone; every live caller gets a key. (A canceled caller may still
		// be served from the cache, which needs no call.)
		cc := newCounting(c)
		e := mustNew(t, cc, StaticKey(key))
		ctx := tenantCtx(t, "acme")
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		var liveFailed atomic.Int64
		run(workers, func(i int) {
			if i%2 == 0 {
				_, _ = e.Encrypt(canceled, []byte("r"), nil)
				return
			}
			if _, err := e.Encrypt(ctx, []byte("r"), nil); err != nil {
				liveFailed.Add(1)
				t.Error(err)
			}
		})
		if liveFailed.Load() != 0 {
			t.Errorf("%d of %d live callers failed", liveFailed.Load(), workers/2)
		}
	})
}

// TestConcurrentTenantsNeverSeeEachOther: 64 goroutines of 8 tenants on one
// pooled key seal and open records at once; each reads its tenant's
// records and no other's, whether they name the other tenant or were
// rewritten to name its own.
func TestConcurrentTenantsNeverSeeEachOther(t *testing.T) {
	c := newClient(t)
	e := mustNew(t, c, StaticKey(createKey(t, c)), WithMaxMessages(3))
	const tenants = 8
	records := make([][]byte, tenants)
	for i := range tenants {
		ct, err := e.Encrypt(tenantCtx(t, fmt.Sprint("t", i)), []byte(fmt.Sprint("record of t", i)), nil)
		if err != nil {
			t.Fatal(err)
		}
		records[i] = ct
	}
	var leaks, wrong atomic.Int64
	run(workers, func(w int) {
		me := w % tenants
		id := fmt.Sprint("t", me)
		ctx := tenantCtx(t, id)
		for j := range 10 {
			pt := []byte(fmt.Sprint(id, "/", w, "/", j))
			ct, err := e.Encrypt(ctx, pt, nil)
			if err != nil {
				t.Error(err)
				return
			}
			if got, err := e.Decrypt(ctx, ct, nil); err != nil || !bytes.Equal(got, pt) {
				wrong.Add(1)
			}
			other := (me + 1 + j%(tenants-1)) % tenants
			if got, err := e.Decrypt(ctx, records[other], nil); err == nil || got != nil {
				leaks.Add(1)
			}
			if got, err := e.Decrypt(ctx, renameTenantBytes(records[other], id), nil); err == nil || got != nil {
				leaks.Add(1)
			}
			if got, err := e.Decrypt(ctx, records[me], nil); err != nil || string(got) != "record of "+id {
				wrong.Add(1)
			}
		}
	})
	if leaks.Load() != 0 || wrong.Load() != 0 {
		t.Errorf("%d cross-tenant plaintexts, %d own records not read back", leaks.Load(), wrong.Load())
	}
}

// renameTenantBytes is renameTenant for use off the test goroutine.
func renameTenantBytes(ct []byte, id string) []byte {
	h, err := parse(ct)
	if err != nil {
		return nil
	}
	out := appendHeader(nil, id, h.encryptedKey)
	out = append(out, h.nonce...)
	return append(out, h.sealed...)
}
