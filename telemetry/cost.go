package telemetry

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// ErrInvalidCostModel reports a [CostModel] or usage that [AttributeCost]
// cannot work with: a negative amount or usage, a weight that is negative,
// NaN or infinite, no positive weight, or a tenant listed twice.
var ErrInvalidCostModel = errors.New("telemetry: invalid cost model or usage")

// Cents is an amount of money in cents (hundredths of the currency unit).
// Cost attribution works in integer cents so that its results add up exactly
// and are the same on every platform.
type Cents int64

// String formats c as dollars with two decimals: "$1234.56", "-$241.00".
func (c Cents) String() string {
	sign := ""
	u := uint64(c)
	if c < 0 {
		sign, u = "-", uint64(-c)
	}
	frac := strconv.FormatUint(u%100, 10)
	if len(frac) == 1 {
		frac = "0" + frac
	}
	return sign + "$" + strconv.FormatUint(u/100, 10) + "." + frac
}

// Weights are the relative shares of the infrastructure cost that each usage
// dimension accounts for. Only ratios matter: {4, 4, 1, 1} and
// {0.4, 0.4, 0.1, 0.1} split the same way. A dimension that no tenant used
// in the period drops out, and the others share its weight in proportion.
type Weights struct {
	Requests    float64
	HandlerTime float64
	BytesIn     float64
	BytesOut    float64
}

// CostModel is the input of [AttributeCost] for one period.
type CostModel struct {
	// Cost is the period's infrastructure cost to split across tenants.
	Cost Cents
	// Weights split Cost into one pool per usage dimension.
	Weights Weights
	// Prices maps a tier to what one tenant of that tier pays for the same
	// period. A tenant whose tier has no price pays 0 (TenantCost.Priced is
	// false).
	Prices map[string]Cents
}

// TenantCost is one tenant's share of a period's cost.
type TenantCost struct {
	TenantUsage
	Cost   Cents // attributed infrastructure cost
	Price  Cents // what the tenant pays for the period
	Margin Cents // Price - Cost
	Priced bool  // whether the tenant's tier has a price in the model
	// OverCost flags a tenant whose attributed cost exceeds what it pays
	// (a negative margin).
	OverCost bool
}

// CostReport is the result of [AttributeCost].
type CostReport struct {
	Cost Cents // the period's cost, as given
	// Unattributed is the part of Cost no tenant used: all of it when the
	// usage is empty or every weighted dimension is zero, else 0.
	Unattributed Cents
	Tenants      []TenantCost // sorted by TenantID
}

// AttributeCost splits a period's infrastructure cost across tenants by
// usage, and compares each tenant's share with its tier's price.
//
// Each usage dimension d gets the pool Cost × w(d) / Σw (summing over the
// dimensions some tenant used), and a tenant gets from each pool its share
// of that dimension's total usage. The sums are computed exactly, in
// rational numbers (float weights are taken at their exact binary value),
// and rounded to cents by the largest-remainder method: every tenant gets the
// floor of its exact share, and the cents left over go one each to the
// tenants with the largest remainders, ties to the lower tenant ID. The
// attributed costs therefore add up to Cost exactly, and the result does not
// depend on the order of usage or on the platform.
//
// The overflow row ([OverflowTenantID]) takes part like a tenant, so that
// the folded tenants' cost is not spread over the others.
func AttributeCost(usage []TenantUsage, m CostModel) (CostReport, error) {
	if m.Cost < 0 {
		return CostReport{}, fmt.Errorf("%w: negative cost", ErrInvalidCostModel)
	}
	for tier, p := range m.Prices {
		if p < 0 {
			return CostReport{}, fmt.Errorf("%w: negative price for tier %q", ErrInvalidCostModel, tier)
		}
	}
	weights := [4]float64{m.Weights.Requests, m.Weights.HandlerTime, m.Weights.BytesIn, m.Weights.BytesOut}
	anyWeight := false
	for _, w := range weights {
		if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			return CostReport{}, fmt.Errorf("%w: weight %v", ErrInvalidCostModel, w)
		}
		anyWeight = anyWeight || w > 0
	}
	if !anyWeight {
		return CostReport{}, fmt.Errorf("%w: no positive weight", ErrInvalidCostModel)
	}

	rows := slices.Clone(usage)
	slices.SortFunc(rows, func(a, b TenantUsage) int { return strings.Compare(a.TenantID, b.TenantID) })
	dims := func(u TenantUsage) [4]int64 {
		return [4]int64{u.Requests, int64(u.HandlerTime), u.BytesIn, u.BytesOut}
	}
	var totals [4]big.Int
	for i, u := range rows {
		if i > 0 && rows[i-1].TenantID == u.TenantID {
			return CostReport{}, fmt.Errorf("%w: tenant %q listed twice", ErrInvalidCostModel, u.TenantID)
		}
		for d, v := range dims(u) {
			if v < 0 {
				return CostReport{}, fmt.Errorf("%w: negative usage for tenant %q", ErrInvalidCostModel, u.TenantID)
			}
			totals[d].Add(&totals[d], big.NewInt(v))
		}
	}

	// pool[d] = Cost × w(d) / Σw over the dimensions with usage, exactly.
	var pools [4]*big.Rat
	var wsum big.Rat
	for d, w := range weights {
		if w > 0 && totals[d].Sign() > 0 {
			wsum.Add(&wsum, new(big.Rat).SetFloat64(w))
		}
	}
	report := CostReport{Cost: m.Cost, Tenants: make([]TenantCost, len(rows))}
	if wsum.Sign() == 0 {
		report.Unattributed = m.Cost
	} else {
		cost := new(big.Rat).SetInt64(int64(m.Cost))
		for d, w := range weights {
			if w > 0 && totals[d].Sign() > 0 {
				p := new(big.Rat).SetFloat64(w)
				p.Mul(p, cost).Quo(p, &wsum)
				pools[d] = p.Quo(p, new(big.Rat).SetInt(&totals[d])) // cost per unit of d
			}
		}
	}

	type rem struct {
		i int
		r *big.Rat // remainder in [0, 1) cents
	}
	rems := make([]rem, 0, len(rows))
	var floored int64
	for i, u := range rows {
		tc := TenantCost{TenantUsage: u}
		if wsum.Sign() != 0 {
			exact := new(big.Rat)
			var term big.Rat
			for d, v := range dims(u) {
				if pools[d] != nil && v > 0 {
					exact.Add(exact, term.Mul(pools[d], new(big.Rat).SetInt64(v)))
				}
			}
			q, r := new(big.Int).QuoRem(exact.Num(), exact.Denom(), new(big.Int))
			tc.Cost = Cents(q.Int64()) // exact ≥ 0, so QuoRem's truncation is the floor
			floored += q.Int64()
			rems = append(rems, rem{i, new(big.Rat).SetFrac(r, exact.Denom())})
		}
		report.Tenants[i] = tc
	}
	if wsum.Sign() != 0 {
		// Largest remainder, ties to the lower tenant ID (rows are sorted
		// and the sort is stable).
		slices.SortStableFunc(rems, func(a, b rem) int { return b.r.Cmp(a.r) })
		for k := int64(0); k < int64(m.Cost)-floored && k < int64(len(rems)); k++ {
			report.Tenants[rems[k].i].Cost++
		}
	}
	for i := range report.Tenants {
		tc := &report.Tenants[i]
		tc.Price, tc.Priced = m.Prices[tc.Tier]
		tc.Margin = tc.Price - tc.Cost
		tc.OverCost = tc.Cost > tc.Price
	}
	return report, nil
}
