package kmsenvelope

import (
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/tenantkit/tenantkit/isolation"
	"github.com/tenantkit/tenantkit/isolation/vending"
	"github.com/tenantkit/tenantkit/isolation/vending/vendingtest"
)

// signers records the access key ID that signed each KMS request.
type signers struct {
	next http.RoundTripper
	mu   sync.Mutex
	keys []string
}

var credentialRE = regexp.MustCompile(`Credential=([A-Z0-9]+)/`)

func (s *signers) RoundTrip(r *http.Request) (*http.Response, error) {
	m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization"))
	s.mu.Lock()
	if m != nil {
		s.keys = append(s.keys, m[1])
	} else {
		s.keys = append(s.keys, "")
	}
	s.mu.Unlock()
	return s.next.RoundTrip(r)
}

func (s *signers) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keys
	s.keys = nil
	return k
}

// TestVendedCredentialsSignEachTenantsCalls: with the vendor's context
// provider as the KMS client's credentials, every KMS call an Envelope
// makes for a tenant is signed with that tenant's own session, whose
// policy is isolation.KMSTenantContext for its key.
func TestVendedCredentialsSignEachTenantsCalls(t *testing.T) {
	ep := endpoint(t)
	base := newClient(t)
	keys := map[string]string{"acme": createKey(t, base), "globex": createKey(t, base)}
	resolver := placements(t, keys)

	srv := vendingtest.NewServer()
	t.Cleanup(srv.Close)
	vendor, err := vending.New(srv.Client(), resolver, vending.WithPolicy(isolation.KMSKey, isolation.KMSTenantContext()))
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	sig := &signers{next: tr}
	client := kms.New(kms.Options{
		Region:           region(),
		BaseEndpoint:     aws.String(ep),
		Credentials:      vendor.ContextProvider(isolation.KMSKey),
		HTTPClient:       &http.Client{Transport: sig},
		RetryMaxAttempts: 1,
	})
	e := mustNew(t, client, PlacementKeys(resolver), WithoutCache())

	for _, id := range []string{"acme", "globex", "acme"} {
		ctx := tenantCtx(t, id)
		ct, err := e.Encrypt(ctx, []byte(id+"'s record"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if pt, err := e.Decrypt(ctx, ct, nil); err != nil || string(pt) != id+"'s record" {
			t.Fatalf("%s: %q, %v", id, pt, err)
		}
		used := sig.take()
		if len(used) != 2 {
			t.Fatalf("%s: %d KMS requests, want 2", id, len(used))
		}
		for _, akid := range used {
			iss, ok := srv.Issued(akid)
			if !ok || iss.Tenant() != id {
				t.Errorf("%s's KMS call signed by %q (issued for %q)", id, akid, iss.Tenant())
			}
		}
	}
	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d AssumeRole calls, want one per tenant", len(reqs))
	}
	for _, r := range reqs {
		id, _ := r.Tag(vending.TagTenantID)
		want, err := isolation.KMSTenantContext().Render(isolation.Values{TenantID: id, KMSKey: keys[id]})
		if err != nil {
			t.Fatal(err)
		}
		// The pool's table shares the role, so the session policy merges
		// its statement with the key's.
		stmt := strings.TrimSuffix(strings.TrimPrefix(want, `{"Version":"2012-10-17","Statement":[`), "]}")
		if !strings.Contains(r.Policy, stmt) || strings.Count(r.Policy, "arn:aws:kms:") != 1 {
			t.Errorf("%s's session policy %s\nwant the statement %s", id, r.Policy, stmt)
		}
	}
	// No tenant: no credentials, no KMS call.
	if _, err := e.Encrypt(t.Context(), []byte("x"), nil); err == nil || len(sig.take()) != 0 {
		t.Errorf("tenantless: %v", err)
	}
}
