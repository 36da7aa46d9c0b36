package redisusage

import (
	"errors"
	"maps"
	"strconv"
	"strings"
	"testing"

	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

// encode writes rows as a Flusher's script leaves them in a period's hash.
func encode(rows []telemetry.TenantUsage) map[string]string {
	m := map[string]string{"#": strconv.Itoa(len(rows))}
	for _, r := range rows {
		m[r.TenantID+"|r"] = strconv.FormatInt(r.Requests, 10)
		m[r.TenantID+"|h"] = strconv.FormatInt(int64(r.HandlerTime), 10)
		m[r.TenantID+"|i"] = strconv.FormatInt(r.BytesIn, 10)
		m[r.TenantID+"|o"] = strconv.FormatInt(r.BytesOut, 10)
		if r.Tier != "" {
			m[r.TenantID+"|t"] = r.Tier
		}
	}
	return m
}

// FuzzParseUsage feeds the parser of a period's hash (shared Redis: its
// content is untrusted) arbitrary fields: it never panics, returns only
// valid tenant IDs and tiers, non-negative counts, sorted unique rows
// within the bound, and what it returns encodes and parses back the same.
func FuzzParseUsage(f *testing.F) {
	f.Add("acme|r=3\nacme|h=1500\nacme|i=10\nacme|o=20\nacme|t=pro\n#=1")
	f.Add("_other|r=1\n_other|h=2\n_other|i=0\n_other|o=0")
	f.Add("a*b|r=1")
	f.Add("acme|x=1")
	f.Add("acme|r=-1")
	f.Add("acme|r=99999999999999999999")
	f.Add("_other|t=pro")
	f.Add("acme|t=")
	f.Add("acme|r=1\nb|r=2\nc|r=3\nd|r=4")
	f.Fuzz(func(t *testing.T, data string) {
		fields := make(map[string]string)
		for line := range strings.SplitSeq(data, "\n") {
			k, v, _ := strings.Cut(line, "=")
			fields[k] = v
		}
		const bound = 2
		rows, err := parseUsage(fields, bound)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooManyTenants) {
				t.Fatalf("error %v wraps neither sentinel", err)
			}
			return
		}
		if len(rows) > bound+1 {
			t.Fatalf("%d rows past the bound %d", len(rows), bound)
		}
		for i, r := range rows {
			if i > 0 && rows[i-1].TenantID >= r.TenantID {
				t.Fatalf("rows not sorted and unique: %+v", rows)
			}
			if r.TenantID != telemetry.OverflowTenantID {
				if _, err := tenant.New(r.TenantID, r.Tier); err != nil {
					t.Fatalf("row %+v: %v", r, err)
				}
			} else if r.Tier != "" {
				t.Fatalf("overflow row with a tier: %+v", r)
			}
			if r.Requests < 0 || r.HandlerTime < 0 || r.BytesIn < 0 || r.BytesOut < 0 {
				t.Fatalf("negative usage: %+v", r)
			}
		}
		again, err := parseUsage(encode(rows), bound)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !maps.Equal(encode(again), encode(rows)) {
			t.Fatalf("round trip: %+v, then %+v", rows, again)
		}
	})
}
