package tenant

// CacheLen exposes the verified-token cache size to the external tests.
func (v *Verifier) CacheLen() int {
	if v.cache == nil {
		return 0
	}
	return v.cache.len()
}

// IsLoopbackURL exposes the plain-http exception of the fetch rule.
var IsLoopbackURL = isLoopbackURL
