// Package dynamostore keeps tenantkit's tenant directory and API-key store
// in DynamoDB: a [Directory] ([directory.Directory]) that reads the tenant
// items a control plane writes, and a [KeyStore] ([apikey.Store]) on the
// same table. It is a module of its own, so that the AWS SDK's DynamoDB
// client enters only the module graph of a service that imports it.
//
// The common case, with a client from the service's AWS config:
//
//	client := dynamodb.NewFromConfig(cfg)
//	dir, err := dynamostore.NewDirectory(client, "tenants")
//	if err != nil { ... }
//	cache, err := directory.NewCache(dir) // TTL, stale-on-error, merged misses
//	if err != nil { ... }
//	verifier := directory.Verifier(jwtVerifier, cache)
//
//	keys, err := dynamostore.NewKeyStore(client, "tenants")
//	if err != nil { ... }
//	apiKeys, err := apikey.NewVerifier(keys)
//
// # Table layout
//
// One table, with a string partition key "pk" and a string sort key "sk"
// (names set with [WithPartitionKey] and [WithSortKey]), and a global
// secondary index "gsi1" on the strings "gsi1pk" and "gsi1sk" that lists a
// tenant's keys ([WithKeyIndex]; projection ALL):
//
//	item     pk             sk       other attributes
//	tenant   TENANT#<id>    TENANT   status, tier, plan (written by the control plane)
//	API key  KEY#<key ID>   KEY      gsi1pk = TENANT#<tenant ID>, gsi1sk = KEY#<key ID>,
//	                                 keyId, tenantId, hash (B), version (N),
//	                                 tier, scopes (L of S), createdAt, expiresAt,
//	                                 revokedAt (RFC 3339 strings, UTC), successor
//
// The tenant item is the control plane's: the Directory reads only its
// status, tier and plan attributes (names set with [WithStatusAttribute],
// [WithTierAttribute], [WithPlanAttribute]) and ignores the rest. Status is
// a string, "active", "suspended" or "offboarded" (or upper case; another
// spelling is set with [WithStatusValues]); any other value, a missing
// status or a tier or plan that is not a valid tier name makes Lookup fail
// with [ErrMalformedItem]: a tenant whose status cannot be read is never
// active. A control plane's table keyed by the bare tenant ID is read with
// WithPartitionKey("tenantId"), WithSortKey("") and WithTenantKey("", "").
//
// A key item holds no secret, only its digest. Put writes on the condition
// attribute_not_exists(pk), so it never replaces a key ID; Update reads
// consistently and writes on the condition that version is still the one it
// read, and tries again when another writer got there first. List queries
// gsi1, which DynamoDB keeps eventually consistent: a key created a moment
// ago may be missing from it (never from Get). Key IDs and tenant IDs are
// written as they are; [tenant.ValidateID] keeps "#" out of tenant IDs, so
// no prefix of one tenant's keys is another's.
//
// # Errors
//
// A missing tenant is [directory.ErrNotFound] and a missing key
// [apikey.ErrNotFound]. DynamoDB not answering (a network failure,
// throttling, a server error, a missing table) is an error wrapping
// [ErrUnavailable] and [tenant.ErrUnavailable] and the SDK's error
// ([Throttled] tells throttling apart), which a [directory.Cache] and an
// apikey Verifier treat as the store being unavailable: stale answers up to
// their bound, then 503. A done context is the context's error.
//
// The SDK's retryer retries throttled and failed requests before the error
// reaches this package; a directory.Cache bounds each lookup with its own
// timeout.
package dynamostore
