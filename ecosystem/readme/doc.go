// Package readmetest checks that the Go snippets of the repository's
// README.md compile against the current API.
//
// It lives in the ecosystem module because the snippets use chi,
// go-grpc-middleware and the OpenTelemetry SDK.
package readme
