package load

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/tenantkit/tenantkit/authn/authntest"
)

// tiers are the three tiers of the load's tenants, given to them in turn:
// the token mix of the microbenchmarks (internal/tenanttest.Mix), so that
// both see the same traffic.
var tiers = []string{"free", "pro", "enterprise"}

// Token is one tenant's bearer token.
type Token struct {
	Tenant string
	Tier   string
	Token  string
}

// TenantID returns the ID of tenant i, as internal/tenanttest.MixID does.
func TenantID(i int) string { return fmt.Sprintf("tenant-%04d", i) }

// TierOf returns the tier of tenant i.
func TierOf(i int) string { return tiers[i%len(tiers)] }

// MintTokens mints one token per tenant (TenantID(i) of tier TierOf(i))
// for n tenants with idp's signing key, valid for an hour.
func MintTokens(idp *authntest.Issuer, n int) []Token {
	toks := make([]Token, n)
	// RSA signing is the slow part: one signer per CPU.
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				id, tier := TenantID(i), TierOf(i)
				toks[i] = Token{Tenant: id, Tier: tier, Token: idp.Token(id, tier)}
			}
		}()
	}
	wg.Wait()
	return toks
}

// WriteTokens writes one line per token: tenant, tier and token separated
// by spaces. The wrk script and the gRPC generator read the last field.
func WriteTokens(path string, toks []Token) error {
	var b strings.Builder
	for _, t := range toks {
		fmt.Fprintf(&b, "%s %s %s\n", t.Tenant, t.Tier, t.Token)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// ReadTokens reads a file written by WriteTokens.
func ReadTokens(path string) ([]Token, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var toks []Token
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 {
			return nil, fmt.Errorf("load: %s: line %d: want tenant, tier and token", path, len(toks)+1)
		}
		toks = append(toks, Token{Tenant: fields[0], Tier: fields[1], Token: fields[2]})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, errors.New("load: " + path + ": no tokens")
	}
	return toks, nil
}
