package emf_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/tenantkit/tenantkit/emf"
)

// The structure checks of the CloudWatch embedded metric format
// specification, written from its text and JSON schema, applied to every
// document the tests produce.

// cloudWatchUnits is the schema's MetricDefinition Unit pattern.
var cloudWatchUnits = regexp.MustCompile(`^(Seconds|Microseconds|Milliseconds|Bytes|Kilobytes|Megabytes|Gigabytes|Terabytes|Bits|Kilobits|Megabits|Gigabits|Terabits|Percent|Count|Bytes\/Second|Kilobytes\/Second|Megabytes\/Second|Gigabytes\/Second|Terabytes\/Second|Bits\/Second|Kilobits\/Second|Megabits\/Second|Gigabits\/Second|Terabits\/Second|Count\/Second|None)$`)

type document struct {
	root       map[string]any
	directives []directive
	timestamp  int64
}

type directive struct {
	namespace string
	dims      [][]string
	metrics   []metricDef
}

type metricDef struct {
	name, unit string
	resolution int
}

// rootKeys returns the member names of the JSON object in line, in order,
// failing on a duplicate (RFC 8259 says names SHOULD be unique; CloudWatch
// would see only one of two).
func rootKeys(line []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not an object: %v %v", tok, err)
	}
	var keys []string
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k := tok.(string)
		if seen[k] {
			return nil, fmt.Errorf("duplicate member %q", k)
		}
		seen[k] = true
		keys = append(keys, k)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

func onlyMembers(obj map[string]any, allowed ...string) error {
	for k := range obj {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return fmt.Errorf("member %q is not defined by the specification", k)
		}
	}
	return nil
}

func validName(s string, max int) bool {
	return s != "" && len(s) <= max && !strings.ContainsAny(s, "\n\r\u2028\u2029")
}

// dimensionString checks a dimension name or value against the CloudWatch
// Dimension type the specification refers to.
func dimensionString(s string, max int) error {
	if s == "" || len(s) > max || strings.TrimSpace(s) == "" {
		return fmt.Errorf("%q: empty, blank or longer than %d", s, max)
	}
	for i := range len(s) {
		if s[i] < 0x20 || s[i] >= 0x7F {
			return fmt.Errorf("%q: not printable ASCII", s)
		}
	}
	return nil
}

// checkDocument checks one line of the exporter's output against the
// specification and returns it decoded.
func checkDocument(line []byte) (document, error) {
	var d document
	if len(line) > emf.MaxEventSize {
		return d, fmt.Errorf("event of %d bytes, over %d", len(line), emf.MaxEventSize)
	}
	// "The LogEvent message MUST be a valid JSON object with no additional
	// data at the beginning or end."
	if !json.Valid(line) {
		return d, fmt.Errorf("invalid JSON: %q", line)
	}
	if bytes.ContainsAny(line, "\n\r") {
		return d, fmt.Errorf("a line terminator inside the document")
	}
	keys, err := rootKeys(line)
	if err != nil {
		return d, err
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&d.root); err != nil {
		return d, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return d, fmt.Errorf("data after the object")
	}
	if len(keys) == 0 || keys[0] != "_aws" {
		// Not required by the text, but CloudWatch finds the metadata
		// fastest first; the exporter always writes it first.
		return d, fmt.Errorf("_aws is not the first member")
	}
	aws, ok := d.root["_aws"].(map[string]any)
	if !ok {
		return d, fmt.Errorf("_aws is not an object")
	}
	if err := onlyMembers(aws, "Timestamp", "CloudWatchMetrics"); err != nil {
		return d, err
	}
	ts, ok := aws["Timestamp"].(json.Number)
	if !ok {
		return d, fmt.Errorf("Timestamp missing or not a number")
	}
	if d.timestamp, err = ts.Int64(); err != nil || d.timestamp <= 0 {
		return d, fmt.Errorf("Timestamp %v is not milliseconds since the epoch", ts)
	}
	cwm, ok := aws["CloudWatchMetrics"].([]any)
	if !ok || len(cwm) == 0 {
		return d, fmt.Errorf("CloudWatchMetrics missing, not an array, or empty")
	}
	for _, x := range cwm {
		md, ok := x.(map[string]any)
		if !ok {
			return d, fmt.Errorf("a MetricDirective is not an object")
		}
		if err := onlyMembers(md, "Namespace", "Dimensions", "Metrics"); err != nil {
			return d, err
		}
		var dir directive
		dir.namespace, ok = md["Namespace"].(string)
		if !ok || !validName(dir.namespace, 1024) {
			return d, fmt.Errorf("Namespace %v", md["Namespace"])
		}
		sets, ok := md["Dimensions"].([]any)
		if !ok || len(sets) < 1 {
			return d, fmt.Errorf("Dimensions missing, not an array or without a DimensionSet")
		}
		for _, s := range sets {
			set, ok := s.([]any)
			if !ok {
				return d, fmt.Errorf("a DimensionSet is not an array")
			}
			if len(set) > emf.MaxDimensionsPerSet {
				return d, fmt.Errorf("a DimensionSet of %d keys", len(set))
			}
			var names []string
			for _, k := range set {
				name, ok := k.(string)
				if !ok {
					return d, fmt.Errorf("a dimension key is not a string")
				}
				if err := dimensionString(name, 250); err != nil || name[0] == ':' {
					return d, fmt.Errorf("dimension name: %v", err)
				}
				// "The values within this array MUST also be members on
				// the root-node"; "A dimension target MUST have a string
				// value", of at most 1024 characters.
				v, ok := d.root[name].(string)
				if !ok {
					return d, fmt.Errorf("dimension %q is not a string member of the root", name)
				}
				if err := dimensionString(v, 1024); err != nil {
					return d, fmt.Errorf("dimension %q value: %v", name, err)
				}
				names = append(names, name)
			}
			dir.dims = append(dir.dims, names)
		}
		defs, ok := md["Metrics"].([]any)
		if !ok || len(defs) == 0 {
			return d, fmt.Errorf("Metrics missing, not an array or empty")
		}
		if len(defs) > emf.MaxMetricsPerDirective {
			return d, fmt.Errorf("%d MetricDefinitions", len(defs))
		}
		for _, x := range defs {
			def, ok := x.(map[string]any)
			if !ok {
				return d, fmt.Errorf("a MetricDefinition is not an object")
			}
			if err := onlyMembers(def, "Name", "Unit", "StorageResolution"); err != nil {
				return d, err
			}
			var m metricDef
			m.name, ok = def["Name"].(string)
			if !ok || !validName(m.name, 1024) {
				return d, fmt.Errorf("metric Name %v", def["Name"])
			}
			if u, present := def["Unit"]; present {
				m.unit, ok = u.(string)
				if !ok || !cloudWatchUnits.MatchString(m.unit) {
					return d, fmt.Errorf("metric %q: Unit %v", m.name, u)
				}
			}
			if r, present := def["StorageResolution"]; present {
				n, ok := r.(json.Number)
				if !ok || (n.String() != "1" && n.String() != "60") {
					return d, fmt.Errorf("metric %q: StorageResolution %v", m.name, r)
				}
				fmt.Sscan(n.String(), &m.resolution)
			}
			// "Metric targets MUST be either a numeric value or an array of
			// numeric values", the array of at most 100 members.
			switch v := d.root[m.name].(type) {
			case json.Number:
			case []any:
				if len(v) > emf.MaxValuesPerMetric {
					return d, fmt.Errorf("metric %q: %d values", m.name, len(v))
				}
				for _, e := range v {
					if _, ok := e.(json.Number); !ok {
						return d, fmt.Errorf("metric %q: a value that is not a number", m.name)
					}
				}
			default:
				return d, fmt.Errorf("metric %q is not a numeric member of the root: %v", m.name, v)
			}
			dir.metrics = append(dir.metrics, m)
		}
		d.directives = append(d.directives, dir)
	}
	return d, nil
}

// checkOutput checks every line of out and returns the documents.
func checkOutput(tb testing.TB, out []byte) []document {
	tb.Helper()
	if len(out) > 0 && out[len(out)-1] != '\n' {
		tb.Fatalf("output does not end with a newline")
	}
	var docs []document
	for i, line := range bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n")) {
		if len(line) == 0 {
			if len(out) == 0 {
				break
			}
			tb.Fatalf("line %d is empty", i+1)
		}
		d, err := checkDocument(line)
		if err != nil {
			tb.Fatalf("line %d: %v\n%.2000s", i+1, err, line)
		}
		docs = append(docs, d)
	}
	return docs
}

func TestCheckDocumentRefusesWhatTheSpecificationForbids(t *testing.T) {
	valid := `{"_aws":{"Timestamp":1574109732004,"CloudWatchMetrics":[{"Namespace":"lambda-function-metrics","Dimensions":[["functionVersion"]],"Metrics":[{"Name":"time","Unit":"Milliseconds","StorageResolution":60}]}]},"functionVersion":"$LATEST","time":100,"requestId":"989ffbf8-9ace-4817-a57c-e4dd734019ee"}`
	if _, err := checkDocument([]byte(valid)); err != nil {
		t.Fatalf("the specification's own example: %v", err)
	}
	many := make([]string, 31)
	for i := range many {
		many[i] = fmt.Sprintf("%q", fmt.Sprint("d", i))
	}
	for name, doc := range map[string]string{
		"no _aws":               `{"time":1}`,
		"no timestamp":          strings.Replace(valid, `"Timestamp":1574109732004,`, "", 1),
		"string timestamp":      strings.Replace(valid, `1574109732004`, `"1574109732004"`, 1),
		"missing dimension":     strings.Replace(valid, `"functionVersion":"$LATEST",`, "", 1),
		"numeric dimension":     strings.Replace(valid, `"$LATEST"`, `1`, 1),
		"missing metric":        strings.Replace(valid, `"time":100,`, "", 1),
		"string metric":         strings.Replace(valid, `"time":100`, `"time":"100"`, 1),
		"bad unit":              strings.Replace(valid, `"Milliseconds"`, `"ms"`, 1),
		"bad resolution":        strings.Replace(valid, `"StorageResolution":60`, `"StorageResolution":30`, 1),
		"extra directive field": strings.Replace(valid, `"Namespace"`, `"Extra":1,"Namespace"`, 1),
		"duplicate member":      strings.Replace(valid, `"time":100`, `"time":100,"time":2`, 1),
		"31 dimensions":         strings.Replace(valid, `["functionVersion"]`, "["+strings.Join(many, ",")+"]", 1),
		"trailing data":         valid + " {}",
	} {
		if _, err := checkDocument([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
