package redislimit

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/ratelimit"
)

// TestNewRejectsInvalidOptions: a prefix with a brace used to be dropped
// silently, so two services that meant to be separated shared counters.
// Every invalid value is now a construction error naming the option.
func TestNewRejectsInvalidOptions(t *testing.T) {
	c := newClient(t, "127.0.0.1:1")
	for name, opt := range map[string]Option{
		"WithPrefix":        WithPrefix("svc:{a}:"),
		"WithQuotaMargin":   WithQuotaMargin(-time.Second),
		"WithRetryInterval": WithRetryInterval(0),
		"WithLocalOptions":  WithLocalOptions(ratelimit.WithMaxKeys(0)),
		"nil Option":        nil,
	} {
		l, err := New(c, opt)
		if l != nil || !errors.Is(err, ratelimit.ErrInvalidOption) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v, %v; want an error wrapping ErrInvalidOption that names it", name, l, err)
		}
	}
	for _, p := range []string{"{", "}", "a{b", "}x"} {
		if _, err := New(c, WithPrefix(p)); !errors.Is(err, ratelimit.ErrInvalidOption) {
			t.Errorf("WithPrefix(%q): %v", p, err)
		}
	}
	if _, err := New(nil); !errors.Is(err, ratelimit.ErrInvalidOption) {
		t.Errorf("a nil client: %v", err)
	}
	if l, err := New(c, WithPrefix("svc:a:")); err != nil || l.prefix != "svc:a:" {
		t.Errorf("a valid prefix: %v", err)
	}
}
