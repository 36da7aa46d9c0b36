package httpmw

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tenantkit/tenantkit/internal/outcome"
)

// problem is an RFC 9457 problem details object, the body of every error
// response the middleware writes (Content-Type application/problem+json).
// Extension members a middleware adds (for example the violated rate-limit
// policy) go in Extensions and are written at the top level of the object.
type problem struct {
	Type       string         // URI reference naming the problem type; "about:blank" when empty
	Title      string         // short, fixed summary of the problem type
	Status     int            // HTTP status code
	Detail     string         // explanation of this occurrence; never contains a credential
	Extensions map[string]any // extra top-level members
}

// MarshalJSON writes the problem as one flat JSON object.
func (p problem) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, 4+len(p.Extensions))
	for k, v := range p.Extensions {
		m[k] = v
	}
	typ := p.Type
	if typ == "" {
		typ = "about:blank"
	}
	m["type"] = typ
	m["title"] = p.Title
	m["status"] = p.Status
	if p.Detail != "" {
		m["detail"] = p.Detail
	}
	return json.Marshal(m)
}

// writeProblem writes p as the whole response. Headers the caller set on w
// before (WWW-Authenticate, Retry-After, RateLimit fields) are kept.
func writeProblem(w http.ResponseWriter, p problem) {
	body, err := json.Marshal(p)
	if err != nil {
		// Only an unmarshalable extension can get here; drop the extensions
		// rather than send an empty body.
		p.Extensions = nil
		body, _ = json.Marshal(p)
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_, _ = w.Write(body)
}

// statusClientClosedRequest is the status written when the client gave up
// (outcome.Canceled). No standard status says "the client is gone"; 499 is
// nginx's, which log pipelines and dashboards already know, and it is a 4xx,
// so Telemetry counts it as client_error and not as a server failure.
// Nothing is left to read the response, but net/http would answer 200 to a
// handler that writes nothing, so something must be written. 408 would be
// wrong: it tells clients the server timed out waiting for the request,
// and some retry it on their own.
const statusClientClosedRequest = 499

// httpStatus is the HTTP status of each outcome kind. A passed deadline is
// 504 Gateway Timeout: the request ran out of time waiting for something
// upstream (a key fetch, the limiter), which is a server-side failure,
// unlike 503, which says a dependency is down and comes with Retry-After.
func httpStatus(k outcome.Kind) int {
	switch k {
	case outcome.OK:
		return http.StatusOK
	case outcome.Unauthenticated:
		return http.StatusUnauthorized
	case outcome.Forbidden:
		return http.StatusForbidden
	case outcome.Unavailable:
		return http.StatusServiceUnavailable
	case outcome.Canceled:
		return statusClientClosedRequest
	case outcome.Deadline:
		return http.StatusGatewayTimeout
	case outcome.Rate, outcome.Quota, outcome.InFlight:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// writeOutcome writes the response of o, a refusal: its status, the
// WWW-Authenticate challenge (with realm, if set) of a 401, Retry-After,
// and a problem body. A denial by a limit names its policy and reason in
// the body.
func writeOutcome(w http.ResponseWriter, o outcome.Outcome, realm string) {
	status := httpStatus(o.Kind)
	h := w.Header()
	p := problem{Title: http.StatusText(status), Status: status, Detail: o.Message}
	switch o.Kind {
	case outcome.Canceled:
		p.Title = "Client Closed Request"
	case outcome.Forbidden:
		if o.Reason != "" {
			// Which refusal it is, for clients that act on it (a
			// suspended tenant may come back; an offboarded one not).
			p.Type = outcome.ProblemTypePrefix + o.Reason
			p.Extensions = map[string]any{"reason": o.Reason}
		}
	case outcome.Unauthenticated:
		if o.Missing {
			// RFC 6750 section 3.1: no error code when no credentials were sent.
			h.Set("WWW-Authenticate", challenge(realm, "", ""))
		} else {
			h.Set("WWW-Authenticate", challenge(realm, "invalid_token", o.Message))
		}
	case outcome.Unavailable:
		h.Set("Retry-After", retryAfterSeconds(o.RetryAfter))
	case outcome.Rate, outcome.Quota, outcome.InFlight:
		h.Set("Retry-After", retryAfterSeconds(o.RetryAfter))
		p.Extensions = map[string]any{
			"policy":      o.Policy,
			"reason":      o.Kind.String(),
			"retry_after": max(1, ceilSeconds(o.RetryAfter)),
		}
	}
	writeProblem(w, p)
}

// challenge builds a Bearer challenge. Values are fixed strings of ours, but
// quotes and backslashes are escaped anyway so a future reason text cannot
// break the header's syntax.
func challenge(realm, code, desc string) string {
	var b strings.Builder
	b.WriteString("Bearer")
	sep := " "
	param := func(name, value string) {
		b.WriteString(sep)
		b.WriteString(name)
		b.WriteString(`="`)
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(value))
		b.WriteString(`"`)
		sep = ", "
	}
	if realm != "" {
		param("realm", realm)
	}
	if code != "" {
		param("error", code)
		param("error_description", desc)
	}
	return b.String()
}

func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// retryAfterSeconds formats d as Retry-After delta seconds, at least 1.
func retryAfterSeconds(d time.Duration) string {
	return strconv.FormatInt(max(1, ceilSeconds(d)), 10)
}
