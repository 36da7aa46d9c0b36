// Package lambdahttp runs an http.Handler chain, tenantkit's middleware
// included, as a Lambda function behind API Gateway (REST API proxy
// integrations, payload format 1.0; HTTP APIs, payload format 2.0) or an
// Application Load Balancer, with the tenant of the request in its context
// (tenant.FromContext):
//
//	a, err := lambdahttp.New(httpmw.RateLimit(limiter, plans)(mux))
//	if err != nil { ... }
//	lambda.Start(a.RESTProxy) // or a.HTTPAPI, a.ALB
//
// # Where the tenant comes from
//
// By default the tenant is the one tenantkit's authorizer (package
// authorizer) proved: API Gateway passes its answer to the function as the
// authorizer context, and the adapter makes it a verified Tenant (Issuer
// [ProofIssuer]). That context is only as trustworthy as the function's
// invokers: whoever may call lambda:InvokeFunction can send an event with
// any authorizer context. Trust it only when API Gateway is the function's
// sole invoker (its resource-based policy names only the API's
// execute-api ARN). A request without such a context, every ALB request
// among them, is answered 401, and spoofable tenant headers
// (tenant.SpoofableNames, Tenant-Assertion) are removed before the handler
// runs whatever the mode.
//
// Otherwise use [WithReverify]: the adapter ignores the authorizer context
// and verifies the request's bearer token again through
// httpmw.Authenticate, with its rules and responses; with the verified-
// token cache of authn.Verifier that costs a map lookup per warm request.
//
// The Tenant of an authorizer context holds no token, so tenant.Relay
// sends none on: calls to other services carry the tenant as a signed
// assertion (authn.Assertion). The authorizer's cache TTL bounds how late
// a suspension reaches the function in the trusting mode.
//
// # Events
//
// REST API events arrive with the path and query decoded; HTTP API events
// with the raw path and query; ALB events with the query as received. The
// single- and multi-value headers of an event are merged, keeping both
// values where they differ (a credential sent twice is then refused, not
// chosen). Responses use multiValueHeaders for REST APIs, comma-joined
// headers and cookies for HTTP APIs, and for an ALB whichever form the
// request used; a body that is not text is base64-encoded. The handler
// reads the event's requestContext with [RESTRequestContext],
// [HTTPAPIRequestContext] or [ALBRequestContext], and the Lambda context
// with lambdacontext.FromContext.
package lambdahttp
