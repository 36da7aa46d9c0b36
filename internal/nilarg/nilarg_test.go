package nilarg

import (
	"io"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	var typed *strings.Reader
	var f func()
	for _, c := range []struct {
		v    any
		want string
	}{
		{nil, "p: r is nil"},
		{typed, "p: r is a nil *strings.Reader"},
		{io.Reader(typed), "p: r is a nil *strings.Reader"},
		{f, "p: r is a nil func()"},
		{strings.NewReader(""), ""},
		{0, ""},
	} {
		err := Check("p", "r", c.v)
		if got := errString(err); got != c.want {
			t.Errorf("Check(%#v) = %q, want %q", c.v, got, c.want)
		}
		if IsNil(c.v) != (c.want != "") {
			t.Errorf("IsNil(%#v) = %v", c.v, IsNil(c.v))
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
