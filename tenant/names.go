package tenant

// SpoofableNames returns the header and metadata names that server
// adapters remove from every incoming request before the handler runs:
// names a client can set to anything and that code, or a backend behind a
// proxy, could mistake for the verified tenant. It returns a new slice on
// every call.
//
// Names are matched by FoldName: without regard to letter case, with '_'
// taken as '-' (a CGI or WSGI backend reads both X-Tenant-ID and
// X-Tenant_ID as HTTP_X_TENANT_ID), and without a "-bin" suffix (gRPC's
// binary metadata keys).
func SpoofableNames() []string {
	return []string{
		"X-Tenant-ID", "Tenant-ID", "X-Tenant", "Tenant",
		"X-Tenant-Tier", "Tenant-Tier",
		"X-Forwarded-Tenant", "X-Forwarded-Tenant-ID",
		"X-Amzn-Tenant-Id", "X-Scope-OrgID",
	}
}

var defaultSpoofable = NewNameSet(SpoofableNames()...)

// IsSpoofable reports whether name is one of SpoofableNames under the
// folding rule of FoldName. It does not allocate.
func IsSpoofable(name string) bool { return defaultSpoofable.Contains(name) }

// FoldName returns the form in which header and metadata names are
// compared: ASCII letters in lower case, '_' replaced by '-', and a
// trailing "-bin" removed.
func FoldName(name string) string {
	b := make([]byte, len(name))
	return string(b[:foldInto(b, name)])
}

// foldInto writes the folded form of name into b (len(b) >= len(name))
// and returns its length.
func foldInto(b []byte, name string) int {
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == '_':
			c = '-'
		}
		b[i] = c
	}
	n := len(name)
	if n > 4 && string(b[n-4:n]) == "-bin" {
		n -= 4
	}
	return n
}

// NameSet is an immutable set of header or metadata names compared under
// the folding rule of FoldName. The zero NameSet is empty. It is safe for
// concurrent use.
type NameSet struct {
	names    map[string]struct{}
	min, max int // lengths of the folded names
}

// NewNameSet returns the set of names; empty names are ignored.
func NewNameSet(names ...string) NameSet {
	s := NameSet{names: make(map[string]struct{}, len(names))}
	for _, n := range names {
		f := FoldName(n)
		if f == "" {
			continue
		}
		if len(s.names) == 0 || len(f) < s.min {
			s.min = len(f)
		}
		s.max = max(s.max, len(f))
		s.names[f] = struct{}{}
	}
	return s
}

// Union returns a set holding the names of s and of names.
func (s NameSet) Union(names ...string) NameSet {
	all := make([]string, 0, len(s.names)+len(names))
	for n := range s.names {
		all = append(all, n)
	}
	return NewNameSet(append(all, names...)...)
}

// Contains reports whether name folds to a name of s. It does not allocate
// for names of up to 128 bytes.
func (s NameSet) Contains(name string) bool {
	if len(s.names) == 0 || len(name) < s.min || len(name) > s.max+len("-bin") {
		return false
	}
	var buf [128]byte
	var b []byte
	if len(name) <= len(buf) {
		b = buf[:len(name)]
	} else {
		b = make([]byte, len(name))
	}
	n := foldInto(b, name)
	if n < s.min || n > s.max {
		return false
	}
	_, ok := s.names[string(b[:n])]
	return ok
}

// Len returns the number of names in s.
func (s NameSet) Len() int { return len(s.names) }
