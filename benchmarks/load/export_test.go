package load

// IsHandler and IsMiddleware expose the profile's frame classes to the
// tests.
var (
	IsHandler    = isHandler
	IsMiddleware = isMiddleware
)
