// Package apikey issues and verifies API keys for machine clients: a key
// acts for one tenant, only a hash of its secret is stored, and a Verifier
// implements tenant.TokenVerifier so that the adapters accept keys as they
// accept JWTs.
package apikey
