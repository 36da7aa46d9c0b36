package authn

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Key material is only ever fetched over https, or over plain http from the
// local machine (tests, sidecar issuers): keys fetched in plaintext from
// anywhere else could be replaced in transit, and whoever replaces them can
// mint tokens for every tenant. The rule applies to configured URLs, to the
// jwks_uri a discovery document names and to every redirect.

// ErrFetchRefused is wrapped by the error of a fetch whose URL, or a
// redirect's, breaks the fetch rule: https, or plain http to a loopback
// host, and never user information in the URL.
var ErrFetchRefused = errors.New("tenant: fetch refused")

// HTTPStatusError reports a discovery document or key set request answered
// with a status other than 200 OK.
type HTTPStatusError struct {
	URL        string // the URL requested
	StatusCode int
}

func (e *HTTPStatusError) Error() string {
	return fmt.Sprintf("GET %s: status %d", e.URL, e.StatusCode)
}

// maxRedirects is the redirect bound of net/http's default policy, kept
// when the configured client has no CheckRedirect of its own.
const maxRedirects = 10

// checkFetchURL reports why keys or a discovery document may not be fetched
// from u, or nil if they may. The error names the rule, not the URL.
func checkFetchURL(u *url.URL) error {
	if u.User != nil {
		return refused("URL carries user information")
	}
	switch u.Scheme {
	case "https":
		if u.Hostname() == "" {
			return refused("https URL without a host")
		}
		return nil
	case "http":
		if isLoopbackHost(u.Hostname()) && u.Opaque == "" {
			return nil
		}
		return refused("plain http is allowed only to a loopback host")
	}
	return refused("URL must use https")
}

func refused(why string) error { return fmt.Errorf("%w: %s", ErrFetchRefused, why) }

// checkFetchString is checkFetchURL for a URL not parsed yet.
func checkFetchString(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return refused("not a valid URL")
	}
	return checkFetchURL(u)
}

// isLoopbackHost reports whether host (without port or brackets) is an IP
// address of the loopback network or exactly "localhost" in any letter
// case. Other names, including "localhost." and names under localhost, are
// resolved by DNS and so prove nothing.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host) // dotted decimal or IPv6 only: no "0x7f.1", no zones
	return ip != nil && ip.IsLoopback()
}

// guardClient returns a shallow copy of c whose redirects must pass the
// fetch rule. A CheckRedirect c already had runs after the rule; without
// one, net/http's limit of 10 redirects is kept. c itself is not modified.
func guardClient(c *http.Client) *http.Client {
	guarded := *c
	next := c.CheckRedirect
	guarded.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := checkFetchURL(req.URL); err != nil {
			return fmt.Errorf("redirect: %w", err)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("tenant: stopped after %d redirects", maxRedirects)
		}
		return nil
	}
	return &guarded
}
