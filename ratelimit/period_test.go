package ratelimit

import (
	"math/rand/v2"
	"testing"
	"time"
)

func utc(y int, m time.Month, d, h, min, s int) time.Time {
	return time.Date(y, m, d, h, min, s, 0, time.UTC)
}

func TestQuotaBounds(t *testing.T) {
	cases := []struct {
		name       string
		q          Quota
		at         time.Time
		start, end time.Time
	}{
		{"day", Daily(1), utc(2026, 3, 15, 13, 4, 5), utc(2026, 3, 15, 0, 0, 0), utc(2026, 3, 16, 0, 0, 0)},
		{"day at midnight", Daily(1), utc(2026, 3, 15, 0, 0, 0), utc(2026, 3, 15, 0, 0, 0), utc(2026, 3, 16, 0, 0, 0)},
		{"day in another zone", Daily(1), time.Date(2026, 3, 15, 23, 30, 0, 0, time.FixedZone("x", -3*3600)), utc(2026, 3, 16, 0, 0, 0), utc(2026, 3, 17, 0, 0, 0)},
		{"week from Monday", Weekly(1), utc(2026, 11, 25, 10, 0, 0), utc(2026, 11, 23, 0, 0, 0), utc(2026, 11, 30, 0, 0, 0)},
		{"week on Sunday night", Weekly(1), utc(2026, 11, 29, 23, 59, 59), utc(2026, 11, 23, 0, 0, 0), utc(2026, 11, 30, 0, 0, 0)},
		{"week before the epoch Monday", Weekly(1), utc(1970, 1, 2, 0, 0, 0), utc(1969, 12, 29, 0, 0, 0), utc(1970, 1, 5, 0, 0, 0)},
		{"month", Monthly(1), utc(2026, 2, 14, 8, 0, 0), utc(2026, 2, 1, 0, 0, 0), utc(2026, 3, 1, 0, 0, 0)},
		{"december", Monthly(1), utc(2026, 12, 31, 23, 59, 59), utc(2026, 12, 1, 0, 0, 0), utc(2027, 1, 1, 0, 0, 0)},
		{"anchored day", Daily(1).AnchoredAt(utc(2020, 1, 1, 6, 0, 0)), utc(2026, 3, 15, 5, 59, 59), utc(2026, 3, 14, 6, 0, 0), utc(2026, 3, 15, 6, 0, 0)},
		{"anchor in the future", Daily(1).AnchoredAt(utc(2030, 1, 1, 6, 0, 0)), utc(2026, 3, 15, 7, 0, 0), utc(2026, 3, 15, 6, 0, 0), utc(2026, 3, 16, 6, 0, 0)},
		{"anchored week (Thursdays)", Weekly(1).AnchoredAt(utc(2026, 1, 1, 0, 0, 0)), utc(2026, 11, 25, 0, 0, 0), utc(2026, 11, 19, 0, 0, 0), utc(2026, 11, 26, 0, 0, 0)},
		{"billing day 15", Monthly(1).AnchoredAt(utc(2025, 7, 15, 9, 0, 0)), utc(2026, 3, 15, 8, 59, 59), utc(2026, 2, 15, 9, 0, 0), utc(2026, 3, 15, 9, 0, 0)},
		{"billing day 31 in February", Monthly(1).AnchoredAt(utc(2026, 1, 31, 0, 0, 0)), utc(2026, 3, 1, 0, 0, 0), utc(2026, 2, 28, 0, 0, 0), utc(2026, 3, 31, 0, 0, 0)},
		{"billing day 31 leap year", Monthly(1).AnchoredAt(utc(2026, 1, 31, 0, 0, 0)), utc(2028, 2, 29, 12, 0, 0), utc(2028, 2, 29, 0, 0, 0), utc(2028, 3, 31, 0, 0, 0)},
		{"billing day 30 in April", Monthly(1).AnchoredAt(utc(2026, 1, 30, 0, 0, 0)), utc(2026, 4, 30, 0, 0, 0), utc(2026, 4, 30, 0, 0, 0), utc(2026, 5, 30, 0, 0, 0)},
		{"billing into January", Monthly(1).AnchoredAt(utc(2026, 1, 20, 0, 0, 0)), utc(2027, 1, 5, 0, 0, 0), utc(2026, 12, 20, 0, 0, 0), utc(2027, 1, 20, 0, 0, 0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, e := c.q.Bounds(c.at)
			if !s.Equal(c.start) || !e.Equal(c.end) {
				t.Errorf("Bounds(%v) = [%v, %v), want [%v, %v)", c.at, s, e, c.start, c.end)
			}
		})
	}
	if s, e := (Quota{}).Bounds(time.Now()); !s.IsZero() || !e.IsZero() {
		t.Error("zero quota has bounds")
	}
}

// Every instant lies in its period, and a period's end is the next one's
// start.
func TestQuotaBoundsProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	quotas := []Quota{Daily(1), Weekly(1), Monthly(1)}
	for range 200 {
		a := time.Unix(r.Int64N(2_000_000_000), 0)
		quotas = append(quotas, Daily(1).AnchoredAt(a), Weekly(1).AnchoredAt(a), Monthly(1).AnchoredAt(a))
	}
	for _, q := range quotas {
		for range 50 {
			at := time.Unix(r.Int64N(4_000_000_000), r.Int64N(1e9))
			s, e := q.Bounds(at)
			if at.Before(s) || !at.Before(e) {
				t.Fatalf("%v: %v not in [%v, %v)", q, at, s, e)
			}
			if s2, _ := q.Bounds(e); !s2.Equal(e) {
				t.Fatalf("%v: period after [%v, %v) starts at %v", q, s, e, s2)
			}
			if q.Period == Month {
				if d := e.Sub(s); d < 28*24*time.Hour || d > 34*24*time.Hour {
					t.Fatalf("%v: month [%v, %v) lasts %v", q, s, e, d)
				}
			}
		}
	}
}
