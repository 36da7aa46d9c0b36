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
	for name, opt := range map[string]Option{
		"WithClock":         WithClock(nil),
		"WithMaxKeys":       WithMaxKeys(0),
		"WithSweepInterval": WithSweepInterval(-time.Second),
		"nil Option":        nil,
	} {
		l, err := NewLocal(opt)
		if l != nil || !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v, %v; want an error wrapping ErrInvalidOption that names it", name, l, err)
		}
	}
	if _, err := NewLocal(WithMaxKeys(-5)); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("WithMaxKeys(-5): %v", err)
	}
}
