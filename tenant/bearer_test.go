package tenant_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tenantkit/tenantkit/tenant"
)

// ParseBearer returns the token68 of a Bearer value, the scheme in any
// letter case; another scheme is ErrMissingBearer, a missing or malformed
// token ErrInvalidBearer.
func TestParseBearer(t *testing.T) {
	for in, want := range map[string]string{
		"Bearer abc":          "abc",
		"bearer abc":          "abc",
		"BEARER   a.b-c_d~e+": "a.b-c_d~e+",
		"Bearer abc==":        "abc==",
		"Bearer a/b":          "a/b",
	} {
		if got, err := tenant.ParseBearer(in); err != nil || got != want {
			t.Errorf("ParseBearer(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, wantErr := range map[string]error{
		"":              tenant.ErrMissingBearer,
		"Basic abc":     tenant.ErrMissingBearer,
		"Bearerabc":     tenant.ErrMissingBearer,
		"Bearer":        tenant.ErrInvalidBearer,
		"Bearer ":       tenant.ErrInvalidBearer,
		"Bearer a b":    tenant.ErrInvalidBearer,
		"Bearer a=b":    tenant.ErrInvalidBearer,
		"Bearer =":      tenant.ErrInvalidBearer,
		"Bearer a\tb":   tenant.ErrInvalidBearer,
		"Bearer \"a\"":  tenant.ErrInvalidBearer,
		"Bearer a,b":    tenant.ErrInvalidBearer,
		"Bearer a\x00b": tenant.ErrInvalidBearer,
	} {
		if _, err := tenant.ParseBearer(in); !errors.Is(err, wantErr) {
			t.Errorf("ParseBearer(%q) err = %v, want %v", in, err, wantErr)
		}
	}
}

func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer a.b.c", "Basic x", "Bearer  ", "Bearer a==", "Bearer a=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tok, err := tenant.ParseBearer(v)
		if err != nil {
			if !errors.Is(err, tenant.ErrMissingBearer) && !errors.Is(err, tenant.ErrInvalidBearer) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if tok == "" || !strings.HasSuffix(v, tok) {
			t.Fatalf("token %q not a suffix of %q", tok, v)
		}
		if strings.ContainsAny(tok, " \t\r\n\",;\\") {
			t.Fatalf("token %q has characters outside token68", tok)
		}
	})
}
