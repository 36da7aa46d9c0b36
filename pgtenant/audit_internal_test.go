package pgtenant

import "testing"

// parseBool reads security_invoker as PostgreSQL reads a boolean
// reloption; anything it does not take as true counts as off, so the view
// is reported.
func TestParseBool(t *testing.T) {
	for v, want := range map[string]bool{
		"true": true, "TRUE": true, "t": true, "tr": true, "yes": true, "y": true, "on": true, "1": true, " on ": true,
		"": false, "false": false, "f": false, "no": false, "off": false, "0": false, "o": false, "truex": false, "2": false,
	} {
		if got := parseBool(v); got != want {
			t.Errorf("parseBool(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestSystemSchema(t *testing.T) {
	for s, want := range map[string]bool{
		"pg_catalog": true, "information_schema": true, "pg_toast": true, "pg_temp_3": true, "pg_toast_temp_3": true,
		"public": false, "pg_app": false, "app": false,
	} {
		if got := systemSchema(s); got != want {
			t.Errorf("systemSchema(%q) = %v, want %v", s, got, want)
		}
	}
}
