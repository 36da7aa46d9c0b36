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

// ScanJSON exposes the scan that bounds a payload before its signature is
// checked, for a differential fuzz test against encoding/json.
func ScanJSON(data []byte, maxDepth int, key string) (depth, members, found int, value string, hasValue bool, err error) {
	sh, err := scanJSON(data, maxDepth, key)
	if sh.value != nil {
		value, hasValue = jsonString(sh.value)
	}
	return sh.depth, sh.members, sh.found, value, hasValue, err
}

// MaxClaimDepth is the nesting bound of claims.
const MaxClaimDepth = maxClaimDepth
