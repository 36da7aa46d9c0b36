package authorizer

import (
	"fmt"
	"strings"
)

// MethodARN is a parsed execute-api ARN, the methodArn of a REST API
// authorizer request or the routeArn of an HTTP API one:
//
//	arn:PARTITION:execute-api:REGION:ACCOUNT:API_ID/STAGE/METHOD/RESOURCE_PATH
type MethodARN struct {
	Partition string // "aws", "aws-cn", "aws-us-gov", ...
	Region    string
	Account   string // 12 digits
	APIID     string
	Stage     string
	Method    string // "GET", ..., "*", or "$default" for an HTTP API's default route
	Path      string // what follows the method: empty, or a path starting with a slash
}

// Limits of the parts, from API Gateway's naming rules, with room to spare.
const (
	maxARNLen     = 2048
	maxStageLen   = 128
	maxAPIIDLen   = 64
	maxRegionLen  = 32
	maxPartLen    = 32
	accountDigits = 12
)

// ParseMethodARN parses s strictly: every part must be present and well
// formed, and no part may hold an IAM wildcard ('*' or '?') except a
// method of "*". The error wraps [ErrMethodARN] and quotes no more than
// the name of the part that failed.
func ParseMethodARN(s string) (MethodARN, error) {
	var m MethodARN
	if len(s) > maxARNLen {
		return m, arnErr("too long")
	}
	// arn:PARTITION:execute-api:REGION:ACCOUNT:RESOURCE, cut without
	// allocating: every field is a substring of s.
	rest, ok := strings.CutPrefix(s, "arn:")
	if !ok {
		return m, arnErr("not an execute-api ARN")
	}
	var service string
	m.Partition, rest, _ = strings.Cut(rest, ":")
	service, rest, _ = strings.Cut(rest, ":")
	m.Region, rest, _ = strings.Cut(rest, ":")
	m.Account, rest, ok = strings.Cut(rest, ":")
	if !ok || service != "execute-api" {
		return m, arnErr("not an execute-api ARN")
	}
	if !lowerWord(m.Partition, maxPartLen) {
		return m, arnErr("partition")
	}
	if !lowerWord(m.Region, maxRegionLen) {
		return m, arnErr("region")
	}
	if len(m.Account) != accountDigits || !allDigits(m.Account) {
		return m, arnErr("account")
	}
	// API_ID/STAGE/METHOD[/PATH]; the path may itself hold slashes.
	var hasMethod bool
	m.APIID, rest, _ = strings.Cut(rest, "/")
	m.Stage, rest, hasMethod = strings.Cut(rest, "/")
	if !hasMethod {
		return m, arnErr("resource")
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		m.Method, m.Path = rest[:i], rest[i:]
	} else {
		m.Method = rest
	}
	if !alnum(m.APIID, maxAPIIDLen) {
		return m, arnErr("API ID")
	}
	if !stageName(m.Stage) {
		return m, arnErr("stage")
	}
	if !method(m.Method) {
		return m, arnErr("method")
	}
	if !pathChars(m.Path) {
		return m, arnErr("resource path")
	}
	return m, nil
}

func arnErr(part string) error { return fmt.Errorf("%w: %s", ErrMethodARN, part) }

// StageResource returns the ARN that covers every method and route of the
// ARN's API stage: arn:P:execute-api:R:A:API_ID/STAGE/*. IAM's '*' matches
// across '/', so it covers an HTTP API's "$default" route (a single
// segment after the stage) as well as METHOD/PATH of any depth.
func (m MethodARN) StageResource() string {
	return "arn:" + m.Partition + ":execute-api:" + m.Region + ":" + m.Account + ":" + m.APIID + "/" + m.Stage + "/*"
}

// String returns the ARN.
func (m MethodARN) String() string {
	return "arn:" + m.Partition + ":execute-api:" + m.Region + ":" + m.Account + ":" + m.APIID + "/" + m.Stage + "/" + m.Method + m.Path
}

func lowerWord(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func alnum(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// stageName accepts API Gateway stage names (letters, digits, '-', '_')
// and an HTTP API's "$default".
func stageName(s string) bool {
	if s == "$default" {
		return true
	}
	if s == "" || len(s) > maxStageLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func method(s string) bool {
	if s == "*" || s == "$default" {
		return true
	}
	if s == "" || len(s) > 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// pathChars accepts printable ASCII without IAM wildcards: the path is
// never copied into a policy, but an ARN carrying wildcards or control
// bytes did not come from API Gateway.
func pathChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '*' || c == '?' {
			return false
		}
	}
	return true
}
