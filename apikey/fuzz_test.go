package apikey_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/tenantkit/tenantkit/apikey"
	"github.com/tenantkit/tenantkit/tenant"
)

// seedKey has the shape of a key, with a checksum that does not match.
const seedKey = "tk_live_0123456789abcdefABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"

func FuzzParse(f *testing.F) {
	fx := newFixture(f)
	key, _ := fx.create(f, "acme", apikey.CreateOptions{})
	for _, s := range []string{key, key[:len(key)-1], key + "x", "tk_live_", "", seedKey, strings.ToUpper(key), "tk_live__" + key[9:]} {
		f.Add("tk_live", s)
	}
	f.Add("a", "a_"+key[8:])
	f.Fuzz(func(t *testing.T, prefix, s string) {
		k, err := apikey.Parse(prefix, s)
		if err != nil {
			if !errors.Is(err, apikey.ErrMalformedKey) || k != (apikey.Key{}) {
				t.Fatalf("err = %v, key %v", err, k)
			}
			if len(s) >= 16 && strings.Contains(err.Error(), s[8:]) {
				t.Fatal("the error quotes the input")
			}
			return
		}
		if s != k.Prefix+"_"+k.ID+k.Secret()+s[len(s)-apikey.ChecksumLen:] || k.Prefix != prefix {
			t.Fatalf("parts of %q do not rebuild it", s)
		}
		if apikey.ValidateKeyID(k.ID) != nil || len(k.Secret()) != apikey.SecretLen {
			t.Fatalf("accepted %q with bad parts", s)
		}
	})
}

// FuzzHeader extracts a key from any X-API-Key value: only a value that
// parses may reach the store, and nothing but a real key verifies.
func FuzzHeader(f *testing.F) {
	fx := newFixture(f)
	key, _ := fx.create(f, "acme", apikey.CreateOptions{})
	for _, s := range []string{key, " " + key + " ", key[:20], "Bearer " + key, "", seedKey, "\x00", key + "," + key} {
		f.Add(s)
	}
	h := apikey.Header{Verifier: fx.keys}
	f.Fuzz(func(t *testing.T, v string) {
		before := fx.store.gets.Load()
		hdr := http.Header{}
		hdr.Set(apikey.HeaderKey, v)
		tn, err := h.Extract(context.Background(), carrier(hdr))
		_, perr := apikey.Parse(apikey.DefaultPrefix, strings.TrimSpace(v))
		if perr != nil && fx.store.gets.Load() != before {
			t.Fatalf("a malformed key reached the store")
		}
		switch {
		case err == nil:
			if strings.TrimSpace(v) != key || tn.ID() != "acme" {
				t.Fatalf("%q verified as %v", v, tn)
			}
		case v == "":
			if !errors.Is(err, tenant.ErrAbsent) {
				t.Fatalf("empty value: %v", err)
			}
		case !errors.Is(err, tenant.ErrInvalidToken):
			t.Fatalf("%q: err = %v", v, err)
		}
	})
}

// carrier is a tenant.Carrier over an http.Header.
type carrier http.Header

func (c carrier) Get(k string) string { return http.Header(c).Get(k) }
func (c carrier) Set(k, v string)     { http.Header(c).Set(k, v) }
func (c carrier) Keys() []string {
	var ks []string
	for k := range c {
		ks = append(ks, k)
	}
	return ks
}
