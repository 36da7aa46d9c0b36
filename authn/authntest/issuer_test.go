package oidctest

import (
	"encoding/json"
	"net/http"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(v)
	return resp.StatusCode
}

func TestIssuer(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var doc map[string]any
	if code := getJSON(t, s.URL()+"/.well-known/openid-configuration", &doc); code != 200 || doc["issuer"] != s.URL() || doc["jwks_uri"] != s.JWKSURL() {
		t.Fatalf("discovery: %d %v", code, doc)
	}
	k2, err := NewKey("key-2", "EdDSA")
	if err != nil {
		t.Fatal(err)
	}
	s.Rotate(k2)
	var set struct{ Keys []map[string]any }
	if code := getJSON(t, s.JWKSURL(), &set); code != 200 || len(set.Keys) != 2 || s.JWKSFetches() != 1 {
		t.Fatalf("jwks: %d %v (fetches %d)", code, set, s.JWKSFetches())
	}
	if s.SigningKey() != k2 || Must(s, "key-1") == nil {
		t.Fatal("rotation did not keep the old key and sign with the new one")
	}
	s.Down()
	if code := getJSON(t, s.JWKSURL(), &set); code != 0 {
		t.Fatalf("issuer answered while down: %d", code)
	}
	if err := s.Up(); err != nil {
		t.Fatal(err)
	}
	if code := getJSON(t, s.JWKSURL(), &set); code != 200 {
		t.Fatalf("issuer not back: %d", code)
	}
	http.DefaultClient.CloseIdleConnections()
}
