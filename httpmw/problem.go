package httpmw

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Problem is an RFC 9457 problem details object, the body of every error
// response the middleware writes (Content-Type application/problem+json).
// Extension members a middleware adds (for example the violated rate-limit
// policy) go in Extensions and are written at the top level of the object.
type Problem struct {
	Type       string         // URI reference naming the problem type; "about:blank" when empty
	Title      string         // short, fixed summary of the problem type
	Status     int            // HTTP status code
	Detail     string         // explanation of this occurrence; never contains a credential
	Extensions map[string]any // extra top-level members
}

// MarshalJSON writes the problem as one flat JSON object.
func (p Problem) MarshalJSON() ([]byte, error) {
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
func writeProblem(w http.ResponseWriter, p Problem) {
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
