// Package apikey issues and verifies API keys for machine clients. A key
// acts for one tenant; only a digest of its secret is stored; a Verifier
// implements tenant.TokenVerifier, so that the adapters accept keys as they
// accept JWTs, and the tenant it proves holds nothing that tenant.Relay
// could send on: a request made with a key reaches other services only as
// a signed assertion.
//
// Issuing a key (the returned key is the only copy of its secret):
//
//	store := apikey.NewMemory() // or a DynamoDB store
//	mgr, _ := apikey.NewManager(store)
//	key, rec, err := mgr.Create(ctx, "acme", apikey.CreateOptions{Scopes: []string{"orders:read"}})
//	// hand key to the client; rec.KeyID names it in List, Rotate and Revoke
//
// Accepting keys beside JWTs, as "Authorization: Bearer <key>" and as
// X-API-Key:
//
//	keys, _ := apikey.NewVerifier(store)
//	mw := httpmw.Authenticate(apikey.Dispatch(jwtVerifier, keys),
//		httpmw.WithExtractor(apikey.Header{Verifier: keys}))
//
// (over gRPC: grpcmw.UnaryServerAuthenticate with grpcmw.WithExtractor and
// apikey.Header{Verifier: keys, Name: "x-api-key"}). To apply a tenant
// directory, so that a suspended tenant's keys stop too, wrap the verifiers:
// directory.Verifier(apikey.Dispatch(jwtVerifier, keys), cache), and the
// same for the Header's Verifier.
//
// # Key format
//
// A key is the prefix (default "tk_live"), "_", and 65 base62 characters:
// a 16-character public key ID, a 43-character secret (256 bits from
// crypto/rand) and a 6-digit base62 CRC-32 of everything before it, so that
// a mistyped key is refused without a store lookup and secret scanners can
// confirm a match offline. Scanners match the default prefix with
//
//	\btk_live_[0-9A-Za-z]{65}\b
//
// (ScannerPattern gives it for any prefix). See the constants of key.go for
// the exact grammar.
//
// # Caching and revocation
//
// A Verifier caches verified keys by key ID for a TTL of at most 30 s,
// serves them past it while the store fails (up to WithMaxStale), caches
// unknown IDs (WithNegativeTTL), merges concurrent lookups of one ID, and is
// bounded in size. Revoke and Rotate take effect at once on a Verifier
// whose Invalidate is called (Manager.OnChange locally, a Redis feed such as
// directory/redisfeed fleet-wide, within its delivery time), and otherwise
// within the TTL. Expiry is checked on every request.
//
// # Limits
//
// A key's requests run as its tenant: rate limits keyed by the tenant are
// shared by all of its keys, so minting keys does not multiply them. The
// key ID is the Tenant's Subject, for a per-key limit inside the tenant's.
package apikey
