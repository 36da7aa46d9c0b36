package isolation

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tenantkit/tenantkit/tenant"
)

// TestKMSTenantContextGrantsOnlyTheTenantsContext: the rendered template
// names the tenant's key and nothing else, and its tenant condition is the
// IAM policy variable, emitted verbatim for IAM to evaluate.
func TestKMSTenantContextGrantsOnlyTheTenantsContext(t *testing.T) {
	got, err := KMSTenantContext().Render(testValues("acme"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Version":"2012-10-17","Statement":[{"Sid":"TenantKeyContext","Effect":"Allow",` +
		`"Action":["kms:GenerateDataKey","kms:Decrypt","kms:Encrypt"],"Resource":"` + testKey + `",` +
		`"Condition":{"StringEquals":{"kms:EncryptionContext:tenant_id":"${aws:PrincipalTag/TenantID}"},` +
		`"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["tenant_id"]}}}]}`
	if got != want {
		t.Errorf("rendered\n%s\nwant\n%s", got, want)
	}
	if ph := KMSTenantContext().Placeholders(); !reflect.DeepEqual(ph, []string{"kmsKey"}) {
		t.Errorf("placeholders %v: the tenant must come from the session tag, not from a rendered value", ph)
	}
	// One policy for every tenant of the key.
	other, err := KMSTenantContext().Render(testValues("globex"))
	if err != nil || other != got {
		t.Errorf("globex's rendering differs: %s, %v", other, err)
	}
	// The tag is a condition value, never a Resource or an Action.
	doc := decodeJSON(t, got).(map[string]any)
	st := doc["Statement"].([]any)[0].(map[string]any)
	if st["Resource"] != testKey || strings.Contains(st["Resource"].(string), "*") {
		t.Errorf("resource %v", st["Resource"])
	}
	for _, a := range st["Action"].([]any) {
		if strings.Contains(a.(string), "*") {
			t.Errorf("wildcard action %v", a)
		}
	}
}

func TestKMSTenantContextRefusesWideningKeys(t *testing.T) {
	for name, key := range map[string]string{
		"wildcard":    "arn:aws:kms:us-east-1:111122223333:key/*",
		"question":    "arn:aws:kms:us-east-1:111122223333:key/1234?",
		"variable":    "${aws:PrincipalTag/Key}",
		"quote":       `arn:aws:kms:us-east-1:111122223333:key/"`,
		"space":       "arn:aws:kms:us-east-1:111122223333:key/a b",
		"brace close": "arn:aws:kms:us-east-1:111122223333:key/a}",
	} {
		v := testValues("acme")
		v.KMSKey = key
		if out, err := KMSTenantContext().Render(v); !errors.Is(err, ErrInvalidValue) || out != "" {
			t.Errorf("%s: %q, %v", name, out, err)
		}
	}
	v := testValues("acme")
	v.KMSKey = ""
	if _, err := KMSTenantContext().Render(v); !errors.Is(err, ErrIncompletePlacement) {
		t.Errorf("no key: %v", err)
	}
	// The tenant ID is still checked, although the template does not use it.
	if _, err := KMSTenantContext().Render(testValues("*")); !errors.Is(err, tenant.ErrInvalidID) {
		t.Errorf("tenant *: %v", err)
	}
}

// TestPoolPolicyWithKMSContextFitsForLongestValues: the pool policy with the
// encryption-context template in place of (or beside) the key-only one
// stays under the session policy limit for the longest values.
func TestPoolPolicyWithKMSContextFitsForLongestValues(t *testing.T) {
	v := Values{TenantID: strings.Repeat("a", tenant.MaxIDLen), Tier: strings.Repeat("t", tenant.MaxIDLen),
		Partition: "aws-us-gov", Region: "us-gov-west-1", Account: "111122223333",
		Table:  "arn:aws-us-gov:dynamodb:us-gov-west-1:111122223333:table/" + strings.Repeat("t", 64),
		Bucket: strings.Repeat("b", 63), KMSKey: "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"}
	for name, ts := range map[string][]*Template{
		"context instead of key": {DynamoDBLeadingKeyPrefix(), S3Prefix(), KMSTenantContext()},
		"context beside key":     {DynamoDBLeadingKeyPrefix(), S3Prefix(), KMSTenantKey(), KMSTenantContext()},
	} {
		m, err := Merge(ts...)
		if err != nil {
			t.Fatal(err)
		}
		out, err := m.Render(v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(out) > MaxSessionPolicyLen {
			t.Fatalf("%s: %d characters", name, len(out))
		}
		t.Logf("%s, for a 64-character ID: %d characters", name, len(out))
	}
}
