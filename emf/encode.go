package emf

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// sanitizeName returns s as a name the specification and the CloudWatch
// Dimension type accept: ASCII without control characters (others become
// '_'), at least one non-whitespace character, at most max bytes, and for
// a dimension name no leading colon.
func sanitizeName(s string, max int, dimension bool) string {
	ok := s != "" && len(s) <= max && !(dimension && s[0] == ':')
	blank := true
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7F {
			ok = false
		}
		if c != ' ' && c != '\t' {
			blank = false
		}
	}
	if ok && !blank {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= max {
			break
		}
		if r < 0x20 || r >= 0x7F {
			r = '_'
		}
		b.WriteByte(byte(r))
	}
	out := b.String()
	if dimension && strings.HasPrefix(out, ":") {
		out = "_" + out[1:]
	}
	if strings.TrimSpace(out) == "" {
		out = "_" + out
		if len(out) > max {
			out = out[:max]
		}
	}
	return out
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string, at most max bytes of it (cut at
// a character boundary; max < 0 means no bound), and reports whether it
// was cut. Invalid UTF-8 becomes U+FFFD; control characters, quotes and
// backslashes are escaped, and so are U+2028 and U+2029, which some
// JavaScript-based log processors take for line ends.
func appendString(b []byte, s string, max int) ([]byte, bool) {
	cut := false
	if max >= 0 && len(s) > max {
		i := max
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s, cut = s[:i], true
	}
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != 0x7F {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"'), cut
}

// appendFloat appends v as a JSON number; v must be finite.
func appendFloat(b []byte, v float64) []byte {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// cloudWatchUnit maps an OpenTelemetry (UCUM) unit to a CloudWatch unit;
// an annotation such as {request} or "1" counts, anything unknown is None.
func cloudWatchUnit(u string) string {
	switch u {
	case "s":
		return "Seconds"
	case "ms":
		return "Milliseconds"
	case "us":
		return "Microseconds"
	case "By":
		return "Bytes"
	case "kBy":
		return "Kilobytes"
	case "MBy":
		return "Megabytes"
	case "GBy":
		return "Gigabytes"
	case "TBy":
		return "Terabytes"
	case "bit":
		return "Bits"
	case "kbit":
		return "Kilobits"
	case "Mbit":
		return "Megabits"
	case "Gbit":
		return "Gigabits"
	case "Tbit":
		return "Terabits"
	case "%":
		return "Percent"
	case "By/s":
		return "Bytes/Second"
	case "kBy/s":
		return "Kilobytes/Second"
	case "MBy/s":
		return "Megabytes/Second"
	case "bit/s":
		return "Bits/Second"
	case "1/s", "{request}/s":
		return "Count/Second"
	case "1", "":
		if u == "1" {
			return "Count"
		}
		return "None"
	}
	if strings.HasPrefix(u, "{") && strings.HasSuffix(u, "}") {
		return "Count"
	}
	return "None"
}
