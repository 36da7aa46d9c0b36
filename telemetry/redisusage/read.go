package redisusage

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tenantkit/tenantkit/internal/nilarg"
	"github.com/tenantkit/tenantkit/telemetry"
	"github.com/tenantkit/tenantkit/tenant"
)

// scanCount is the COUNT hint of each HSCAN page.
const scanCount = 1000

// fieldsPerTenant is the most fields a tenant has in a period's hash:
// requests, handler time, bytes in, bytes out and tier.
const fieldsPerTenant = 5

// Read returns the fleet's usage of the period [start, end) as the
// Flushers with the same prefix recorded it: one row per tenant, sorted by
// TenantID, ready for [telemetry.AttributeCost]. A period nobody flushed
// reads as empty. It reads the period's hash with HSCAN, in pages, and
// refuses one holding more tenants than the bound ([WithMaxTenants]) with
// an error wrapping [ErrTooManyTenants]. Options: [WithPrefix] and
// [WithMaxTenants].
func Read(ctx context.Context, client redis.UniversalClient, start, end time.Time, opts ...Option) (telemetry.UsageSnapshot, error) {
	c := newConfig(true, opts)
	if c.err != nil {
		return telemetry.UsageSnapshot{}, c.err
	}
	if err := nilarg.Check("redisusage: Read", "the client", client); err != nil {
		return telemetry.UsageSnapshot{}, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	if !end.After(start) {
		return telemetry.UsageSnapshot{}, fmt.Errorf("%w: redisusage: Read: the period [%v, %v) is empty", ErrInvalidOption, start, end)
	}
	key := periodKey(c.prefix, start, end)
	// The bound plus the overflow row, and the tenant count.
	maxFields := fieldsPerTenant*(c.maxTenants+1) + 1
	fields := make(map[string]string)
	var cursor uint64
	for {
		kv, next, err := client.HScan(ctx, key, cursor, "", scanCount).Result()
		if err != nil {
			return telemetry.UsageSnapshot{}, fmt.Errorf("redisusage: read %s: %w", key, err)
		}
		// HSCAN may return a field twice; the map keeps one.
		for i := 0; i+1 < len(kv); i += 2 {
			fields[kv[i]] = kv[i+1]
		}
		if len(fields) > maxFields {
			return telemetry.UsageSnapshot{}, fmt.Errorf("%w: %s holds more than %d fields (WithMaxTenants(%d))", ErrTooManyTenants, key, maxFields, c.maxTenants)
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	rows, err := parseUsage(fields, c.maxTenants)
	if err != nil {
		return telemetry.UsageSnapshot{}, fmt.Errorf("%s: %w", key, err)
	}
	return telemetry.UsageSnapshot{Start: start, End: end, Tenants: rows}, nil
}

// parseUsage turns the fields of a period's hash into rows sorted by
// tenant ID. The hash is written by Flushers only, but Redis is shared:
// every field name, tenant ID, tier and count is checked.
func parseUsage(fields map[string]string, maxTenants int) ([]telemetry.TenantUsage, error) {
	rows := make(map[string]*telemetry.TenantUsage)
	for f, v := range fields {
		if f == "#" {
			if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 {
				return nil, fmt.Errorf("%w: tenant count %q", ErrMalformed, trim(v))
			}
			continue
		}
		i := strings.LastIndexByte(f, '|')
		if i < 0 || i != len(f)-2 {
			return nil, fmt.Errorf("%w: field %q", ErrMalformed, trim(f))
		}
		id, dim := f[:i], f[i+1]
		if id != telemetry.OverflowTenantID {
			if err := tenant.ValidateID(id); err != nil {
				return nil, fmt.Errorf("%w: field %q: %w", ErrMalformed, trim(f), err)
			}
		}
		r := rows[id]
		if r == nil {
			if len(rows) > maxTenants { // the bound plus the overflow row
				return nil, fmt.Errorf("%w: more than %d tenants", ErrTooManyTenants, maxTenants)
			}
			r = &telemetry.TenantUsage{TenantID: id}
			rows[id] = r
		}
		if dim == 't' {
			if id == telemetry.OverflowTenantID {
				return nil, fmt.Errorf("%w: a tier on the overflow row", ErrMalformed)
			}
			if _, err := tenant.New(id, v); err != nil || v == "" {
				return nil, fmt.Errorf("%w: tier %q of tenant %q", ErrMalformed, trim(v), id)
			}
			r.Tier = v
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%w: field %q: value %q", ErrMalformed, trim(f), trim(v))
		}
		switch dim {
		case 'r':
			r.Requests = n
		case 'h':
			r.HandlerTime = time.Duration(n)
		case 'i':
			r.BytesIn = n
		case 'o':
			r.BytesOut = n
		default:
			return nil, fmt.Errorf("%w: field %q", ErrMalformed, trim(f))
		}
	}
	out := make([]telemetry.TenantUsage, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b telemetry.TenantUsage) int { return strings.Compare(a.TenantID, b.TenantID) })
	return out, nil
}

// trim shortens s for an error message (which quotes it with %q).
func trim(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
