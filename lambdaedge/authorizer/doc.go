// Package authorizer is an API Gateway Lambda authorizer that proves the
// tenant of each caller with tenantkit's verifier (and, when configured,
// API keys and the tenant directory) and answers with the tenant:
// principalId the tenant ID, a context of tenantId and tier, and, for REST
// APIs, the usage plan key of the tenant's tier, so that API Gateway
// throttles and meters each tier by its plan.
//
//	verifier, err := authn.NewVerifier([]authn.Issuer{issuer})
//	if err != nil { ... }
//	a, err := authorizer.New(directory.Verifier(verifier, cache), // or WithDirectory(cache)
//		authorizer.WithUsagePlanKeys(map[string]string{"free": freeKey, "pro": proKey}))
//	if err != nil { ... }
//	lambda.Start(a.Token) // or a.Request, a.HTTPSimple, a.HTTPIAM
//
// The handlers are those of the four authorizer kinds: [Authorizer.Token]
// (REST API, TOKEN), [Authorizer.Request] (REST API, REQUEST),
// [Authorizer.HTTPSimple] and [Authorizer.HTTPIAM] (HTTP API, payload
// format 2.0, simple or IAM policy responses). Credentials are checked by
// the rules of the server middleware (tenant.ExtractAny): a credential
// sent twice, or a token and an API key of different tenants, is refused.
//
// # Answers and caching
//
// API Gateway caches an answer per identity source (the token) for the
// authorizer's TTL and reuses it for every method the caller calls next.
// An Allow policy therefore covers every method and route of the API's
// stage (arn:...:API_ID/STAGE/*, see [MethodARN.StageResource]); a policy
// naming only the method of the first call would answer 403 to the others.
// Refusals: a missing or rejected token is the error "Unauthorized" for
// the TOKEN authorizer (API Gateway answers 401) and an explicit Deny
// (403) for the others; a refused tenant (suspended, offboarded, unknown to
// the directory, a tier without a usage plan key) is a Deny for every
// kind. A check that cannot be made now returns [ErrUnavailable]: API
// Gateway answers 500 and caches nothing, where a cached Deny would lock
// the tenant out for the TTL. Nothing a handler returns or logs contains a
// credential.
//
// Because answers are cached, the TTL bounds how late a suspension or a
// tier change reaches API Gateway, whatever the directory's own bound.
//
// # Credentials in the context
//
// [WithCredentials] adds AWS credentials scoped to the tenant (from
// isolation/vending) to the context, so that the function behind API
// Gateway uses them without calling STS: the pattern of AWS's serverless
// SaaS reference architecture. The credentials are then readable wherever
// $context.authorizer.* is: an access log format that references those
// keys writes them into CloudWatch Logs.
package authorizer
