package ratelimit

import "time"

const (
	secondsPerDay  = 86400
	secondsPerWeek = 7 * secondsPerDay
	// mondayEpoch is 1970-01-05T00:00:00Z, the first Monday of the Unix
	// epoch: the default origin of ISO weeks.
	mondayEpoch = 4 * secondsPerDay
)

// Bounds returns the quota period [start, end) that contains t, in UTC.
// It returns two zero times for the zero Quota.
//
// The shared backend computes the same boundaries inside Redis from the
// server's clock; both follow the rules of [Quota.Anchor].
func (q Quota) Bounds(t time.Time) (start, end time.Time) {
	anchor, anchored := int64(0), !q.Anchor.IsZero()
	if anchored {
		anchor = q.Anchor.Unix()
	}
	s, e := periodBounds(q.Period, anchor, anchored, t.Unix())
	if s == e {
		return time.Time{}, time.Time{}
	}
	return time.Unix(s, 0).UTC(), time.Unix(e, 0).UTC()
}

// periodBounds returns the unix seconds [start, end) of the period of kind
// p that contains sec. Boundaries fall on whole seconds, so the period that
// contains an instant is the one that contains its whole second.
func periodBounds(p Period, anchor int64, anchored bool, sec int64) (start, end int64) {
	switch p {
	case Day, Week:
		length := int64(secondsPerDay)
		if p == Week {
			length = secondsPerWeek
			if !anchored {
				anchor = mondayEpoch
			}
		}
		start = anchor + floorDiv(sec-anchor, length)*length
		return start, start + length
	case Month:
		day, sod := periodPhase(Month, anchor, anchored)
		t := time.Unix(sec, 0).UTC()
		y, m := t.Year(), int(t.Month())
		start = monthStart(y, m, day, sod)
		if sec < start {
			m--
			start = monthStart(y, m, day, sod)
		}
		return start, monthStart(y, m+1, day, sod)
	}
	return 0, 0
}

// periodPhase returns where the periods of kind p with the anchor fall on
// the calendar: for Day the second of the day and for Week the second of
// the week (from Monday 00:00 UTC) at which they start, for Month the day of
// the month and the second of that day. Anchors with the same phase give
// the same periods.
func periodPhase(p Period, anchor int64, anchored bool) (day int, sec int64) {
	switch p {
	case Day:
		return 0, anchor - floorDiv(anchor, secondsPerDay)*secondsPerDay
	case Week:
		if !anchored {
			return 0, 0
		}
		a := anchor - mondayEpoch
		return 0, a - floorDiv(a, secondsPerWeek)*secondsPerWeek
	}
	if !anchored {
		return 1, 0
	}
	return time.Unix(anchor, 0).UTC().Day(), anchor - floorDiv(anchor, secondsPerDay)*secondsPerDay
}

// monthStart returns the unix seconds at which the period of month m of
// year y starts (m may be outside 1..12): the given day of the month, or
// the month's last day when it is shorter, plus sod seconds.
func monthStart(y, m, day int, sod int64) int64 {
	y += floorDivInt(m-1, 12)
	m = (m-1)%12 + 1
	if m < 1 {
		m += 12
	}
	if dim := daysIn(y, m); day > dim {
		day = dim
	}
	return time.Date(y, time.Month(m), day, 0, 0, 0, 0, time.UTC).Unix() + sod
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorDivInt(a, b int) int { return int(floorDiv(int64(a), int64(b))) }

// NominalSeconds returns the nominal length of the period in seconds (a
// day, a week, or 30 days for a month), for protocols that describe a quota
// window as a number of seconds, such as the "w" parameter of the
// RateLimit-Policy header field.
func (p Period) NominalSeconds() int64 {
	switch p {
	case Day:
		return secondsPerDay
	case Week:
		return secondsPerWeek
	case Month:
		return 30 * secondsPerDay
	}
	return 0
}
