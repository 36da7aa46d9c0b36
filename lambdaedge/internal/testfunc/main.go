// Command testfunc is the Lambda function the runtime tests run under the
// Runtime Interface Emulator: one binary, whose handler and configuration
// come from the environment.
//
//	TENANTKIT_FN          token | request | http-simple | http-iam | rest | http | alb
//	TENANTKIT_ISSUER_URL  the issuer's URL; its JWKS is at TENANTKIT_JWKS_URL
//	TENANTKIT_JWKS_URL
//	TENANTKIT_AUDIENCE    the accepted audience
//	TENANTKIT_PLAN_KEYS   tier=key,... (authorizers)
//	TENANTKIT_SUSPENDED   tenant IDs the directory holds as suspended (authorizers)
//	TENANTKIT_REVERIFY    1 to verify the token again (adapters)
//
// The adapters' handler answers JSON with the tenant of its context and the
// spoofable headers it could still read.
package main

import (
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tenantkit/tenantkit/authn"
	"github.com/tenantkit/tenantkit/directory"
	"github.com/tenantkit/tenantkit/lambdaedge/authorizer"
	"github.com/tenantkit/tenantkit/lambdaedge/lambdahttp"
	"github.com/tenantkit/tenantkit/tenant"
)

func main() {
	v, err := authn.NewVerifier([]authn.Issuer{{
		URL:       os.Getenv("TENANTKIT_ISSUER_URL"),
		JWKSURL:   os.Getenv("TENANTKIT_JWKS_URL"),
		Audiences: []string{os.Getenv("TENANTKIT_AUDIENCE")},
	}})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	switch fn := os.Getenv("TENANTKIT_FN"); fn {
	case "token", "request", "http-simple", "http-iam":
		a := newAuthorizer(v)
		switch fn {
		case "token":
			lambda.Start(a.Token)
		case "request":
			lambda.Start(a.Request)
		case "http-simple":
			lambda.Start(a.HTTPSimple)
		default:
			lambda.Start(a.HTTPIAM)
		}
	case "rest", "http", "alb":
		var opts []lambdahttp.Option
		if os.Getenv("TENANTKIT_REVERIFY") == "1" {
			opts = append(opts, lambdahttp.WithReverify(v))
		}
		ad, err := lambdahttp.New(http.HandlerFunc(whoami), opts...)
		if err != nil {
			log.Fatal(err)
		}
		switch fn {
		case "rest":
			lambda.Start(ad.RESTProxy)
		case "http":
			lambda.Start(ad.HTTPAPI)
		default:
			lambda.Start(ad.ALB)
		}
	default:
		log.Fatalf("testfunc: unknown TENANTKIT_FN %q", fn)
	}
}

func newAuthorizer(v tenant.TokenVerifier) *authorizer.Authorizer {
	// Every decision is logged, so that the tests can check that no
	// credential reaches the function's output.
	opts := []authorizer.Option{authorizer.WithLogger(slog.New(slog.NewJSONHandler(os.Stderr, nil)))}
	if s := os.Getenv("TENANTKIT_PLAN_KEYS"); s != "" {
		keys := map[string]string{}
		for _, kv := range strings.Split(s, ",") {
			tier, key, _ := strings.Cut(kv, "=")
			keys[tier] = key
		}
		opts = append(opts, authorizer.WithUsagePlanKeys(keys))
	}
	if s := os.Getenv("TENANTKIT_SUSPENDED"); s != "" {
		entries := map[string]directory.Entry{}
		for _, id := range strings.Split(s, ",") {
			entries[id] = directory.Entry{Status: directory.Suspended}
		}
		cache, err := directory.NewCache(directory.NewMemory(entries), directory.WithAdmitUnknown())
		if err != nil {
			log.Fatal(err)
		}
		opts = append(opts, authorizer.WithDirectory(cache))
	}
	a, err := authorizer.New(v, opts...)
	if err != nil {
		log.Fatal(err)
	}
	return a
}

// whoami answers the tenant of the request's context and what the handler
// can still read of the spoofable headers.
func whoami(w http.ResponseWriter, r *http.Request) {
	out := map[string]any{"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery}
	if t, ok := tenant.FromContext(r.Context()); ok {
		out["tenant"], out["tier"], out["issuer"] = t.ID(), t.Tier(), t.Issuer()
	}
	var seen []string
	for k := range r.Header {
		if tenant.IsSpoofable(k) {
			seen = append(seen, k)
		}
	}
	out["spoofable"] = seen
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}
