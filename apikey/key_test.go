package apikey_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/tenantkit/tenantkit/apikey"
	"github.com/tenantkit/tenantkit/tenant"
)

func TestCreatedKeyMatchesTheDocumentedFormat(t *testing.T) {
	f := newFixture(t)
	key, r := f.create(t, "acme", apikey.CreateOptions{})
	re := regexp.MustCompile(`^` + apikey.ScannerPattern(apikey.DefaultPrefix) + `$`)
	if !re.MatchString(key) {
		t.Fatalf("key of %d bytes does not match %s", len(key), re)
	}
	if apikey.ScannerPattern("tk_live") != `\btk_live_[0-9A-Za-z]{65}\b` {
		t.Fatalf("ScannerPattern = %s, want the documented one", apikey.ScannerPattern("tk_live"))
	}
	k, err := apikey.Parse(apikey.DefaultPrefix, key)
	if err != nil {
		t.Fatal(err)
	}
	if k.ID != r.KeyID || len(k.Secret()) != apikey.SecretLen || apikey.ValidateKeyID(k.ID) != nil {
		t.Fatalf("parsed ID %q, secret of %d, record %q", k.ID, len(k.Secret()), r.KeyID)
	}
	// The scanner finds the key in text, and the checksum confirms it.
	text := "export TOKEN=" + key + "\n"
	if got := regexp.MustCompile(apikey.ScannerPattern(apikey.DefaultPrefix)).FindString(text); got != key {
		t.Fatalf("scanner found %q", got)
	}
}

func TestKeysAreDistinctAndSecretsUseTheWholeAlphabet(t *testing.T) {
	f := newFixture(t)
	seen := map[string]bool{}
	chars := map[rune]bool{}
	for range 200 {
		key, _ := f.create(t, "acme", apikey.CreateOptions{})
		k, err := apikey.Parse(apikey.DefaultPrefix, key)
		if err != nil {
			t.Fatal(err)
		}
		if seen[k.Secret()] || seen[k.ID] {
			t.Fatal("a secret or key ID repeated")
		}
		seen[k.Secret()], seen[k.ID] = true, true
		for _, c := range k.Secret() {
			chars[c] = true
		}
	}
	if len(chars) != 62 {
		t.Fatalf("secrets used %d of 62 characters", len(chars))
	}
}

func TestParseRefusesEveryMalformedKey(t *testing.T) {
	f := newFixture(t)
	key, _ := f.create(t, "acme", apikey.CreateOptions{})
	flip := func(i int) string {
		b := []byte(key)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	body := len(apikey.DefaultPrefix) + 1
	for name, s := range map[string]string{
		"empty":              "",
		"other prefix":       "tk_test" + key[len("tk_live"):],
		"no separator":       "tk_live" + key[body:] + "x",
		"short":              key[:len(key)-1],
		"long":               key + "0",
		"bad char":           key[:body] + "-" + key[body+1:],
		"typo in key ID":     flip(body + 3),
		"typo in secret":     flip(body + apikey.IDLen + 10),
		"typo in checksum":   flip(len(key) - 1),
		"swapped characters": key[:body] + key[body+1:body+2] + key[body:body+1] + key[body+2:],
		"bearer prefix":      "Bearer " + key,
		"a JWT":              "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
	} {
		if name == "swapped characters" && key[body] == key[body+1] {
			continue
		}
		_, err := apikey.Parse(apikey.DefaultPrefix, s)
		if !errors.Is(err, apikey.ErrMalformedKey) || !errors.Is(err, tenant.ErrInvalidToken) {
			t.Errorf("%s: err = %v, want ErrMalformedKey", name, err)
		}
		if err != nil && strings.Contains(err.Error(), key[body:]) {
			t.Errorf("%s: the error quotes the key", name)
		}
	}
}

func TestAKeyNeverPrintsItsSecret(t *testing.T) {
	f := newFixture(t)
	key, _ := f.create(t, "acme", apikey.CreateOptions{})
	k, _ := apikey.Parse(apikey.DefaultPrefix, key)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		if out := fmt.Sprintf(verb, k); strings.Contains(out, k.Secret()) {
			t.Errorf("%s prints the secret: %s", verb, out)
		}
	}
	tn, err := f.keys.Verify(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if out := fmt.Sprintf("%#v %+v", tn, tn); strings.Contains(out, k.Secret()) {
		t.Errorf("the tenant prints the secret: %s", out)
	}
}

func TestValidateKeyID(t *testing.T) {
	for id, ok := range map[string]bool{
		"0123456789abcdef":  true,
		"0123456789abcde":   false,
		"0123456789abcdefg": false,
		"0123456789abcde_":  false,
		"*":                 false,
	} {
		if got := apikey.ValidateKeyID(id) == nil; got != ok {
			t.Errorf("ValidateKeyID(%q) ok = %v", id, got)
		}
	}
}

func TestOptionsAreChecked(t *testing.T) {
	for name, o := range map[string]apikey.Option{
		"nil":                nil,
		"prefix upper":       apikey.WithPrefix("TK"),
		"prefix empty":       apikey.WithPrefix(""),
		"prefix trailing _":  apikey.WithPrefix("tk_"),
		"prefix double _":    apikey.WithPrefix("tk__live"),
		"prefix digit first": apikey.WithPrefix("1tk"),
		"prefix too long":    apikey.WithPrefix(strings.Repeat("a", 33)),
		"short pepper":       apikey.WithPepper([]byte("short")),
		"ttl zero":           apikey.WithTTL(0),
		"ttl over 30s":       apikey.WithTTL(31e9),
		"negative stale":     apikey.WithMaxStale(-1),
		"negative neg ttl":   apikey.WithNegativeTTL(-1),
		"neg ttl over 30s":   apikey.WithNegativeTTL(31e9),
		"cache size 0":       apikey.WithCacheSize(0),
		"nil clock":          apikey.WithClock(nil),
	} {
		if _, err := apikey.NewVerifier(apikey.NewMemory(), o); !errors.Is(err, apikey.ErrInvalidOption) {
			t.Errorf("%s: NewVerifier err = %v", name, err)
		}
		if _, err := apikey.NewManager(apikey.NewMemory(), o); !errors.Is(err, apikey.ErrInvalidOption) {
			t.Errorf("%s: NewManager err = %v", name, err)
		}
	}
	if _, err := apikey.NewVerifier(nil); !errors.Is(err, apikey.ErrInvalidOption) {
		t.Errorf("nil store: %v", err)
	}
	if _, err := apikey.NewVerifier(apikey.NewMemory(), apikey.WithPrefix("acme_prod"), apikey.WithTTL(30e9)); err != nil {
		t.Errorf("valid options: %v", err)
	}
}
