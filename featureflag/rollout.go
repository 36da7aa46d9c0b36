package featureflag

import "hash/fnv"

// Bucket returns the rollout bucket, 0 to 99, of tenantID for flag: a
// stable hash of both, so a percentage rollout ("on for buckets below 20")
// keeps each tenant on the same side as long as the percentage does not
// shrink, and different flags pick different tenants.
func Bucket(flag, tenantID string) int {
	h := fnv.New64a()
	h.Write([]byte(flag))
	h.Write([]byte{0})
	h.Write([]byte(tenantID))
	return int(h.Sum64() % 100)
}
