package isolation

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tenantkit/tenantkit/tenant"
)

const (
	testTable  = "arn:aws:dynamodb:us-east-1:111122223333:table/orders"
	testBucket = "example-pool-data"
	testKey    = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

func testValues(id string) Values {
	return Values{TenantID: id, Tier: "basic", Partition: "aws", Region: "us-east-1", Account: "111122223333",
		Table: testTable, Bucket: testBucket, KMSKey: testKey}
}

func decodeJSON(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("rendered policy is not valid JSON: %v\n%s", err, s)
	}
	return v
}

// TestBuiltinsGrantExactlyTheTenantsResources compares each rendered
// built-in with the complete policy it must be: every resource and
// condition value names tenant acme's resources and nothing else.
func TestBuiltinsGrantExactlyTheTenantsResources(t *testing.T) {
	items := `["dynamodb:GetItem","dynamodb:BatchGetItem","dynamodb:Query","dynamodb:PutItem","dynamodb:UpdateItem","dynamodb:DeleteItem","dynamodb:BatchWriteItem","dynamodb:ConditionCheckItem"]`
	for name, tc := range map[string]struct {
		tpl  *Template
		want string
	}{
		"DynamoDBLeadingKeys": {DynamoDBLeadingKeys(), `{"Version":"2012-10-17","Statement":[{"Sid":"TenantItems","Effect":"Allow","Action":` + items + `,
			"Resource":["` + testTable + `","` + testTable + `/index/*"],
			"Condition":{"ForAllValues:StringEquals":{"dynamodb:LeadingKeys":["acme"]}}}]}`},
		"DynamoDBLeadingKeyPrefix": {DynamoDBLeadingKeyPrefix(), `{"Version":"2012-10-17","Statement":[{"Sid":"TenantItems","Effect":"Allow","Action":` + items + `,
			"Resource":["` + testTable + `","` + testTable + `/index/*"],
			"Condition":{"ForAllValues:StringLike":{"dynamodb:LeadingKeys":["acme","acme#*"]}}}]}`},
		"S3Prefix": {S3Prefix(), `{"Version":"2012-10-17","Statement":[
			{"Sid":"TenantObjects","Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject","s3:AbortMultipartUpload"],
			 "Resource":"arn:aws:s3:::example-pool-data/acme/*"},
			{"Sid":"TenantListing","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example-pool-data",
			 "Condition":{"StringLike":{"s3:prefix":["acme/","acme/*"]}}}]}`},
		"KMSTenantKey": {KMSTenantKey(), `{"Version":"2012-10-17","Statement":[{"Sid":"TenantKey","Effect":"Allow",
			"Action":["kms:Encrypt","kms:Decrypt","kms:GenerateDataKey","kms:DescribeKey"],"Resource":"` + testKey + `"}]}`},
	} {
		got, err := tc.tpl.Render(testValues("acme"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(decodeJSON(t, got), decodeJSON(t, tc.want)) {
			t.Errorf("%s rendered\n%s\nwant\n%s", name, got, tc.want)
		}
		if strings.ContainsAny(got, " \n\t") {
			t.Errorf("%s: not minified: %s", name, got)
		}
		if !strings.HasPrefix(got, `{"Version":"2012-10-17","Statement":[`) {
			t.Errorf("%s: member order lost: %s", name, got)
		}
	}
}

func TestRenderRefusesHostileTenantIDs(t *testing.T) {
	tpl := DynamoDBLeadingKeyPrefix()
	for _, id := range []string{"*", "a*", "a?", `a"`, "a}", "a/b", "a${x}", "${tenant.id}", "a b", "a\n", "", "-a", ".a",
		"a#b", "a\\", "a\x00", strings.Repeat("a", 65), "ä"} {
		out, err := tpl.Render(testValues(id))
		if !errors.Is(err, ErrInvalidValue) || !errors.Is(err, tenant.ErrInvalidID) || out != "" {
			t.Errorf("id %q: got %q, %v", id, out, err)
		}
	}
	// The tier is a tenant-supplied value too.
	v := testValues("acme")
	v.Tier = "gold*"
	if _, err := tpl.Render(v); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("tier with '*': %v", err)
	}
}

func TestRenderRefusesWideningResourceValues(t *testing.T) {
	for name, mutate := range map[string]func(*Values){
		"table *":     func(v *Values) { v.Table = "arn:aws:dynamodb:us-east-1:111122223333:table/*" },
		"bucket ?":    func(v *Values) { v.Bucket = "b?cket" },
		"key quote":   func(v *Values) { v.KMSKey = `arn:aws:kms:us-east-1:1:key/"` },
		"region ${":   func(v *Values) { v.Region = "${aws:username}" },
		"account }":   func(v *Values) { v.Account = "1}" },
		"partition ":  func(v *Values) { v.Partition = "aws " },
		"bucket \\":   func(v *Values) { v.Bucket = `b\u0022` },
		"bucket utf8": func(v *Values) { v.Bucket = "bücket" },
	} {
		v := testValues("acme")
		mutate(&v)
		if _, err := S3Prefix().Render(v); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestRenderMissingValueIsIncompletePlacement(t *testing.T) {
	v := testValues("acme")
	v.Bucket = ""
	_, err := S3Prefix().Render(v)
	var pe *PlacementError
	if !errors.Is(err, ErrIncompletePlacement) || !errors.As(err, &pe) || pe.Field != "${bucket}" {
		t.Fatalf("got %v", err)
	}
}

func TestPlaceholdersOnlyInStringLeaves(t *testing.T) {
	tpl, err := ParseTemplate([]byte(`{
		"Version": "2012-10-17",
		"Statement": [{
			"Sid": "Tagged",
			"Effect": "Allow",
			"Action": "dynamodb:Query",
			"Resource": "${table}",
			"Condition": {
				"StringEquals": {"aws:PrincipalTag/TenantID": "${tenant.id}", "dynamodb:Attributes": ["pk-${tenant.id}-${tenant.tier}", "${aws:PrincipalTag/Tier}", "$${*}${?}${$}"]},
				"NumericLessThan": {"dynamodb:ReturnConsumedCapacity": 10.5},
				"Bool": {"aws:SecureTransport": true},
				"Null": {"x": null}
			}
		}]
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tpl.Placeholders(), []string{"table", "tenant.id", "tenant.tier"}; !reflect.DeepEqual(got, want) {
		t.Errorf("placeholders %v, want %v", got, want)
	}
	out, err := tpl.Render(testValues("acme"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Version":"2012-10-17","Statement":[{"Sid":"Tagged","Effect":"Allow","Action":"dynamodb:Query","Resource":"` + testTable +
		`","Condition":{"StringEquals":{"aws:PrincipalTag/TenantID":"acme","dynamodb:Attributes":["pk-acme-basic","${aws:PrincipalTag/Tier}","$${*}${?}${$}"]},` +
		`"NumericLessThan":{"dynamodb:ReturnConsumedCapacity":10.5},"Bool":{"aws:SecureTransport":true},"Null":{"x":null}}}]}`
	if out != want {
		t.Errorf("rendered\n%s\nwant\n%s", out, want)
	}
}

func TestParseTemplateRejects(t *testing.T) {
	for name, src := range map[string]string{
		"not JSON":             `{"Statement":[}`,
		"array":                `[{"Statement":[]}]`,
		"string":               `"${tenant.id}"`,
		"no statement":         `{"Version":"2012-10-17"}`,
		"statement not object": `{"Statement":["x"]}`,
		"duplicate member":     `{"Statement":[],"Statement":[]}`,
		"duplicate nested":     `{"Statement":[{"Effect":"Allow","Effect":"Deny"}]}`,
		"duplicate sid":        `{"Statement":[{"Sid":"a"},{"Sid":"a"}]}`,
		"sid placeholder":      `{"Statement":[{"Sid":"${tenant.id}"}]}`,
		"version not string":   `{"Version":1,"Statement":[]}`,
		"placeholder in key":   `{"Statement":[{"Condition":{"StringEquals":{"aws:ResourceTag/${tenant.id}":"x"}}}]}`,
		"unknown placeholder":  `{"Statement":[{"Resource":"${tenant.name}"}]}`,
		"unterminated":         `{"Statement":[{"Resource":"arn:${tenant.id"}]}`,
		"trailing data":        `{"Statement":[]} {}`,
		"trailing garbage":     `{"Statement":[]}x`,
		"too deep":             `{"Statement":[{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}]}`,
		"too long":             `{"Statement":[],"x":"` + strings.Repeat("a", maxTemplateLen) + `"}`,
		"empty":                ``,
	} {
		if _, err := ParseTemplate([]byte(src)); !errors.Is(err, ErrInvalidTemplate) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

func TestRenderEscapesLiteralText(t *testing.T) {
	tpl := MustParseTemplate(`{"Statement":{"Sid":"q\"b\\s\u0001<>&\u00e9\t"}}`)
	out, err := tpl.Render(testValues("acme"))
	if err != nil {
		t.Fatal(err)
	}
	got := decodeJSON(t, out).(map[string]any)["Statement"].(map[string]any)["Sid"]
	if got != "q\"b\\s\x01<>&é\t" {
		t.Errorf("round trip %q (%s)", got, out)
	}
	if strings.Contains(out, `\u003c`) {
		t.Errorf("HTML-escaped: %s", out)
	}
}

func TestPolicySizeLimitCheckedLocally(t *testing.T) {
	// A template whose rendering is exactly n characters long.
	sized := func(n int) *Template {
		const frame = `{"Statement":[{"Sid":""}]}`
		return MustParseTemplate(`{"Statement":[{"Sid":"` + strings.Repeat("x", n-len(frame)) + `"}]}`)
	}
	if out, err := sized(MaxSessionPolicyLen).Render(testValues("acme")); err != nil || len(out) != MaxSessionPolicyLen {
		t.Fatalf("at the limit: %d, %v", len(out), err)
	}
	_, err := sized(MaxSessionPolicyLen + 1).Render(testValues("acme"))
	var se *PolicySizeError
	if !errors.Is(err, ErrPolicyTooLarge) || !errors.As(err, &se) || se.Len != MaxSessionPolicyLen+1 || se.Limit != MaxSessionPolicyLen {
		t.Fatalf("over the limit: %v", err)
	}
	// The limit counts characters, not bytes.
	multi := MustParseTemplate(`{"Statement":[{"Sid":"` + strings.Repeat("é", MaxSessionPolicyLen-26) + `"}]}`)
	if out, err := multi.Render(testValues("acme")); err != nil || utf8.RuneCountInString(out) != MaxSessionPolicyLen {
		t.Fatalf("multi-byte at the limit: %v", err)
	}
}

func TestDefaultPoolPolicyFitsForLongestValues(t *testing.T) {
	m, err := Merge(DynamoDBLeadingKeyPrefix(), S3Prefix(), KMSTenantKey())
	if err != nil {
		t.Fatal(err)
	}
	v := Values{TenantID: strings.Repeat("a", tenant.MaxIDLen), Tier: strings.Repeat("t", tenant.MaxIDLen),
		Partition: "aws-us-gov", Region: "us-gov-west-1", Account: "111122223333",
		Table:  "arn:aws-us-gov:dynamodb:us-gov-west-1:111122223333:table/" + strings.Repeat("t", 64),
		Bucket: strings.Repeat("b", 63), KMSKey: "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"}
	out, err := m.Render(v)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("default pool policy for a 64-character ID: %d characters", len(out))
}

func TestMerge(t *testing.T) {
	m, err := Merge(DynamoDBLeadingKeys(), MustParseTemplate(`{"Statement":{"Sid":"One","Effect":"Deny","Action":"s3:*","Resource":"*"}}`))
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Render(testValues("acme"))
	if err != nil {
		t.Fatal(err)
	}
	doc := decodeJSON(t, out).(map[string]any)
	if doc["Version"] != "2012-10-17" || len(doc["Statement"].([]any)) != 2 {
		t.Errorf("merged %s", out)
	}
	if _, err := Merge(S3Prefix(), S3Prefix()); !errors.Is(err, ErrInvalidTemplate) {
		t.Errorf("colliding Sids: %v", err)
	}
	if _, err := Merge(S3Prefix(), MustParseTemplate(`{"Id":"x","Statement":[]}`)); !errors.Is(err, ErrInvalidTemplate) {
		t.Errorf("extra member: %v", err)
	}
	if _, err := Merge(); !errors.Is(err, ErrInvalidTemplate) {
		t.Errorf("nothing: %v", err)
	}
}

// shape replaces every string value of a decoded JSON document by "", so
// two documents have equal shapes when they differ in string values only.
func shape(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = shape(x)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = shape(x)
		}
		return s
	case string:
		return ""
	}
	return v
}

// FuzzRenderTenantID feeds arbitrary tenant IDs to the default pool policy:
// an ID is rendered if and only if tenant.ValidateID accepts it, and then
// the policy is valid JSON with the structure of the template, naming that
// tenant in every tenant-scoped value.
func FuzzRenderTenantID(f *testing.F) {
	for _, s := range []string{"acme", "a", "a*", "a?", `a"`, "a}", "a/b", "a${x}", "${tenant.id}", "a#b", "A.b-c_d", strings.Repeat("z", 64), "\x00", "é"} {
		f.Add(s)
	}
	tpl, err := Merge(DynamoDBLeadingKeyPrefix(), S3Prefix(), KMSTenantKey())
	if err != nil {
		f.Fatal(err)
	}
	ref, err := tpl.Render(testValues("ref"))
	if err != nil {
		f.Fatal(err)
	}
	refShape := shape(decodeJSON(f, ref))
	f.Fuzz(func(t *testing.T, id string) {
		out, err := tpl.Render(testValues(id))
		if valid := tenant.ValidateID(id) == nil; !valid {
			if err == nil || !errors.Is(err, ErrInvalidValue) || out != "" {
				t.Fatalf("invalid id %q rendered: %q, %v", id, out, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("valid id %q: %v", id, err)
		}
		if strings.ContainsAny(id, "*?\"}/${ #") {
			t.Fatalf("id %q with a special character was rendered", id)
		}
		doc := decodeJSON(t, out)
		if !reflect.DeepEqual(shape(doc), refShape) {
			t.Fatalf("id %q changed the policy's structure: %s", id, out)
		}
		stmts := doc.(map[string]any)["Statement"].([]any)
		keys := stmts[0].(map[string]any)["Condition"].(map[string]any)["ForAllValues:StringLike"].(map[string]any)["dynamodb:LeadingKeys"]
		if !reflect.DeepEqual(keys, []any{id, id + "#*"}) {
			t.Fatalf("leading keys %v for %q", keys, id)
		}
		if r := stmts[1].(map[string]any)["Resource"]; r != "arn:aws:s3:::"+testBucket+"/"+id+"/*" {
			t.Fatalf("object resource %v for %q", r, id)
		}
	})
}

// FuzzParseTemplate checks that any input either fails to parse with
// ErrInvalidTemplate or renders, for two tenants, to valid JSON documents
// of the same structure: substitution never changes structure.
func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{
		`{"Statement":[{"Resource":"${table}","Condition":{"StringLike":{"k":["${tenant.id}#*"]}}}]}`,
		`{"Version":"2012-10-17","Statement":{"Sid":"x","Resource":"${aws:username}/${tenant.id}"}}`,
		`{"Statement":[{"a":[1,2.5e3,true,false,null,"\u0000\"\\"]}]}`,
		`{"Statement":[{"Resource":"${tenant.id"}]}`,
		`{"Statement":[],"Statement":[]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tpl, err := ParseTemplate(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidTemplate) {
				t.Fatalf("parse error %v does not wrap ErrInvalidTemplate", err)
			}
			return
		}
		a, errA := tpl.Render(testValues("a"))
		b, errB := tpl.Render(testValues("tenant-b.with_a-longer.id"))
		if errA != nil || errB != nil {
			if !errors.Is(errA, ErrPolicyTooLarge) && !errors.Is(errB, ErrPolicyTooLarge) {
				t.Fatalf("render: %v / %v", errA, errB)
			}
			return
		}
		if !json.Valid([]byte(a)) || !json.Valid([]byte(b)) {
			t.Fatalf("invalid JSON rendered: %s / %s", a, b)
		}
		if !reflect.DeepEqual(shape(decodeJSON(t, a)), shape(decodeJSON(t, b))) {
			t.Fatalf("tenants rendered different structures:\n%s\n%s", a, b)
		}
	})
}
