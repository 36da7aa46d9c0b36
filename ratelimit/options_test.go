package ratelimit

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestNewLocalRejectsInvalidOptions: every invalid option value is a
// construction error naming the option; none is silently replaced by a
// default.
func TestNewLocalRejectsInvalidOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  Option
	}{
		{"WithClock", WithClock(nil)},
		{"WithMaxKeys", WithMaxKeys(0)},
		{"WithMaxKeys", WithMaxKeys(-5)},
		{"WithSweepInterval", WithSweepInterval(0)},
		{"WithSweepInterval", WithSweepInterval(-time.Second)},
		{"nil Option", nil},
	} {
		l, err := NewLocal(tc.opt)
		if l != nil || !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s: %v, %v; want an error wrapping ErrInvalidOption that names it", tc.name, l, err)
		}
	}
}
