package examples

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestProgramsBuildOutsideTheRepository copies each example program (its
// non-test files) into a fresh module outside the repository, which can
// import only what a user can, and builds it there: an example that reached
// into an internal package would not compile.
func TestProgramsBuildOutsideTheRepository(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every example program")
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	gomod := strings.Replace(string(mod), "module github.com/tenantkit/tenantkit/examples", "module example.com/copied", 1)
	// Every replace points into the repository: the library's root and
	// its integration modules.
	gomod = strings.ReplaceAll(gomod, "=> ../", "=> "+repo+"/")
	for _, prog := range []string{"dataplane", "vending", "sharedtable"} {
		t.Run(prog, func(t *testing.T) {
			dir := t.TempDir()
			files, err := filepath.Glob(filepath.Join(prog, "*.go"))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				if strings.HasSuffix(f, "_test.go") {
					continue
				}
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for name, b := range map[string][]byte{"go.mod": []byte(gomod), "go.sum": sum} {
				if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command("go", "build", "-o", os.DevNull, ".")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOPROXY=off")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s does not build outside the repository: %v\n%s", prog, err, out)
			}
		})
	}
}
