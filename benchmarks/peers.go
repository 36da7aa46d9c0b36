package benchmarks

// The peers measured in this module, imported here so that their versions
// stay pinned in go.mod whichever benchmark files exist.
import (
	_ "github.com/MicahParks/keyfunc/v3"
	_ "github.com/auth0/go-jwt-middleware/v2"
	_ "github.com/go-chi/httprate"
	_ "github.com/go-redis/redis_rate/v10"
	_ "github.com/sethvargo/go-limiter"
	_ "github.com/ulule/limiter/v3"
)
