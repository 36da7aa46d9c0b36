package telemetry_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/tenantkit/tenantkit/telemetry"
)

const mb = 1_000_000

// TestAttributeCostWorkedExample checks a month of three tenants against
// numbers worked out by hand.
//
// The month's infrastructure cost is $1,000.00, split by weights 4:4:1:1:
//
//	requests      4/10 × $1,000 = $400   over 10,000 requests
//	handler time  4/10 × $1,000 = $400   over 1,000 s
//	bytes in      1/10 × $1,000 = $100   over 1,000 MB
//	bytes out     1/10 × $1,000 = $100   over 10,000 MB
//
// bigco (enterprise, pays $2,000):
//
//	requests 5,000/10,000 = 50% of $400 = $200
//	handler  500/1,000 s  = 50% of $400 = $200
//	in       500/1,000 MB = 50% of $100 = $50
//	out      5,000/10,000 = 50% of $100 = $50
//	cost $500, margin $2,000 - $500 = +$1,500
//
// hungry (basic, pays $99):
//
//	requests 2,500/10,000 = 25% of $400 = $100
//	handler  400/1,000 s  = 40% of $400 = $160
//	in       400/1,000 MB = 40% of $100 = $40
//	out      4,000/10,000 = 40% of $100 = $40
//	cost $340, margin $99 - $340 = -$241: costs more than it pays
//
// mid (pro, pays $499):
//
//	requests 2,500/10,000 = 25% of $400 = $100
//	handler  100/1,000 s  = 10% of $400 = $40
//	in       100/1,000 MB = 10% of $100 = $10
//	out      1,000/10,000 = 10% of $100 = $10
//	cost $160, margin $499 - $160 = +$339
//
// Check: $500 + $340 + $160 = $1,000.
func TestAttributeCostWorkedExample(t *testing.T) {
	usage := []telemetry.TenantUsage{
		// Out of order on purpose: the report is sorted by tenant ID.
		{TenantID: "mid", Tier: "pro", Requests: 2500, HandlerTime: 100 * time.Second, BytesIn: 100 * mb, BytesOut: 1000 * mb},
		{TenantID: "hungry", Tier: "basic", Requests: 2500, HandlerTime: 400 * time.Second, BytesIn: 400 * mb, BytesOut: 4000 * mb},
		{TenantID: "bigco", Tier: "enterprise", Requests: 5000, HandlerTime: 500 * time.Second, BytesIn: 500 * mb, BytesOut: 5000 * mb},
	}
	model := telemetry.CostModel{
		Cost:    100_000, // $1,000.00
		Weights: telemetry.Weights{Requests: 4, HandlerTime: 4, BytesIn: 1, BytesOut: 1},
		Prices:  map[string]telemetry.Cents{"basic": 9_900, "pro": 49_900, "enterprise": 200_000},
	}
	r, err := telemetry.AttributeCost(usage, model)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id                  string
		cost, price, margin telemetry.Cents
		overCost            bool
	}{
		{"bigco", 50_000, 200_000, 150_000, false},
		{"hungry", 34_000, 9_900, -24_100, true},
		{"mid", 16_000, 49_900, 33_900, false},
	}
	if len(r.Tenants) != len(want) || r.Cost != 100_000 || r.Unattributed != 0 {
		t.Fatalf("report %+v", r)
	}
	for i, w := range want {
		g := r.Tenants[i]
		if g.TenantID != w.id || g.Cost != w.cost || g.Price != w.price || g.Margin != w.margin || g.OverCost != w.overCost || !g.Priced {
			t.Errorf("row %d = %s cost %v price %v margin %v over %v priced %v, want %+v",
				i, g.TenantID, g.Cost, g.Price, g.Margin, g.OverCost, g.Priced, w)
		}
	}
	if s := r.Tenants[1].Margin.String(); s != "-$241.00" {
		t.Errorf("margin prints %q", s)
	}
	// The same weights as fractions split the same way.
	model.Weights = telemetry.Weights{Requests: 0.4, HandlerTime: 0.4, BytesIn: 0.1, BytesOut: 0.1}
	r2, err := telemetry.AttributeCost(usage, model)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if r2.Tenants[i].Cost != want[i].cost {
			t.Errorf("fractional weights: %s cost %v", r2.Tenants[i].TenantID, r2.Tenants[i].Cost)
		}
	}
}

// TestAttributeCostRounding: $1.00 over three equal tenants is 33⅓ cents
// each; the floors (33 × 3 = 99) leave one cent, which goes to the lowest
// tenant ID among the equal remainders. A dimension nobody used (bytes)
// drops out and requests take its weight.
func TestAttributeCostRounding(t *testing.T) {
	usage := []telemetry.TenantUsage{
		{TenantID: "c", Requests: 1},
		{TenantID: "a", Requests: 1},
		{TenantID: "b", Requests: 1},
	}
	r, err := telemetry.AttributeCost(usage, telemetry.CostModel{Cost: 100, Weights: telemetry.Weights{Requests: 1, BytesOut: 3}})
	if err != nil {
		t.Fatal(err)
	}
	got := []telemetry.Cents{r.Tenants[0].Cost, r.Tenants[1].Cost, r.Tenants[2].Cost}
	if got[0] != 34 || got[1] != 33 || got[2] != 33 {
		t.Errorf("costs = %v, want [34 33 33]", got)
	}
	// Unpriced tenants pay nothing, so any cost is over what they pay.
	if r.Tenants[0].Priced || !r.Tenants[0].OverCost || r.Tenants[0].Margin != -34 {
		t.Errorf("unpriced row = %+v", r.Tenants[0])
	}

	// 2 cents over weights 1:1 where a has all requests and b all handler
	// time, c nothing: a and b get 1 cent each, c none.
	r, err = telemetry.AttributeCost([]telemetry.TenantUsage{
		{TenantID: "a", Requests: 7},
		{TenantID: "b", HandlerTime: 3},
		{TenantID: "c"},
	}, telemetry.CostModel{Cost: 2, Weights: telemetry.Weights{Requests: 1, HandlerTime: 1}})
	if err != nil || r.Tenants[0].Cost != 1 || r.Tenants[1].Cost != 1 || r.Tenants[2].Cost != 0 {
		t.Errorf("r = %+v, %v", r, err)
	}
}

func TestAttributeCostLargest(t *testing.T) {
	// $10.00 by requests 1:2:4: exact 142.857, 285.714, 571.428 cents;
	// floors 142 + 285 + 571 = 998; the two cents left go to the largest
	// remainders, .857 (x) and .714 (y): 143, 286, 571.
	r, err := telemetry.AttributeCost([]telemetry.TenantUsage{
		{TenantID: "x", Requests: 1}, {TenantID: "y", Requests: 2}, {TenantID: "z", Requests: 4},
	}, telemetry.CostModel{Cost: 1000, Weights: telemetry.Weights{Requests: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if c := []telemetry.Cents{r.Tenants[0].Cost, r.Tenants[1].Cost, r.Tenants[2].Cost}; c[0] != 143 || c[1] != 286 || c[2] != 571 {
		t.Errorf("costs = %v", c)
	}
}

func TestAttributeCostEmpty(t *testing.T) {
	r, err := telemetry.AttributeCost(nil, telemetry.CostModel{Cost: 500, Weights: telemetry.Weights{Requests: 1}})
	if err != nil || r.Unattributed != 500 || len(r.Tenants) != 0 {
		t.Errorf("%+v %v", r, err)
	}
	r, err = telemetry.AttributeCost([]telemetry.TenantUsage{{TenantID: "a", BytesIn: 5}}, telemetry.CostModel{Cost: 500, Weights: telemetry.Weights{Requests: 1}})
	if err != nil || r.Unattributed != 500 || r.Tenants[0].Cost != 0 {
		t.Errorf("%+v %v", r, err)
	}
}

func TestAttributeCostInvalid(t *testing.T) {
	ok := telemetry.Weights{Requests: 1}
	for name, tc := range map[string]struct {
		usage []telemetry.TenantUsage
		model telemetry.CostModel
	}{
		"negative cost":   {nil, telemetry.CostModel{Cost: -1, Weights: ok}},
		"no weight":       {nil, telemetry.CostModel{Cost: 1}},
		"negative weight": {nil, telemetry.CostModel{Cost: 1, Weights: telemetry.Weights{Requests: 1, BytesIn: -1}}},
		"NaN weight":      {nil, telemetry.CostModel{Cost: 1, Weights: telemetry.Weights{Requests: math.NaN()}}},
		"inf weight":      {nil, telemetry.CostModel{Cost: 1, Weights: telemetry.Weights{Requests: math.Inf(1)}}},
		"negative price":  {nil, telemetry.CostModel{Cost: 1, Weights: ok, Prices: map[string]telemetry.Cents{"x": -1}}},
		"negative usage":  {[]telemetry.TenantUsage{{TenantID: "a", Requests: -1}}, telemetry.CostModel{Cost: 1, Weights: ok}},
		"duplicate":       {[]telemetry.TenantUsage{{TenantID: "a"}, {TenantID: "a"}}, telemetry.CostModel{Cost: 1, Weights: ok}},
	} {
		if _, err := telemetry.AttributeCost(tc.usage, tc.model); !errors.Is(err, telemetry.ErrInvalidCostModel) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestCentsString(t *testing.T) {
	for c, want := range map[telemetry.Cents]string{0: "$0.00", 5: "$0.05", 9_900: "$99.00", 34_012: "$340.12", -24_100: "-$241.00", math.MinInt64: "-$92233720368547758.08"} {
		if got := c.String(); got != want {
			t.Errorf("%d: %q, want %q", int64(c), got, want)
		}
	}
}
