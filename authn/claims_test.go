package authn

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// membersByDecoder counts top-level members the slow, obviously right way.
func membersByDecoder(data []byte) (int, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return 0, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		return 0, false
	}
	n := 0
	for dec.More() {
		if _, err := dec.Token(); err != nil {
			return 0, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return 0, false
		}
		n++
	}
	return n, true
}

func TestCountMembers(t *testing.T) {
	for in, want := range map[string]int{
		`{}`:                                0,
		`{"a":1}`:                           1,
		`{"a":"x:y","b":{"c":1,"d":[1,2]}}`: 2,
		`{"a\":":"\\","b":"\"}:"}`:          2,
		`{"a":[{"b":1}],"c":null,"d":true}`: 3,
	} {
		if got := countMembers([]byte(in)); got != want {
			t.Errorf("countMembers(%s) = %d, want %d", in, got, want)
		}
	}
	var c claimSet
	if err := c.UnmarshalJSON([]byte(`{"a":1,"\u0061":2}`)); !errors.Is(err, errDuplicateMember) {
		t.Fatalf("escaped duplicate: %v", err)
	}
	if err := c.UnmarshalJSON([]byte(`{"a":{"x":1},"b":{"x":2}}`)); err != nil {
		t.Fatalf("same name in nested objects: %v", err)
	}
}

// FuzzCountMembers checks the fast member count against encoding/json on
// every valid JSON object.
func FuzzCountMembers(f *testing.F) {
	f.Add([]byte(`{"a":"x:y","b":{"c":1}}`))
	f.Add([]byte(`{"a\":":"\\","b":"\"}:"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		want, ok := membersByDecoder(data)
		if !ok {
			return
		}
		if got := countMembers(data); got != want {
			t.Fatalf("countMembers(%q) = %d, want %d", data, got, want)
		}
	})
}
