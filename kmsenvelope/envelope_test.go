package kmsenvelope

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/tenantkit/tenantkit/isolation"
	"github.com/tenantkit/tenantkit/tenant"
)

// twoTenants returns an Envelope over a counting client where tenants acme
// and globex each have their own key, and the key ARNs.
func twoTenants(t *testing.T, opts ...Option) (*Envelope, *counting, *kms.Client, map[string]string) {
	t.Helper()
	c := newClient(t)
	keys := map[string]string{"acme": createKey(t, c), "globex": createKey(t, c)}
	cc := newCounting(c)
	return mustNew(t, cc, PlacementKeys(placements(t, keys)), opts...), cc, c, keys
}

func TestRoundTripPerTenant(t *testing.T) {
	e, cc, _, _ := twoTenants(t)
	for _, id := range []string{"acme", "globex"} {
		ctx := tenantCtx(t, id)
		for i := range 5 {
			pt := []byte(fmt.Sprintf("record %d of %s", i, id))
			ct, err := e.Encrypt(ctx, pt, []byte("row-"+id))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(ct, pt) {
				t.Fatalf("ciphertext holds the plaintext")
			}
			got, err := e.Decrypt(ctx, ct, []byte("row-"+id))
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("Decrypt = %q, %v; want %q", got, err, pt)
			}
		}
		// Empty plaintext and nil aad work too, and the longest tenant ID.
		ct, err := e.Encrypt(ctx, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := e.Decrypt(ctx, ct, nil); err != nil || len(got) != 0 {
			t.Fatalf("empty: %q, %v", got, err)
		}
	}
	long := tenantCtx(t, strings.Repeat("l", tenant.MaxIDLen))
	ct, err := mustNew(t, cc.c, StaticKey(e.keys.(placementKeys).mustKey(t, "acme"))).Encrypt(long, []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ct) != Overhead(strings.Repeat("l", tenant.MaxIDLen), len(mustParse(t, ct).encryptedKey))+1 {
		t.Errorf("a ciphertext of %d bytes, Overhead says otherwise", len(ct))
	}
	// One data key per tenant, and no Decrypt call: the sealing key opens
	// its own ciphertexts.
	if g, d := cc.generate.Load(), cc.decrypt.Load(); g != 2 || d != 0 {
		t.Errorf("GenerateDataKey %d, Decrypt %d; want 2, 0", g, d)
	}

	// A fresh Envelope (another process) asks KMS once per data key.
	ctx := tenantCtx(t, "acme")
	ct, err = e.Encrypt(ctx, []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	cc2 := newCounting(cc.c)
	e2 := mustNew(t, cc2, e.keys)
	for range 3 {
		if got, err := e2.Decrypt(ctx, ct, nil); err != nil || string(got) != "x" {
			t.Fatalf("other envelope: %q, %v", got, err)
		}
	}
	if d := cc2.decrypt.Load(); d != 1 {
		t.Errorf("Decrypt calls %d, want 1", d)
	}
}

// TestCrossTenantDecryptRefused: a ciphertext of acme never opens for
// globex, whether it names acme (refused before KMS), is rewritten to name
// globex (KMS refuses the data key under globex's context), or both share
// a pooled key (the encryption context alone tells them apart).
func TestCrossTenantDecryptRefused(t *testing.T) {
	check := func(t *testing.T, e *Envelope, cc *counting) {
		acme, globex := tenantCtx(t, "acme"), tenantCtx(t, "globex")
		secret := []byte("acme's secret")
		ct, err := e.Encrypt(acme, secret, nil)
		if err != nil {
			t.Fatal(err)
		}
		// globex has a cached data key of its own.
		if _, err := e.Encrypt(globex, []byte("globex's own"), nil); err != nil {
			t.Fatal(err)
		}

		before := cc.calls()
		pt, err := e.Decrypt(globex, ct, nil)
		if !errors.Is(err, ErrWrongTenant) || !errors.Is(err, ErrDecrypt) || pt != nil {
			t.Fatalf("as globex: %q, %v; want ErrWrongTenant", pt, err)
		}
		if cc.calls() != before {
			t.Errorf("a ciphertext naming another tenant reached KMS")
		}

		forged := renameTenant(t, ct, "globex")
		for range 2 { // and again, once a failure could have been cached
			pt, err = e.Decrypt(globex, forged, nil)
			if !errors.Is(err, ErrDecrypt) || errors.Is(err, ErrShredded) || pt != nil {
				t.Fatalf("rewritten to globex: %q, %v; want ErrDecrypt", pt, err)
			}
		}
		// The rewritten ciphertext does not open for acme either: the
		// header is authenticated.
		if pt, err := e.Decrypt(acme, forged, nil); !errors.Is(err, ErrDecrypt) || pt != nil {
			t.Fatalf("rewritten, as acme: %q, %v", pt, err)
		}
		// acme still reads its own.
		if pt, err := e.Decrypt(acme, ct, nil); err != nil || !bytes.Equal(pt, secret) {
			t.Fatalf("acme: %q, %v", pt, err)
		}
	}
	t.Run("own keys", func(t *testing.T) {
		e, cc, _, _ := twoTenants(t)
		check(t, e, cc)
	})
	t.Run("pooled key", func(t *testing.T) {
		c := newClient(t)
		cc := newCounting(c)
		check(t, mustNew(t, cc, StaticKey(createKey(t, c))), cc)
	})
	t.Run("pooled key, no cache", func(t *testing.T) {
		c := newClient(t)
		cc := newCounting(c)
		check(t, mustNew(t, cc, StaticKey(createKey(t, c)), WithoutCache()), cc)
	})
	t.Run("data key reused by another envelope", func(t *testing.T) {
		// globex's Envelope holds acme's data key in its cache (it
		// decrypted acme's data for acme), then globex asks for it.
		c := newClient(t)
		key := createKey(t, c)
		cc := newCounting(c)
		e := mustNew(t, cc, StaticKey(key))
		acme, globex := tenantCtx(t, "acme"), tenantCtx(t, "globex")
		ct, err := e.Encrypt(acme, []byte("s"), nil)
		if err != nil {
			t.Fatal(err)
		}
		e2 := mustNew(t, cc, StaticKey(key))
		if _, err := e2.Decrypt(acme, ct, nil); err != nil {
			t.Fatal(err)
		}
		if pt, err := e2.Decrypt(globex, renameTenant(t, ct, "globex"), nil); !errors.Is(err, ErrDecrypt) || pt != nil {
			t.Fatalf("%q, %v", pt, err)
		}
	})
}

// renameTenant rewrites the tenant ID in a ciphertext's header.
func renameTenant(t *testing.T, ct []byte, id string) []byte {
	t.Helper()
	h, err := parse(ct)
	if err != nil {
		t.Fatal(err)
	}
	out := appendHeader(nil, id, h.encryptedKey)
	out = append(out, h.nonce...)
	return append(out, h.sealed...)
}

// TestEveryKMSCallCarriesTheTenantsContext: GenerateDataKey and Decrypt
// name the tenant's key and carry tenant_id and the configured pairs, and
// nothing else.
func TestEveryKMSCallCarriesTheTenantsContext(t *testing.T) {
	c := newClient(t)
	keys := map[string]string{"acme": createKey(t, c), "globex": createKey(t, c)}
	cc := newCounting(c)
	e := mustNew(t, cc, PlacementKeys(placements(t, keys)), WithoutCache(),
		WithEncryptionContext(map[string]string{"purpose": "orders", "Tenant": "not-a-tenant-key"}))
	for _, id := range []string{"acme", "globex"} {
		ctx := tenantCtx(t, id)
		ct, err := e.Encrypt(ctx, []byte("r"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Decrypt(ctx, ct, nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(cc.contexts) != 4 {
		t.Fatalf("%d KMS calls, want 4", len(cc.contexts))
	}
	for i, ec := range cc.contexts {
		id := []string{"acme", "acme", "globex", "globex"}[i]
		want := map[string]string{"tenant_id": id, "purpose": "orders", "Tenant": "not-a-tenant-key"}
		if !maps.Equal(ec, want) || cc.keyIDs[i] != keys[id] {
			t.Errorf("call %d: context %v key %s; want %v %s", i, ec, cc.keyIDs[i], want, keys[id])
		}
	}
}

func TestExtraEncryptionContextMustMatch(t *testing.T) {
	c := newClient(t)
	key := createKey(t, c)
	a := mustNew(t, c, StaticKey(key), WithEncryptionContext(map[string]string{"purpose": "orders"}))
	b := mustNew(t, c, StaticKey(key), WithEncryptionContext(map[string]string{"purpose": "invoices"}))
	plain := mustNew(t, c, StaticKey(key))
	ctx := tenantCtx(t, "acme")
	ct, err := a.Encrypt(ctx, []byte("s"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, e := range map[string]*Envelope{"other pairs": b, "no pairs": plain} {
		if pt, err := e.Decrypt(ctx, ct, nil); !errors.Is(err, ErrDecrypt) || pt != nil {
			t.Errorf("%s: %q, %v", name, pt, err)
		}
	}
	if pt, err := a.Decrypt(ctx, ct, nil); err != nil || string(pt) != "s" {
		t.Errorf("same pairs: %q, %v", pt, err)
	}
}

func TestNoTenantNoKMSCall(t *testing.T) {
	c := newClient(t)
	cc := newCounting(c)
	e := mustNew(t, cc, StaticKey(createKey(t, c)))
	ct, err := e.Encrypt(tenantCtx(t, "acme"), []byte("s"), nil)
	if err != nil {
		t.Fatal(err)
	}
	before := cc.calls()
	for name, ctx := range map[string]context.Context{
		"background": context.Background(),
		"tenantless": tenant.WithoutTenant(context.Background()),
		"zero":       tenant.NewContext(context.Background(), tenant.Tenant{}),
	} {
		if out, err := e.Encrypt(ctx, []byte("s"), nil); !errors.Is(err, ErrNoTenant) || !errors.Is(err, tenant.ErrNoTenant) || out != nil {
			t.Errorf("%s: Encrypt = %q, %v", name, out, err)
		}
		if out, err := e.Decrypt(ctx, ct, nil); !errors.Is(err, ErrNoTenant) || out != nil {
			t.Errorf("%s: Decrypt = %q, %v", name, out, err)
		}
	}
	if cc.calls() != before {
		t.Errorf("%d KMS calls without a tenant", cc.calls()-before)
	}
}

// TestTamperedCiphertextFails flips every byte of a ciphertext, truncates
// and extends it, and changes the associated data: each fails with an
// error wrapping ErrDecrypt and no plaintext.
func TestTamperedCiphertextFails(t *testing.T) {
	c := newClient(t)
	cc := newCounting(c)
	e := mustNew(t, cc, StaticKey(createKey(t, c)))
	ctx := tenantCtx(t, "acme")
	aad := []byte("orders/42")
	ct, err := e.Encrypt(ctx, []byte("a record worth protecting"), aad)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := parse(ct)
	keyStart := 4 + len("acme") + 2
	fail := func(what string, b, aad []byte) {
		t.Helper()
		pt, err := e.Decrypt(ctx, b, aad)
		if !errors.Is(err, ErrDecrypt) || pt != nil {
			t.Errorf("%s: %q, %v", what, pt, err)
		}
	}
	for i := range ct {
		for _, bit := range []byte{0x01, 0x80} {
			b := bytes.Clone(ct)
			b[i] ^= bit
			var where string
			switch {
			case i < 4:
				where = "format"
			case i < keyStart-2:
				where = "tenant ID"
			case i < keyStart:
				where = "key length"
			case i < keyStart+len(h.encryptedKey):
				where = "encrypted key"
			case i < keyStart+len(h.encryptedKey)+nonceLen:
				where = "nonce"
			default:
				where = "ciphertext"
			}
			fail(fmt.Sprintf("%s byte %d ^ %#x", where, i, bit), b, aad)
		}
	}
	for n := range len(ct) {
		fail(fmt.Sprintf("truncated to %d", n), ct[:n], aad)
	}
	fail("extended", append(bytes.Clone(ct), 0), aad)
	fail("other aad", ct, []byte("orders/43"))
	fail("no aad", ct, nil)
	fail("aad extended", ct, []byte("orders/42x"))
	// The original still opens: nothing above poisoned the cache.
	if pt, err := e.Decrypt(ctx, ct, aad); err != nil || string(pt) != "a record worth protecting" {
		t.Fatalf("original: %q, %v", pt, err)
	}
}

func TestKeyResolverOutputChecked(t *testing.T) {
	c := newClient(t)
	cc := newCounting(c)
	good := createKey(t, c)
	ctx := tenantCtx(t, "acme")
	for name, r := range map[string]KeyResolver{
		"empty":          StaticKey(""),
		"alias":          StaticKey("alias/acme"),
		"alias ARN":      StaticKey("arn:aws:kms:us-east-1:111122223333:alias/acme"),
		"wildcard":       StaticKey("arn:aws:kms:us-east-1:111122223333:key/*"),
		"space":          StaticKey(good + " "),
		"newline":        StaticKey("1234abcd\n"),
		"resolver error": KeyResolverFunc(func(context.Context, tenant.Tenant) (string, error) { return "", errors.New("registry down") }),
		"no KMS key": PlacementKeys(isolation.ResolverFunc(func(_ context.Context, t tenant.Tenant) (isolation.Placement, error) {
			return isolation.Placement{TenantID: t.ID()}, nil
		})),
		"another tenant's placement": PlacementKeys(isolation.ResolverFunc(func(context.Context, tenant.Tenant) (isolation.Placement, error) {
			return isolation.Placement{TenantID: "globex", KMSKey: isolation.Binding{Model: isolation.Pool, Name: good}}, nil
		})),
		"unlisted tenant": PlacementKeys(placements(t, map[string]string{"globex": good})),
	} {
		e := mustNew(t, cc, r)
		if out, err := e.Encrypt(ctx, []byte("s"), nil); !errors.Is(err, ErrNoKey) || out != nil {
			t.Errorf("%s: %q, %v", name, out, err)
		}
	}
	if n := cc.calls(); n != 0 {
		t.Errorf("%d KMS calls with unusable keys", n)
	}
	// The resolver's own error stays matchable.
	_, err := mustNew(t, cc, PlacementKeys(placements(t, nil))).Encrypt(ctx, nil, nil)
	if !errors.Is(err, isolation.ErrUnknownTenant) || !errors.Is(err, ErrNoKey) {
		t.Errorf("unknown tenant: %v", err)
	}
	// A bare key ID works as well as an ARN.
	id := good[strings.LastIndexByte(good, '/')+1:]
	if _, err := mustNew(t, c, StaticKey(id)).Encrypt(ctx, nil, nil); err != nil {
		t.Errorf("key ID: %v", err)
	}
}

func TestNewRejectsInvalidOptions(t *testing.T) {
	c := kms.New(kms.Options{Region: "us-east-1"})
	keys := StaticKey("1234abcd-12ab-34cd-56ef-1234567890ab")
	var nilClient *kms.Client
	for name, mk := range map[string]func() (*Envelope, error){
		"nil client":       func() (*Envelope, error) { return New(nil, keys) },
		"typed nil client": func() (*Envelope, error) { return New(nilClient, keys) },
		"nil keys":         func() (*Envelope, error) { return New(c, nil) },
		"nil func keys":    func() (*Envelope, error) { return New(c, KeyResolverFunc(nil)) },
		"nil option":       func() (*Envelope, error) { return New(c, keys, nil) },
		"age 0":            func() (*Envelope, error) { return New(c, keys, WithMaxAge(0)) },
		"age 25h":          func() (*Envelope, error) { return New(c, keys, WithMaxAge(25*time.Hour)) },
		"messages 0":       func() (*Envelope, error) { return New(c, keys, WithMaxMessages(0)) },
		"messages 2^32+1":  func() (*Envelope, error) { return New(c, keys, WithMaxMessages(1<<32+1)) },
		"bytes 0":          func() (*Envelope, error) { return New(c, keys, WithMaxBytes(0)) },
		"entries 0":        func() (*Envelope, error) { return New(c, keys, WithMaxEntries(0)) },
		"context tenant_id": func() (*Envelope, error) {
			return New(c, keys, WithEncryptionContext(map[string]string{"tenant_id": "x"}))
		},
		"context Tenant_ID": func() (*Envelope, error) {
			return New(c, keys, WithEncryptionContext(map[string]string{"Tenant_ID": "x"}))
		},
		"context aws:": func() (*Envelope, error) {
			return New(c, keys, WithEncryptionContext(map[string]string{"aws:cloudtrail": "x"}))
		},
		"context AWS": func() (*Envelope, error) {
			return New(c, keys, WithEncryptionContext(map[string]string{"AWSservice": "x"}))
		},
		"context empty key": func() (*Envelope, error) {
			return New(c, keys, WithEncryptionContext(map[string]string{"": "x"}))
		},
		"context empty value": func() (*Envelope, error) {
			return New(c, keys, WithEncryptionContext(map[string]string{"k": ""}))
		},
		"context control": func() (*Envelope, error) {
			return New(c, keys, WithEncryptionContext(map[string]string{"k": "a\nb"}))
		},
		"context long": func() (*Envelope, error) {
			return New(c, keys, WithEncryptionContext(map[string]string{"k": strings.Repeat("v", 257)}))
		},
		"context many": func() (*Envelope, error) {
			m := map[string]string{}
			for i := range 9 {
				m[fmt.Sprint("k", i)] = "v"
			}
			return New(c, keys, WithEncryptionContext(m))
		},
	} {
		if e, err := mk(); !errors.Is(err, ErrInvalidOption) || e != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := New(c, keys, WithMaxMessages(1<<32), WithMaxAge(24*time.Hour), WithMaxBytes(1), WithMaxEntries(1),
		WithEncryptionContext(map[string]string{"purpose": "orders"})); err != nil {
		t.Errorf("valid options: %v", err)
	}
}

// TestKMSDownIsErrKMS: a KMS that does not answer is ErrKMS, not a
// shredded key, and a canceled context is the context's error.
func TestKMSDownIsErrKMS(t *testing.T) {
	c := kms.New(kms.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String("http://127.0.0.1:1"),
		RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}, nil
		}),
	})
	e := mustNew(t, c, StaticKey("1234abcd-12ab-34cd-56ef-1234567890ab"))
	ctx := tenantCtx(t, "acme")
	if _, err := e.Encrypt(ctx, []byte("s"), nil); !errors.Is(err, ErrKMS) || errors.Is(err, ErrShredded) {
		t.Errorf("unreachable: %v", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.Encrypt(canceled, []byte("s"), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}

// TestContextKeyMatchesThePolicyTemplate: the encryption context key this
// package sets is the one isolation.KMSTenantContext's condition names.
func TestContextKeyMatchesThePolicyTemplate(t *testing.T) {
	p, err := isolation.KMSTenantContext().Render(isolation.Values{TenantID: "acme",
		KMSKey: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p, `"kms:EncryptionContext:`+TenantContextKey+`":`) || !strings.Contains(p, `["`+TenantContextKey+`"]`) {
		t.Errorf("policy %s does not name %q", p, TenantContextKey)
	}
}

func (p placementKeys) mustKey(t *testing.T, id string) string {
	t.Helper()
	k, err := p.TenantKey(context.Background(), mustTenant(t, id))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustTenant(t *testing.T, id string) tenant.Tenant {
	t.Helper()
	tt, err := tenant.New(id, "basic")
	if err != nil {
		t.Fatal(err)
	}
	return tt
}

func mustParse(t *testing.T, ct []byte) header {
	t.Helper()
	h, err := parse(ct)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
