package load

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/pprof/profile"
)

// Attribution splits a server CPU profile taken under load: the share of
// the CPU spent in the stack's middleware (tenantkit's code, or a floor's,
// and everything they call, but not the handler they call), in the trivial
// handler, and in the garbage collector's background workers.
//
// On a shared machine the server's CPU time per request moves with the
// other load (caches, context switches), but one profile's shares are all
// taken under the same conditions: 1 − Middleware − (GC − the bare
// server's GC) estimates the stack's CPU ratio to the bare server.
type Attribution struct {
	Stack      string
	Samples    int64   // CPU samples in the profile
	Middleware float64 // share of the samples
	Handler    float64
	GC         float64
}

// isHandler reports whether fn is the trivial handler of the HTTP or the
// gRPC stacks (named types, whose names do not depend on inlining as a
// closure's do).
func isHandler(fn string) bool {
	return strings.HasSuffix(fn, "/benchmarks/load.(*trivial).ServeHTTP") ||
		strings.HasSuffix(fn, "/benchmarks/load.(*pinger).handle") ||
		strings.HasSuffix(fn, "/benchmarks/load.(*pinger).handle-fm") // the method value's wrapper
}

// isMiddleware reports whether fn is tenantkit's code or a floor's.
func isMiddleware(fn string) bool {
	if i := strings.Index(fn, "/benchmarks/load."); i >= 0 {
		rest := fn[i+len("/benchmarks/load."):]
		return strings.HasPrefix(rest, "(*builder).floor.func") || strings.HasPrefix(rest, "(*builder).jwtFloor.func")
	}
	return strings.HasPrefix(fn, "github.com/tenantkit/tenantkit/")
}

// Attribute reads the CPU profile at path, taken of stack.
func Attribute(stack, path string) (Attribution, error) {
	f, err := os.Open(path)
	if err != nil {
		return Attribution{}, err
	}
	defer f.Close()
	return parseAttribution(stack, f)
}

func parseAttribution(stack string, r io.Reader) (Attribution, error) {
	p, err := profile.Parse(r)
	if err != nil {
		return Attribution{}, fmt.Errorf("load: profile of %s: %w", stack, err)
	}
	idx := -1
	for i, st := range p.SampleType {
		if st.Type == "samples" {
			idx = i
		}
	}
	if idx < 0 {
		return Attribution{}, fmt.Errorf("load: profile of %s: no sample count", stack)
	}
	a := Attribution{Stack: stack}
	var mw, h, gc int64
	for _, s := range p.Sample {
		n := s.Value[idx]
		a.Samples += n
		var inMW, inH, inGC bool
		for _, loc := range s.Location {
			for _, line := range loc.Line {
				if line.Function == nil {
					continue
				}
				fn := line.Function.Name
				switch {
				case isHandler(fn):
					inH = true
				case isMiddleware(fn):
					inMW = true
				case fn == "runtime.gcBgMarkWorker":
					inGC = true
				}
			}
		}
		switch {
		case inH:
			h += n
		case inMW:
			mw += n
		case inGC:
			gc += n
		}
	}
	if a.Samples > 0 {
		t := float64(a.Samples)
		a.Middleware, a.Handler, a.GC = float64(mw)/t, float64(h)/t, float64(gc)/t
	}
	return a, nil
}

// WriteAttributions writes the attributions as a table, with the
// estimated CPU ratio of each stack to the bare server of its transport.
func WriteAttributions(w io.Writer, infos []Info, as []Attribution, seconds int) error {
	by := map[string]Attribution{}
	for _, a := range as {
		by[a.Stack] = a
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n## Where the server's CPU goes (pprof, %d s per stack)\n\n", seconds)
	fmt.Fprintf(&b, "After the rounds each stack was loaded once more while the server's CPU profile was taken. \"middleware\" is the share of the samples in the stack's middleware (tenantkit's code, or a floor's, and all it calls except the handler), \"GC\" that of the garbage collector's background workers; the estimated CPU ratio to bare is 1 − middleware − (GC − the bare server's GC). All shares of one profile are taken under the same load of the machine, so this estimate is steadier than the ratios above on a shared machine.\n\n")
	fmt.Fprintf(&b, "| stack | samples | middleware | handler | GC | estimated CPU ratio to bare |\n|---|---:|---:|---:|---:|---:|\n")
	for _, info := range infos {
		a, ok := by[info.Name]
		if !ok {
			continue
		}
		est := "n/a"
		if bare, ok := by[info.Base()]; ok {
			est = fmt.Sprintf("%.2fx", Estimate(a, bare))
		}
		fmt.Fprintf(&b, "| %s | %d | %.1f%% | %.1f%% | %.1f%% | %s |\n", info.Name, a.Samples, 100*a.Middleware, 100*a.Handler, 100*a.GC, est)
	}
	var floors strings.Builder
	for _, info := range infos {
		f, ok := by[info.Name]
		st, ok2 := by[info.FloorOf]
		if !ok || !ok2 || info.FloorOf == "" {
			continue
		}
		times := "n/a"
		if f.Middleware > 0 {
			times = fmt.Sprintf("%.1fx", st.Middleware/f.Middleware)
		}
		fmt.Fprintf(&floors, "| %s | %s | %.1f%% | %.1f%% | %s |\n", info.Name, info.FloorOf, 100*f.Middleware, 100*st.Middleware, times)
	}
	if floors.Len() > 0 {
		fmt.Fprintf(&b, "\nThe stacks against their floors, by the share of the server's CPU in the middleware:\n\n")
		fmt.Fprintf(&b, "| floor | of | floor's middleware | stack's middleware | stack / floor |\n|---|---|---:|---:|---:|\n")
		b.WriteString(floors.String())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Estimate returns a's estimated CPU ratio to the bare server's profile.
func Estimate(a, bare Attribution) float64 {
	return 1 - a.Middleware - max(0, a.GC-bare.GC)
}
