package isolation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/tenantkit/tenantkit/tenant"
)

// MaxSessionPolicyLen is the longest session policy STS accepts, in
// characters of its plaintext. [Template.Render] checks the minified policy
// against it before any call to STS.
const MaxSessionPolicyLen = 2048

// maxTemplateLen bounds the template text ParseTemplate reads; a template
// this long could never render under MaxSessionPolicyLen anyway.
const maxTemplateLen = 64 << 10

// maxTemplateDepth bounds the nesting of a template.
const maxTemplateDepth = 32

// Values are what a [Template]'s placeholders stand for. Each field is
// substituted for one placeholder, inside JSON string values only:
//
//	${tenant.id}    TenantID
//	${tenant.tier}  Tier
//	${partition}    Partition  (aws, aws-cn, aws-us-gov, ...)
//	${region}       Region
//	${account}      Account
//	${table}        Table      (DynamoDB table ARN)
//	${bucket}       Bucket     (S3 bucket name)
//	${kmsKey}       KMSKey     (KMS key ARN)
//
// Other ${...} sequences that are IAM policy variables (they contain a ':',
// like ${aws:PrincipalTag/TenantID}, or are ${*}, ${?} or ${$}) are left for
// IAM to evaluate.
type Values struct {
	TenantID  string
	Tier      string
	Partition string
	Region    string
	Account   string
	Table     string
	Bucket    string
	KMSKey    string
}

type placeholder uint8

const (
	phLiteral placeholder = iota
	phTenantID
	phTier
	phPartition
	phRegion
	phAccount
	phTable
	phBucket
	phKMSKey
)

// placeholderName returns the name between "${" and "}" of p.
func (p placeholder) name() string {
	switch p {
	case phTenantID:
		return "tenant.id"
	case phTier:
		return "tenant.tier"
	case phPartition:
		return "partition"
	case phRegion:
		return "region"
	case phAccount:
		return "account"
	case phTable:
		return "table"
	case phBucket:
		return "bucket"
	case phKMSKey:
		return "kmsKey"
	}
	return ""
}

func lookupPlaceholder(name string) placeholder {
	for p := phTenantID; p <= phKMSKey; p++ {
		if p.name() == name {
			return p
		}
	}
	return phLiteral
}

func (v *Values) get(p placeholder) string {
	switch p {
	case phTenantID:
		return v.TenantID
	case phTier:
		return v.Tier
	case phPartition:
		return v.Partition
	case phRegion:
		return v.Region
	case phAccount:
		return v.Account
	case phTable:
		return v.Table
	case phBucket:
		return v.Bucket
	case phKMSKey:
		return v.KMSKey
	}
	return ""
}

// check refuses values that could widen or break a policy, before anything
// is rendered. The tenant ID and tier go through tenant.ValidateID; other
// values (ARNs, names from configuration) may not contain wildcards, '$',
// braces, quotes, backslashes, whitespace or control characters.
func (v *Values) check() error {
	if err := tenant.ValidateID(v.TenantID); err != nil {
		return fmt.Errorf("%w: tenant ID: %w", ErrInvalidValue, err)
	}
	if v.Tier != "" {
		if err := tenant.ValidateID(v.Tier); err != nil {
			return fmt.Errorf("%w: tier: %w", ErrInvalidValue, err)
		}
	}
	for p := phPartition; p <= phKMSKey; p++ {
		if !safeValue(v.get(p)) {
			return fmt.Errorf("%w: ${%s} has a character that is not allowed", ErrInvalidValue, p.name())
		}
	}
	return nil
}

// safeValue reports whether s is free of characters that mean something
// to IAM matching or to JSON: printable ASCII except * ? $ { } " \ and space.
func safeValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`*?${}"\`, c) >= 0 {
			return false
		}
	}
	return true
}

// A Template is a parsed IAM policy document whose string values may hold
// ${...} placeholders (see [Values]). Rendering substitutes tenant values
// into the parsed structure, one string value at a time, and encodes the
// result: no tenant value is ever spliced into JSON text, so none can
// change the document's structure. A Template is immutable and safe for
// concurrent use.
type Template struct {
	root *node
}

type nodeKind uint8

const (
	kindObject nodeKind = iota
	kindArray
	kindString
	kindLiteral // number, true, false, null: raw JSON text
)

type node struct {
	kind nodeKind
	keys []string  // object member names, in document order
	kids []*node   // object member values, or array elements
	segs []segment // string: literal text and placeholders
	raw  string    // literal
}

type segment struct {
	text string // literal text when ph is phLiteral
	ph   placeholder
}

// ParseTemplate parses a policy template. It must be a JSON object with a
// Statement member (an object or an array of objects), without duplicate
// member names or Sids; placeholders may appear in string values only
// (never in member names), and every ${...} must be a placeholder of
// [Values] or an IAM policy variable. Errors wrap [ErrInvalidTemplate].
func ParseTemplate(policy []byte) (*Template, error) {
	if len(policy) > maxTemplateLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidTemplate, maxTemplateLen)
	}
	dec := json.NewDecoder(bytes.NewReader(policy))
	dec.UseNumber()
	root, err := parseValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the policy object", ErrInvalidTemplate)
	}
	t := &Template{root: root}
	if err := t.validate(); err != nil {
		return nil, err
	}
	return t, nil
}

// MustParseTemplate is like [ParseTemplate] but panics on error. It is for
// templates that are constants of the program.
func MustParseTemplate(policy string) *Template {
	t, err := ParseTemplate([]byte(policy))
	if err != nil {
		panic(err)
	}
	return t
}

func parseValue(dec *json.Decoder, depth int) (*node, error) {
	if depth > maxTemplateDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d", ErrInvalidTemplate, maxTemplateDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidTemplate, err)
	}
	switch tok := tok.(type) {
	case json.Delim:
		switch tok {
		case '{':
			n := &node{kind: kindObject}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("%w: %w", ErrInvalidTemplate, err)
				}
				k := kt.(string) // the decoder guarantees a string here
				if strings.Contains(k, "${") {
					return nil, fmt.Errorf("%w: placeholder in member name %q", ErrInvalidTemplate, k)
				}
				for _, seen := range n.keys {
					if seen == k {
						return nil, fmt.Errorf("%w: duplicate member %q", ErrInvalidTemplate, k)
					}
				}
				v, err := parseValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k)
				n.kids = append(n.kids, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrInvalidTemplate, err)
			}
			return n, nil
		case '[':
			n := &node{kind: kindArray}
			for dec.More() {
				v, err := parseValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.kids = append(n.kids, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrInvalidTemplate, err)
			}
			return n, nil
		}
	case string:
		segs, err := compileString(tok)
		if err != nil {
			return nil, err
		}
		return &node{kind: kindString, segs: segs}, nil
	case json.Number:
		return &node{kind: kindLiteral, raw: string(tok)}, nil
	case bool:
		if tok {
			return &node{kind: kindLiteral, raw: "true"}, nil
		}
		return &node{kind: kindLiteral, raw: "false"}, nil
	case nil:
		return &node{kind: kindLiteral, raw: "null"}, nil
	}
	return nil, fmt.Errorf("%w: unexpected %v", ErrInvalidTemplate, tok)
}

// compileString splits a string value into literal text and placeholders.
func compileString(s string) ([]segment, error) {
	var segs []segment
	lit := 0 // start of the pending literal text
	for i := 0; ; {
		j := strings.Index(s[i:], "${")
		if j < 0 {
			break
		}
		start := i + j
		end := strings.IndexByte(s[start:], '}')
		if end < 0 {
			return nil, fmt.Errorf("%w: unterminated ${ in %q", ErrInvalidTemplate, s)
		}
		name := s[start+2 : start+end]
		i = start + end + 1
		if p := lookupPlaceholder(name); p != phLiteral {
			if start > lit {
				segs = append(segs, segment{text: s[lit:start]})
			}
			segs = append(segs, segment{ph: p})
			lit = i
			continue
		}
		if strings.Contains(name, ":") || name == "*" || name == "?" || name == "$" {
			continue // an IAM policy variable: kept as literal text
		}
		return nil, fmt.Errorf("%w: unknown placeholder ${%s}", ErrInvalidTemplate, name)
	}
	if lit < len(s) || len(segs) == 0 {
		segs = append(segs, segment{text: s[lit:]})
	}
	return segs, nil
}

func (n *node) member(key string) *node {
	for i, k := range n.keys {
		if k == key {
			return n.kids[i]
		}
	}
	return nil
}

// statements returns the statement objects of a policy root.
func (n *node) statements() ([]*node, error) {
	st := n.member("Statement")
	if st == nil {
		return nil, fmt.Errorf("%w: no Statement", ErrInvalidTemplate)
	}
	list := []*node{st}
	if st.kind == kindArray {
		list = st.kids
	}
	for _, s := range list {
		if s.kind != kindObject {
			return nil, fmt.Errorf("%w: a statement is not an object", ErrInvalidTemplate)
		}
	}
	return list, nil
}

func (t *Template) validate() error {
	if t.root.kind != kindObject {
		return fmt.Errorf("%w: not a JSON object", ErrInvalidTemplate)
	}
	if v := t.root.member("Version"); v != nil && v.kind != kindString {
		return fmt.Errorf("%w: Version is not a string", ErrInvalidTemplate)
	}
	stmts, err := t.root.statements()
	if err != nil {
		return err
	}
	sids := map[string]bool{}
	for _, s := range stmts {
		sid := s.member("Sid")
		if sid == nil {
			continue
		}
		if sid.kind != kindString || len(sid.segs) != 1 || sid.segs[0].ph != phLiteral {
			return fmt.Errorf("%w: a Sid must be a string without placeholders", ErrInvalidTemplate)
		}
		if sids[sid.segs[0].text] {
			return fmt.Errorf("%w: duplicate Sid %q", ErrInvalidTemplate, sid.segs[0].text)
		}
		sids[sid.segs[0].text] = true
	}
	return nil
}

// Merge returns one policy whose statements are those of ts, in order. The
// Version is the first one found (default "2012-10-17"). Templates with
// top-level members other than Version and Statement cannot be merged, nor
// can templates whose Sids collide.
func Merge(ts ...*Template) (*Template, error) {
	if len(ts) == 0 {
		return nil, fmt.Errorf("%w: nothing to merge", ErrInvalidTemplate)
	}
	if len(ts) == 1 {
		return ts[0], nil
	}
	var version *node
	all := &node{kind: kindArray}
	for _, t := range ts {
		for _, k := range t.root.keys {
			if k != "Version" && k != "Statement" {
				return nil, fmt.Errorf("%w: cannot merge top-level member %q", ErrInvalidTemplate, k)
			}
		}
		if v := t.root.member("Version"); v != nil && version == nil {
			version = v
		}
		stmts, err := t.root.statements()
		if err != nil {
			return nil, err
		}
		all.kids = append(all.kids, stmts...)
	}
	if version == nil {
		version = &node{kind: kindString, segs: []segment{{text: policyVersion}}}
	}
	m := &Template{root: &node{kind: kindObject, keys: []string{"Version", "Statement"}, kids: []*node{version, all}}}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// Placeholders returns the names of the placeholders the template uses
// (like "tenant.id"), each once, in order of first use.
func (t *Template) Placeholders() []string {
	var seen [phKMSKey + 1]bool
	var names []string
	var walk func(*node)
	walk = func(n *node) {
		for _, s := range n.segs {
			if s.ph != phLiteral && !seen[s.ph] {
				seen[s.ph] = true
				names = append(names, s.ph.name())
			}
		}
		for _, k := range n.kids {
			walk(k)
		}
	}
	walk(t.root)
	return names
}

// Render substitutes v into the template and returns the minified policy.
// Every value is checked first (the tenant ID and tier with
// tenant.ValidateID; see [ErrInvalidValue]), so a hostile value is refused
// before anything is rendered. A placeholder whose value is empty is an
// error wrapping [ErrIncompletePlacement]; a result longer than
// [MaxSessionPolicyLen] characters is a [*PolicySizeError].
func (t *Template) Render(v Values) (string, error) {
	if err := v.check(); err != nil {
		return "", err
	}
	buf := make([]byte, 0, 1024)
	buf, err := t.root.appendRendered(buf, &v)
	if err != nil {
		return "", err
	}
	if n := utf8.RuneCount(buf); n > MaxSessionPolicyLen {
		return "", &PolicySizeError{Len: n, Limit: MaxSessionPolicyLen}
	}
	return string(buf), nil
}

func (n *node) appendRendered(buf []byte, v *Values) ([]byte, error) {
	var err error
	switch n.kind {
	case kindObject:
		buf = append(buf, '{')
		for i, k := range n.keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, k)
			buf = append(buf, ':')
			if buf, err = n.kids[i].appendRendered(buf, v); err != nil {
				return nil, err
			}
		}
		return append(buf, '}'), nil
	case kindArray:
		buf = append(buf, '[')
		for i, k := range n.kids {
			if i > 0 {
				buf = append(buf, ',')
			}
			if buf, err = k.appendRendered(buf, v); err != nil {
				return nil, err
			}
		}
		return append(buf, ']'), nil
	case kindString:
		buf = append(buf, '"')
		for _, s := range n.segs {
			text := s.text
			if s.ph != phLiteral {
				if text = v.get(s.ph); text == "" {
					return nil, &PlacementError{TenantID: v.TenantID, Field: "${" + s.ph.name() + "}", Err: ErrIncompletePlacement}
				}
			}
			buf = appendJSONStringBody(buf, text)
		}
		return append(buf, '"'), nil
	default:
		return append(buf, n.raw...), nil
	}
}

func appendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	buf = appendJSONStringBody(buf, s)
	return append(buf, '"')
}

// appendJSONStringBody escapes s for a JSON string: quotes, backslashes and
// control characters. Unlike encoding/json it does not escape <, > and &,
// which would only make the policy longer.
func appendJSONStringBody(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
		case c == '\n':
			buf = append(buf, '\\', 'n')
		case c == '\t':
			buf = append(buf, '\\', 't')
		case c == '\r':
			buf = append(buf, '\\', 'r')
		case c < 0x20:
			buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			buf = append(buf, c)
		}
	}
	return buf
}
