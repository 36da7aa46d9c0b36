//go:build linux

package runtimetest

import (
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/authn/authntest"
)

// BenchmarkInvoke measures invocations of a function under the emulator
// over loopback HTTP: each run starts a new function, reports its first
// invocation as cold-ms (process start, runtime client, verifier, first
// key fetch) and then times warm invocations of a cached token.
func BenchmarkInvoke(b *testing.B) {
	iss := authntest.NewIssuer(b)
	token := iss.Token("acme", "pro")
	for _, c := range []struct {
		name, fn, file string
		env            []string
	}{
		{"token-authorizer", "token", "token-authorizer.json", []string{"TENANTKIT_PLAN_KEYS=pro=" + proKey}},
		{"rest-adapter", "rest", "rest-proxy.json", nil},
		{"rest-adapter-reverify", "rest", "rest-proxy.json", []string{"TENANTKIT_REVERIFY=1"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			env := append(append(issuerEnv(iss), "TENANTKIT_FN="+c.fn), c.env...)
			f := start(b, env...)
			ev := event(b, c.file, token, nil)
			_, herr, cold := f.invoke(b, ev, nil)
			if herr != "" {
				b.Fatalf("cold invocation: %s", herr)
			}
			b.ReportAllocs()
			for b.Loop() {
				f.invoke(b, ev, nil)
			}
			b.ReportMetric(float64(cold)/float64(time.Millisecond), "cold-ms")
		})
	}
}
