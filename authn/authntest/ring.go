package authntest

import "github.com/tenantkit/tenantkit/authn"

// Ring is a fresh assertion key and the key rings of the two sides that
// share it, for authn.NewAssertion.
type Ring struct {
	// Key is the Ed25519 ring key, private part included.
	Key authn.RingKey
	// Signing holds Key: an Assertion on it mints and verifies, as on the
	// sending side.
	Signing *authn.KeyRing
	// Verifying holds only Key's public part: an Assertion on it verifies
	// and cannot mint, as on a receiving side.
	Verifying *authn.KeyRing
}

// GenerateRing generates a ring key with ID kid and its two key rings.
func GenerateRing(kid string) (*Ring, error) {
	k, err := authn.GenerateRingKey(kid)
	if err != nil {
		return nil, err
	}
	signing, err := authn.NewKeyRing(k)
	if err != nil {
		return nil, err
	}
	pub, err := k.PublicOnly()
	if err != nil {
		return nil, err
	}
	verifying, err := authn.NewKeyRing(pub)
	if err != nil {
		return nil, err
	}
	return &Ring{Key: k, Signing: signing, Verifying: verifying}, nil
}

// NewRing returns GenerateRing("ring-1"), failing the test on error.
func NewRing(tb TB) *Ring {
	tb.Helper()
	r, err := GenerateRing("ring-1")
	if err != nil {
		tb.Fatalf("authntest: ring: %v", err)
	}
	return r
}
