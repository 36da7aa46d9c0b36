package authn_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/tenantkit/tenantkit/tenant"
)

// No formatting verb prints the bearer token or a claim value, however the
// Tenant is reached: directly, through a pointer, in a slice or map, or in
// an unexported field, where fmt prints raw fields without calling methods.
func TestFormatHidesCredentials(t *testing.T) {
	a := startIssuer(t)
	v := newVerifier(t, issuerCfg(a))
	const (
		secretClaim = "s3cret-claim-value"
		secretSub   = "subject-4711"
	)
	token := a.TokenWithClaims(map[string]any{"aud": "api", "custom:tenant_id": "acme", "custom:tier": "gold", "sub": secretSub, "email": secretClaim})
	tn, err := v.Verify(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{secretClaim, secretSub}
	for _, p := range strings.Split(token, ".") {
		secrets = append(secrets, p[:min(len(p), 24)])
	}
	for _, s := range secrets[:] {
		secrets = append(secrets, hex.EncodeToString([]byte(s)), strings.ToUpper(hex.EncodeToString([]byte(s))))
	}

	type inner struct{ t tenant.Tenant }
	values := map[string]any{
		"value":                 tn,
		"pointer":               &tn,
		"slice":                 []tenant.Tenant{tn, tn},
		"map":                   map[string]tenant.Tenant{"k": tn},
		"exported field":        struct{ T tenant.Tenant }{tn},
		"unexported field":      struct{ t tenant.Tenant }{tn},
		"unexported pointer":    struct{ p *tenant.Tenant }{&tn},
		"unexported slice":      struct{ s []tenant.Tenant }{[]tenant.Tenant{tn}},
		"unexported map":        struct{ m map[string]tenant.Tenant }{map[string]tenant.Tenant{"k": tn}},
		"nested unexported":     struct{ in inner }{inner{tn}},
		"pointer to unexported": &struct{ t tenant.Tenant }{tn},
		"any in unexported":     struct{ x any }{tn},
		"array":                 [1]tenant.Tenant{tn},
	}
	for name, val := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3v", "%T"} {
			out := fmt.Sprintf(verb, val)
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("%s with %s prints a credential: %s", name, verb, out)
					break
				}
			}
		}
	}
	if got := fmt.Sprint(tn); got != "acme (gold)" {
		t.Errorf("Sprint = %q", got)
	}
	if got := fmt.Sprintf("%#v", tn); !strings.Contains(got, `"acme"`) || !strings.Contains(got, `"gold"`) {
		t.Errorf("%%#v = %s, want the ID and tier", got)
	}
	if got, _ := tn.Claim("email"); got != secretClaim {
		t.Errorf("Claim(email) = %v", got)
	}
	if tn.Subject() != secretSub {
		t.Errorf("Subject() = %q", tn.Subject())
	}
}
