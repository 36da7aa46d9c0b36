package authn

import "net/url"

// CacheLen exposes the verified-token cache size to the external tests.
func (v *Verifier) CacheLen() int {
	if v.cache == nil {
		return 0
	}
	return v.cache.len()
}

// IsLoopbackURL reports whether raw is a plain http URL that the fetch rule
// admits: the plain-http exception, whose host is parsed, not matched as a
// prefix, so that "http://127.evil.com" or "http://127.0.0.1@evil.com" do
// not qualify.
func IsLoopbackURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "http" && checkFetchURL(u) == nil
}

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
