// Package runtimetest runs the authorizer and the adapters as real Lambda
// functions (the program in ../testfunc) under the AWS Lambda Runtime
// Interface Emulator, which scripts/with-lambda-rie.sh builds and names in
// TENANTKIT_LAMBDA_RIE, and invokes them over HTTP with event JSON of each
// type. It has tests only.
package runtimetest
