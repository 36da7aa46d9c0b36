package tenant

import "testing"

func TestToken68Table(t *testing.T) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		want := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' ||
			b == '-' || b == '.' || b == '_' || b == '~' || b == '+' || b == '/'
		if got := isToken68(b); got != want {
			t.Errorf("isToken68(%q) = %v, want %v", b, got, want)
		}
	}
}
