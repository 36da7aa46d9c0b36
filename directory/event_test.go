package directory_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tenantkit/tenantkit/directory"
)

const suspendedEvent = `{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"Tenant Suspended",
"source":"com.example.control-plane","account":"111122223333","time":"2026-03-01T12:00:00Z","region":"eu-west-1",
"resources":[],"detail":{"tenantId":"acme","reason":"billing"}}`

func TestParseEvent(t *testing.T) {
	id, err := directory.ParseEvent([]byte(suspendedEvent))
	if err != nil || id != "acme" {
		t.Fatalf("ParseEvent = %q, %v", id, err)
	}
	for name, ev := range map[string]string{
		"not json":         `nope`,
		"no detail-type":   `{"detail":{"tenantId":"acme"}}`,
		"empty type":       `{"detail-type":"","detail":{"tenantId":"acme"}}`,
		"no detail":        `{"detail-type":"Tenant Suspended"}`,
		"detail a string":  `{"detail-type":"Tenant Suspended","detail":"acme"}`,
		"no tenantId":      `{"detail-type":"Tenant Suspended","detail":{"tenant":"acme"}}`,
		"tenantId number":  `{"detail-type":"Tenant Suspended","detail":{"tenantId":7}}`,
		"wildcard tenant":  `{"detail-type":"Tenant Suspended","detail":{"tenantId":"*"}}`,
		"tenant with path": `{"detail-type":"Tenant Suspended","detail":{"tenantId":"acme/../x"}}`,
	} {
		if _, err := directory.ParseEvent([]byte(ev)); !errors.Is(err, directory.ErrInvalidEvent) {
			t.Errorf("%s: %v, want ErrInvalidEvent", name, err)
		} else if strings.Contains(err.Error(), "acme/") {
			t.Errorf("%s: the error echoes the input: %v", name, err)
		}
	}
}

func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(suspendedEvent))
	f.Add([]byte(`{"detail-type":"x","detail":{"tenantId":"a"}}`))
	f.Add([]byte(`{"detail-type":"x","detail":{"tenantId":"a*"}}`))
	f.Add([]byte(`{"detail-type":null,"detail":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		id, err := directory.ParseEvent(data)
		if err != nil {
			if !errors.Is(err, directory.ErrInvalidEvent) {
				t.Fatalf("error %v does not wrap ErrInvalidEvent", err)
			}
			return
		}
		if !validID(id) {
			t.Fatalf("ParseEvent returned an invalid tenant ID %q", id)
		}
	})
}

func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i, c := range []byte(id) {
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || c != '-' && c != '_' && c != '.') {
			return false
		}
	}
	return true
}

func TestEventHandlerInvalidates(t *testing.T) {
	d := newCtlDir(map[string]directory.Entry{"acme": active})
	c := newCache(t, d)
	_, _ = c.Lookup(context.Background(), "acme")
	d.Set("acme", suspended)
	srv := httptest.NewServer(directory.EventHandler(c))
	defer srv.Close()

	post := func(body string) int {
		resp, err := http.Post(srv.URL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(`{"detail-type":"Tenant Suspended","detail":{"tenantId":"*"}}`); code != http.StatusBadRequest {
		t.Errorf("invalid event: %d, want 400", code)
	}
	if e, _ := c.Lookup(context.Background(), "acme"); e != active {
		t.Fatalf("an invalid event changed the cache: %+v", e)
	}
	if code := post(suspendedEvent); code != http.StatusNoContent {
		t.Fatalf("event: %d, want 204", code)
	}
	if e, _ := c.Lookup(context.Background(), "acme"); e != suspended {
		t.Fatalf("after the event: %+v, want suspended", e)
	}
	if code := post(`{"detail-type":"x","detail":{"tenantId":"acme"},"pad":"` + strings.Repeat("a", directory.MaxEventSize) + `"}`); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized event: %d, want 413", code)
	}
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
		t.Errorf("GET: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}
