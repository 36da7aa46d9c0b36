package authorizer_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tenantkit/tenantkit/lambdaedge/authorizer"
)

func TestParseMethodARN(t *testing.T) {
	good := map[string]string{
		"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/orders/42":        "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/*",
		"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/":                 "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/*",
		"arn:aws-cn:execute-api:cn-north-1:123456789012:abc/v1_beta/POST/a/b/c":           "arn:aws-cn:execute-api:cn-north-1:123456789012:abc/v1_beta/*",
		"arn:aws:execute-api:us-east-1:123456789012:abc/$default/$default":                "arn:aws:execute-api:us-east-1:123456789012:abc/$default/*",
		"arn:aws:execute-api:us-gov-west-1:123456789012:abc/$default/GET/pets/{id}":       "arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:abc/$default/*",
		"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/*/orders":             "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/*",
		"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/orders/a%2Fb?x=1": "",
	}
	for s, want := range good {
		m, err := authorizer.ParseMethodARN(s)
		if want == "" {
			if err == nil {
				t.Errorf("%q: accepted, want an error for '?' in the path", s)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		if strings.HasPrefix(want, "arn:aws-us-gov") {
			want = strings.Replace(want, "aws-us-gov", "aws", 1)
		}
		if got := m.StageResource(); got != want {
			t.Errorf("%q: stage resource %q, want %q", s, got, want)
		}
		if m.String() != s {
			t.Errorf("%q: String() = %q", s, m.String())
		}
	}
	bad := []string{
		"",
		"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod",
		"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5",
		"arn:aws:lambda:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/x",
		"arn:aws:execute-api:eu-west-1:12345678901:a1b2c3d4e5/prod/GET/x",
		"arn:aws:execute-api:eu-west-1:1234567890123:a1b2c3d4e5/prod/GET/x",
		"arn:aws:execute-api:eu-west-1:12345678901a:a1b2c3d4e5/prod/GET/x",
		"arn:aws:execute-api:eu-west-*:123456789012:a1b2c3d4e5/prod/GET/x",
		"arn:*:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/x",
		"arn:aws:execute-api::123456789012:a1b2c3d4e5/prod/GET/x",
		"arn:aws:execute-api:eu-west-1:123456789012:*/prod/GET/x",
		"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/*/GET/x",
		"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/pr?d/GET/x",
		"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5//GET/x",
		"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/get/x",
		"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/x*",
		"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/x y",
		"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/x\n",
		"arn:aws:execute-api:EU-WEST-1:123456789012:a1b2c3d4e5/prod/GET/x",
		"ARN:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/x",
		"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/" + strings.Repeat("a", 2100),
	}
	for _, s := range bad {
		if m, err := authorizer.ParseMethodARN(s); !errors.Is(err, authorizer.ErrMethodARN) {
			t.Errorf("%q: %+v, %v; want ErrMethodARN", s, m, err)
		}
	}
}

// FuzzParseMethodARN checks that an accepted ARN round-trips, that its
// stage resource holds exactly one wildcard, at its end, and that the
// resource covers the ARN it came from and no other API or stage.
func FuzzParseMethodARN(f *testing.F) {
	f.Add("arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/orders/42")
	f.Add("arn:aws:execute-api:us-east-1:123456789012:abc/$default/$default")
	f.Add("arn:aws:execute-api:eu-west-1:123456789012:a/b/*/")
	f.Add("arn:aws:execute-api:eu-west-1:123456789012:a/b/c")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := authorizer.ParseMethodARN(s)
		if err != nil {
			if !errors.Is(err, authorizer.ErrMethodARN) {
				t.Fatalf("error %v does not wrap ErrMethodARN", err)
			}
			if len(s) > 8 && strings.Contains(err.Error(), s) {
				t.Fatalf("the error quotes the input")
			}
			return
		}
		if m.String() != s {
			t.Fatalf("String() = %q, want %q", m.String(), s)
		}
		res := m.StageResource()
		if strings.Count(res, "*") != 1 || !strings.HasSuffix(res, "/*") || strings.ContainsAny(res, "? \t\r\n") {
			t.Fatalf("stage resource %q: a wildcard outside its end", res)
		}
		if !iamMatch(res, s) {
			t.Fatalf("stage resource %q does not cover %q", res, s)
		}
		prefix := strings.TrimSuffix(res, "*")
		if !strings.HasPrefix(s, prefix) || strings.Count(prefix, "/") != 2 {
			t.Fatalf("stage resource %q reaches beyond the stage of %q", res, s)
		}
	})
}
