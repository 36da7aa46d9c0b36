package directory

// CacheLen returns the number of tenants c holds, for tests.
func CacheLen(c *Cache) int { return c.lc.Len() }
