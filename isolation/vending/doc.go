// Package vending is the token vending machine: it gives each request AWS
// credentials that can reach only its tenant's resources, so that a bug in
// application code still cannot read another tenant's DynamoDB items, S3
// objects or KMS keys.
//
//	vendor, err := vending.New(sts.NewFromConfig(awsCfg), resolver)
//	if err != nil { ... }
//	// In a handler, under the tenant the middleware verified:
//	creds, err := vendor.Credentials(r.Context(), isolation.Table)
//	if err != nil { ... }
//	out, err := db.GetItem(r.Context(), in, func(o *dynamodb.Options) { o.Credentials = creds })
//
// For a pooled resource the Vendor assumes the shared role with a session
// policy rendered for the tenant; for a siloed one it assumes the tenant's
// own role. Every session carries the tags TenantID and Tier (for ABAC) and
// a RoleSessionName derived from the tenant. Credentials are cached per
// tenant within a bounded cache, the first requests of a tenant share one
// STS call, and credentials refresh before they expire. Credentials vended
// for one tenant are never handed out under another tenant's context
// (ErrTenantMismatch). STS failures are *STSError values that match
// ErrThrottled, isolation.ErrPolicyTooLarge, ErrAccessDenied or
// ErrExpiredToken.
//
// Package vendingtest serves the STS Query protocol on loopback for tests.
package vending
