package readme

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/tenantkit/tenantkit"

// The package a snippet qualifier stands for. A snippet gets an import for
// each qualifier it uses outside comments; "pb" is the reader's generated
// gRPC code, which stubPB stands in for.
var qualifiers = map[string]string{
	"context": "context",
	"errors":  "errors",
	"fmt":     "fmt",
	"http":    "net/http",
	"log":     "log",
	"net":     "net",
	"os":      "os",
	"slog":    "log/slog",
	"time":    "time",

	"apikey":     module + "/apikey",
	"authorizer": module + "/lambdaedge/authorizer",
	"lambdahttp": module + "/lambdaedge/lambdahttp",
	"directory":  module + "/directory",
	"redisfeed":  module + "/directory/redisfeed",
	"grpcmw":     module + "/grpcmw",
	"httpmw":     module + "/httpmw",
	"isolation":  module + "/isolation",
	"vending":    module + "/isolation/vending",
	"ratelimit":  module + "/ratelimit",
	"redislimit": module + "/ratelimit/redislimit",
	"authn":      module + "/authn",
	"telemetry":  module + "/telemetry",
	"spanproc":   module + "/telemetry/spanproc",
	"redisusage": module + "/telemetry/redisusage",
	"tenant":     module + "/tenant",

	"emf":         module + "/emf",
	"featureflag": module + "/featureflag",
	"kmsenvelope": module + "/kmsenvelope",
	"pgtenant":    module + "/pgtenant",

	"auth":        "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth",
	"attribute":   "go.opentelemetry.io/otel/attribute",
	"aws":         "github.com/aws/aws-sdk-go-v2/aws",
	"chi":         "github.com/go-chi/chi/v5",
	"credentials": "google.golang.org/grpc/credentials",
	"grpc":        "google.golang.org/grpc",
	"kms":         "github.com/aws/aws-sdk-go-v2/service/kms",
	"pgconn":      "github.com/jackc/pgx/v5/pgconn",
	"pgx":         "github.com/jackc/pgx/v5",
	"pgxpool":     "github.com/jackc/pgx/v5/pgxpool",
	"lambda":      "github.com/aws/aws-lambda-go/lambda",
	"memprovider": "github.com/open-feature/go-sdk/openfeature/memprovider",
	"openfeature": "github.com/open-feature/go-sdk/openfeature",
	"otel":        "go.opentelemetry.io/otel",
	"otelhttp":    "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp",
	"pb":          "", // stubPB, at a path known only when the test runs
	"redis":       "github.com/redis/go-redis/v9",
	"sdkmetric":   "go.opentelemetry.io/otel/sdk/metric",
	"sdktrace":    "go.opentelemetry.io/otel/sdk/trace",
	"sts":         "github.com/aws/aws-sdk-go-v2/service/sts",
}

// preamble declares what snippets take as given: values a real service
// has from its own setup. Keep it short; a snippet that can show where a
// value comes from should.
const preamble = `package snippets

import (
	"context"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc/credentials"

	"` + module + `/authn"
)

var (
	ctx        context.Context
	verifier   *authn.Verifier                 // from the quickstart
	mux        *http.ServeMux                   // the service's handlers
	addr       string                           // a gRPC server's address
	tlsCreds   credentials.TransportCredentials // credentials.NewTLS(...)
	signingKey authn.RingKey                   // authn.GenerateRingKey
	callerKey  authn.RingKey                   // a caller's key, Public only
	exporter   sdktrace.SpanExporter            // any span exporter
	awsCfg     aws.Config                       // config.LoadDefaultConfig
)

var _ = []any{ctx, verifier, mux, addr, tlsCreds, signingKey, callerKey, exporter, awsCfg}

type orders struct{} // the reader's gRPC service implementation
`

const stubPB = `// Package pb stands for the reader's generated gRPC code.
package pb

import "google.golang.org/grpc"

type OrdersServer interface{}

func RegisterOrdersServer(grpc.ServiceRegistrar, OrdersServer) {}
`

// skipMarker before a fence (blank lines between allowed) exempts the
// snippet from the check.
const skipMarker = "<!-- snippet: skip -->"

type snippet struct {
	line int // README line of the snippet's first line of code
	code string
}

// goSnippets returns the ```go blocks of a Markdown document.
func goSnippets(doc []byte) ([]snippet, error) {
	var (
		out     []snippet
		in      bool
		isGo    bool
		skip    bool
		prev    string // the last non-blank line outside a block
		start   int
		body    strings.Builder
		lineNum int
	)
	sc := bufio.NewScanner(bytes.NewReader(doc))
	for sc.Scan() {
		lineNum++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if !in {
			if lang, ok := strings.CutPrefix(trimmed, "```"); ok {
				in, isGo = true, strings.TrimSpace(lang) == "go"
				skip = strings.TrimSpace(prev) == skipMarker
				start = lineNum + 1
				body.Reset()
				continue
			}
			if trimmed != "" {
				prev = trimmed
			}
			continue
		}
		if trimmed == "```" {
			in = false
			prev = ""
			if isGo && !skip {
				out = append(out, snippet{line: start, code: body.String()})
			}
			continue
		}
		body.WriteString(line)
		body.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if in {
		return nil, fmt.Errorf("code block opened at line %d is not closed", start-1)
	}
	return out, nil
}

// usedQualifiers returns the known package qualifiers that code uses
// outside comments, sorted.
func usedQualifiers(code string) []string {
	var s scanner.Scanner
	fset := token.NewFileSet()
	src := []byte(code)
	s.Init(fset.AddFile("", fset.Base(), len(src)), src, nil, 0)
	seen := map[string]bool{}
	prevTok, prevLit := token.ILLEGAL, ""
	beforePrev := token.ILLEGAL
	for {
		_, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		if tok == token.PERIOD && prevTok == token.IDENT && beforePrev != token.PERIOD {
			if _, ok := qualifiers[prevLit]; ok {
				seen[prevLit] = true
			}
		}
		beforePrev, prevTok, prevLit = prevTok, tok, lit
	}
	out := make([]string, 0, len(seen))
	for q := range seen {
		out = append(out, q)
	}
	slices.Sort(out)
	return out
}

// wrap makes a compilable file of snippet s, the body of a function. Every
// name the snippet declares at its top level is used once after it, as a
// reader continues the code.
func wrap(s snippet, readme, pbPath string) string {
	var b strings.Builder
	b.WriteString("package snippets\n\nimport (\n")
	for _, q := range usedQualifiers(s.code) {
		path := qualifiers[q]
		if q == "pb" {
			path = pbPath
		}
		fmt.Fprintf(&b, "\t%s %q\n", q, path)
	}
	b.WriteString(")\n\nfunc _() {\n")
	fmt.Fprintf(&b, "//line %s:%d\n", readme, s.line)
	b.WriteString(s.code)
	b.WriteString("\n")
	for _, name := range topLevelNames(s.code) {
		fmt.Fprintf(&b, "\t_ = %s\n", name)
	}
	b.WriteString("}\n")
	return b.String()
}

// topLevelNames returns the names code declares in its outermost scope.
// A snippet that does not parse declares none here; the compiler reports it.
func topLevelNames(code string) []string {
	f, err := parser.ParseFile(token.NewFileSet(), "", "package p\nfunc _() {\n"+code+"\n}\n", 0)
	if err != nil {
		return nil
	}
	var names []string
	add := func(id *ast.Ident) {
		if id.Name != "_" && !slices.Contains(names, id.Name) {
			names = append(names, id.Name)
		}
	}
	for _, st := range f.Decls[0].(*ast.FuncDecl).Body.List {
		switch st := st.(type) {
		case *ast.AssignStmt:
			if st.Tok == token.DEFINE {
				for _, e := range st.Lhs {
					if id, ok := e.(*ast.Ident); ok {
						add(id)
					}
				}
			}
		case *ast.DeclStmt:
			if gd, ok := st.Decl.(*ast.GenDecl); ok && gd.Tok == token.VAR {
				for _, spec := range gd.Specs {
					for _, id := range spec.(*ast.ValueSpec).Names {
						add(id)
					}
				}
			}
		}
	}
	return names
}

// TestREADMESnippetsCompile builds every Go snippet of README.md as a
// package of this module. The files exist only in a build overlay, so the
// test writes nothing into the repository and needs no network: the
// module's go.sum and module cache serve the build.
func TestREADMESnippetsCompile(t *testing.T) {
	readme, err := filepath.Abs("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	snippets, err := goSnippets(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(snippets) == 0 {
		t.Fatal("README.md has no go code blocks")
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	// A directory that does not exist: the overlay supplies its files.
	pkgDir := filepath.Join(wd, "_snippets")
	pbDir := filepath.Join(pkgDir, "pb")
	pbPath := module + "/ecosystem/readme/_snippets/pb"

	tmp := t.TempDir()
	replace := map[string]string{}
	addFile := func(dst, content string) {
		src := filepath.Join(tmp, fmt.Sprintf("f%d.go", len(replace)))
		if err := os.WriteFile(src, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		replace[dst] = src
	}
	addFile(filepath.Join(pkgDir, "preamble.go"), preamble)
	addFile(filepath.Join(pbDir, "pb.go"), stubPB)
	for i, s := range snippets {
		addFile(filepath.Join(pkgDir, fmt.Sprintf("snippet%02d.go", i+1)), wrap(s, readme, pbPath))
	}
	overlay, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		t.Fatal(err)
	}
	overlayFile := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command("go", "build", "-overlay", overlayFile, "-o", os.DevNull, "./_snippets")
	cmd.Dir = wd
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOWORK=off", "GOFLAGS=-mod=readonly")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("README.md snippets do not compile (%d snippets checked): %v\n%s", len(snippets), err, out)
		if testing.Verbose() {
			for i, s := range snippets {
				t.Logf("snippet%02d.go:\n%s", i+1, wrap(s, readme, pbPath))
			}
		}
	}
}

func TestGoSnippets(t *testing.T) {
	doc := "x\n```sh\nls\n```\n```go\na := 1\n```\n" + skipMarker + "\n\n```go\nnot go\n```\n```go\nb()\n```\n"
	got, err := goSnippets([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := []snippet{{line: 6, code: "a := 1\n"}, {line: 14, code: "b()\n"}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if q := usedQualifiers("x := tenant.New() // http.Get\ny.log.Print(); fmt.Println(x)"); !slices.Equal(q, []string{"fmt", "tenant"}) {
		t.Errorf("qualifiers: %v", q)
	}
	if n := topLevelNames("a, _ := f()\nvar b, c int\nif d := 1; d > 0 { e := 2 }"); !slices.Equal(n, []string{"a", "b", "c"}) {
		t.Errorf("names: %v", n)
	}
}
