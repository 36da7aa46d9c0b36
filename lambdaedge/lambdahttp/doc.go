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
// The handler gets the request net/http's server would have made of the
// same HTTP request. Paths are read as percent-encoded, as REST APIs and
// ALBs pass them; HTTP APIs pass rawPath decoded, so a byte that cannot
// stand in an encoded path (such as a space, '%', '?' or '#') is escaped
// first, and URL.Path is always the decoded path. The query is the raw one
// of HTTP API and ALB events, and for REST APIs the decoded parameters
// encoded again. Host moves from the headers to Request.Host, and
// RemoteAddr is the source IP of API Gateway's requestContext, or for an
// ALB the last entry of X-Forwarded-For, the one the load balancer added.
// The single- and multi-value headers of an event are merged, keeping both
// values where they differ (a credential sent twice is then refused, not
// chosen).
//
// Responses use multiValueHeaders for REST APIs, comma-joined headers and
// the cookies list for HTTP APIs, and for an ALB whichever form the
// request used (with single-value headers an ALB response carries only the
// first Set-Cookie). A 1xx status is dropped; the first final status
// counts, 200 if the handler sets none. The body is sent as text when its
// Content-Type (detected if unset) is text/*, application/json,
// application/xml, application/javascript,
// application/x-www-form-urlencoded or any +json or +xml type, and it is
// valid UTF-8; any other body is base64-encoded (a REST API passes it on
// as binary only for the API's binary media types).
//
// The handler reads the event's requestContext with [RESTRequestContext],
// [HTTPAPIRequestContext] or [ALBRequestContext], and the Lambda context
// with lambdacontext.FromContext.
package lambdahttp
