// Package benchmarks compares tenantkit with peer libraries. It is a
// separate module so that the peers never become dependencies of
// tenantkit's users.
package benchmarks

import (
	_ "github.com/MicahParks/keyfunc/v3"
	_ "github.com/auth0/go-jwt-middleware/v2"
	_ "github.com/go-chi/httprate"
	_ "github.com/go-redis/redis_rate/v10"
	_ "github.com/sethvargo/go-limiter"
	_ "github.com/tenantkit/tenantkit/tenant"
	_ "github.com/ulule/limiter/v3"
)
