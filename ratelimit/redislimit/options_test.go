package redislimit

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tenantkit/tenantkit/ratelimit"
)

// TestNewRejectsInvalidOptions: a prefix with a brace used to be dropped
// silently, so two services that meant to be separated shared counters.
// Every invalid value is now a construction error naming the option, and
// wraps both this package's and ratelimit's ErrInvalidOption.
func TestNewRejectsInvalidOptions(t *testing.T) {
	c := newClient(t, "127.0.0.1:1")
	for _, tc := range []struct {
		name string
		opt  Option
	}{
		{"WithPrefix", WithPrefix("svc:{a}:")},
		{"WithPrefix", WithPrefix("}x")},
		{"WithQuotaMargin", WithQuotaMargin(-time.Second)},
		{"WithRetryInterval", WithRetryInterval(0)},
		{"WithRetryInterval", WithRetryInterval(-time.Second)},
		{"WithDecisionTimeout", WithDecisionTimeout(0)},
		{"WithErrorHandler", WithErrorHandler(nil)},
		{"WithLocalOptions", WithLocalOptions(ratelimit.WithMaxKeys(0))},
		{"WithLocalOptions", WithLocalOptions(nil)},
		{"nil Option", nil},
	} {
		l, err := New(c, tc.opt)
		if l != nil || !errors.Is(err, ErrInvalidOption) || !errors.Is(err, ratelimit.ErrInvalidOption) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s: %v, %v; want an error wrapping ErrInvalidOption that names it", tc.name, l, err)
		}
	}
	if l, err := New(c, WithPrefix("svc:a:")); err != nil || l.prefix != "svc:a:" {
		t.Errorf("a valid prefix: %v", err)
	}
}

// TestNewRejectsNilClient: a nil client, or an interface holding a nil
// client, fails at New with a message naming the client, not with a nil
// dereference on the first request.
func TestNewRejectsNilClient(t *testing.T) {
	var typed *redis.Client
	var cluster *redis.ClusterClient
	for name, c := range map[string]redis.Scripter{"nil": nil, "typed nil": typed, "typed nil cluster": cluster} {
		l, err := New(c)
		if l != nil || !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), "client") {
			t.Errorf("%s: %v, %v; want an error naming the client", name, l, err)
		}
	}
}
