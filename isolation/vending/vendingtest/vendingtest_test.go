package vendingtest

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const role = "arn:aws:iam::111122223333:role/tenant-pool"

func TestAssumeRoleRoundTrip(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	srv := NewServer(WithClock(func() time.Time { return now }))
	defer srv.Close()

	out, err := srv.Client().AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn:           aws.String(role),
		RoleSessionName:   aws.String("tenant-acme"),
		Policy:            aws.String(`{"Version":"2012-10-17","Statement":[]}`),
		DurationSeconds:   aws.Int32(900),
		SourceIdentity:    aws.String("alice"),
		Tags:              []types.Tag{{Key: aws.String("TenantID"), Value: aws.String("acme")}, {Key: aws.String("Tier"), Value: aws.String("basic")}},
		TransitiveTagKeys: []string{"TenantID"},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if got, want := aws.ToTime(c.Expiration), now.Add(900*time.Second); !got.Equal(want) {
		t.Errorf("expiration %v, want %v", got, want)
	}
	if got, want := aws.ToString(out.AssumedRoleUser.Arn), "arn:aws:sts::123456789012:assumed-role/tenant-pool/tenant-acme"; got != want {
		t.Errorf("assumed role ARN %q, want %q", got, want)
	}
	if aws.ToString(out.SourceIdentity) != "alice" {
		t.Errorf("source identity %q", aws.ToString(out.SourceIdentity))
	}
	iss, ok := srv.Issued(aws.ToString(c.AccessKeyId))
	if !ok || iss.Tenant() != "acme" || iss.SecretAccessKey != aws.ToString(c.SecretAccessKey) || iss.SessionToken != aws.ToString(c.SessionToken) {
		t.Fatalf("issued = %+v, %v", iss, ok)
	}
	if !strings.Contains(iss.SessionToken, "tenant=acme") {
		t.Errorf("session token %q does not name the tenant", iss.SessionToken)
	}

	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests recorded", len(reqs))
	}
	r := reqs[0]
	if r.Action != "AssumeRole" || r.Version != "2011-06-15" || r.RoleARN != role || r.RoleSessionName != "tenant-acme" ||
		r.Policy != `{"Version":"2012-10-17","Statement":[]}` || r.DurationSeconds != 900 || r.SourceIdentity != "alice" ||
		r.CallerAccessKeyID != CallerAccessKeyID {
		t.Errorf("recorded %+v", r)
	}
	if len(r.Tags) != 2 || r.Tags[0] != (Tag{"TenantID", "acme"}) || r.Tags[1] != (Tag{"Tier", "basic"}) {
		t.Errorf("tags %+v", r.Tags)
	}
	if len(r.TransitiveTagKeys) != 1 || r.TransitiveTagKeys[0] != "TenantID" {
		t.Errorf("transitive keys %+v", r.TransitiveTagKeys)
	}
}

func TestErrorsDecodeAsSDKErrors(t *testing.T) {
	srv := NewServer()
	defer srv.Close()
	client := srv.Client()
	in := &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("s1")}

	for _, tc := range []struct {
		inject Error
		status int
		check  func(error) bool
	}{
		{Throttling, 400, func(err error) bool {
			var ae smithy.APIError
			return errors.As(err, &ae) && ae.ErrorCode() == "Throttling"
		}},
		{AccessDenied, 403, func(err error) bool {
			var ae smithy.APIError
			return errors.As(err, &ae) && ae.ErrorCode() == "AccessDenied"
		}},
		{PackedPolicyTooLarge, 400, func(err error) bool { var e *types.PackedPolicyTooLargeException; return errors.As(err, &e) }},
		{MalformedPolicyDocument, 400, func(err error) bool { var e *types.MalformedPolicyDocumentException; return errors.As(err, &e) }},
		{ServiceUnavailable, 503, func(err error) bool {
			var ae smithy.APIError
			return errors.As(err, &ae) && ae.ErrorCode() == "ServiceUnavailable"
		}},
	} {
		srv.Reset()
		srv.Inject(tc.inject, 1)
		_, err := client.AssumeRole(context.Background(), in)
		if err == nil || !tc.check(err) {
			t.Errorf("%s: got %v", tc.inject.Code, err)
		}
		var re interface{ HTTPStatusCode() int }
		if !errors.As(err, &re) || re.HTTPStatusCode() != tc.status {
			t.Errorf("%s: status not %d: %v", tc.inject.Code, tc.status, err)
		}
		if n := srv.Count(); n != 1 {
			t.Errorf("%s: %d requests with NopRetryer", tc.inject.Code, n)
		}
		// The injection is used up: the next request succeeds.
		if _, err := client.AssumeRole(context.Background(), in); err != nil {
			t.Errorf("%s: after injection: %v", tc.inject.Code, err)
		}
	}
}

func TestInjectForeverAndHook(t *testing.T) {
	srv := NewServer()
	defer srv.Close()
	client := srv.Client()
	in := &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("s1")}
	srv.Inject(Throttling, -1)
	for range 3 {
		if _, err := client.AssumeRole(context.Background(), in); err == nil {
			t.Fatal("want throttling")
		}
	}
	srv.ClearInjected()
	srv.SetHook(func(r Request) *Error {
		if r.RoleSessionName == "s1" {
			return &AccessDenied
		}
		return nil
	})
	if _, err := client.AssumeRole(context.Background(), in); err == nil {
		t.Fatal("hook not applied")
	}
	srv.SetHook(nil)
	if _, err := client.AssumeRole(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

func TestValidation(t *testing.T) {
	srv := NewServer()
	defer srv.Close()
	client := srv.Client()
	for name, in := range map[string]*sts.AssumeRoleInput{
		"session name char": {RoleArn: aws.String(role), RoleSessionName: aws.String("a/b")},
		"session name len":  {RoleArn: aws.String(role), RoleSessionName: aws.String(strings.Repeat("a", 65))},
		"role":              {RoleArn: aws.String("arn:aws:iam::1:user/x"), RoleSessionName: aws.String("ok")},
		"policy":            {RoleArn: aws.String(role), RoleSessionName: aws.String("ok"), Policy: aws.String(strings.Repeat(" ", 2049))},
		"duration":          {RoleArn: aws.String(role), RoleSessionName: aws.String("ok"), DurationSeconds: aws.Int32(60)},
		"transitive":        {RoleArn: aws.String(role), RoleSessionName: aws.String("ok"), TransitiveTagKeys: []string{"TenantID"}},
	} {
		_, err := client.AssumeRole(context.Background(), in)
		var ae smithy.APIError
		if !errors.As(err, &ae) || (ae.ErrorCode() != "ValidationError" && ae.ErrorCode() != "InvalidParameterValue") {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

func TestRefusesUnsignedAndForeignCallers(t *testing.T) {
	srv := NewServer()
	defer srv.Close()
	form := url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleArn": {role}, "RoleSessionName": {"x1"}}
	resp, err := srv.Config().HTTPClient.(*http.Client).PostForm(srv.URL(), form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("unsigned: status %d", resp.StatusCode)
	}

	cfg := srv.Config()
	cfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIAOTHER", SecretAccessKey: "x"}, nil
	})
	_, err = sts.NewFromConfig(cfg).AssumeRole(context.Background(), &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("x1")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidClientTokenId" {
		t.Errorf("foreign caller: %v", err)
	}
	if srv.Count() != 0 {
		t.Errorf("refused requests were recorded")
	}
}

func TestLoopbackOnly(t *testing.T) {
	srv := NewServer()
	defer srv.Close()
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	if h := u.Hostname(); h != "127.0.0.1" && h != "::1" {
		t.Fatalf("listening on %s", h)
	}
}
