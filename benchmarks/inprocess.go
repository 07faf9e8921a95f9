package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Targets of issue 12 (every adapter) and issue 11 (echo v5 and fiber v3) for the in-process
// cached path, over a bare handler serving the same request.
const (
	targetAddedNs     = 500
	targetAddedAllocs = 2
	issue11AddedNs    = 1000
	issue11Allocs     = 4
)

// benchModule is a module whose bench_test.go has the in-process benchmarks of some adapters.
type benchModule struct {
	dir      string            // relative to the repository root
	adapters map[string]string // benchmark name prefix → adapter ("" when the module has one)
	bench    string            // -test.bench pattern
}

var benchModules = []benchModule{
	{"benchmarks", map[string]string{"Nethttp": "nethttp", "Chi": "chi"}, `^Benchmark(Nethttp|Chi)(Bare|Cached)$`},
	{"gin", map[string]string{"": "gin"}, `^Benchmark(Bare|Cached)$`},
	{"echo", map[string]string{"": "echo"}, `^Benchmark(Bare|Cached)$`},
	{"echo/v5", map[string]string{"": "echov5"}, `^Benchmark(Bare|Cached)$`},
	{"fiber", map[string]string{"": "fiber"}, `^Benchmark(Bare|Cached)$`},
	{"fiber/v3", map[string]string{"": "fiberv3"}, `^Benchmark(Bare|Cached)$`},
}

// benchSample is one line of go test -bench output.
type benchSample struct {
	adapter, kind, cred string // e.g. gin, Cached, cookie
	ns, bytes, allocs   float64
}

var benchLine = regexp.MustCompile(`^Benchmark(\w*?)(Bare|Cached)/(\w+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+([\d.]+) B/op\s+([\d.]+) allocs/op)?`)

// parseBench reads the benchmark lines of m's output.
func parseBench(m benchModule, output string) []benchSample {
	var out []benchSample
	for line := range strings.SplitSeq(output, "\n") {
		sm := benchLine.FindStringSubmatch(strings.TrimSpace(line))
		if sm == nil {
			continue
		}
		adapter, ok := m.adapters[sm[1]]
		if !ok {
			continue
		}
		s := benchSample{adapter: adapter, kind: sm[2], cred: sm[3]}
		s.ns, _ = strconv.ParseFloat(sm[4], 64)
		s.bytes, _ = strconv.ParseFloat(sm[5], 64)
		s.allocs, _ = strconv.ParseFloat(sm[6], 64)
		out = append(out, s)
	}
	return out
}

// repoRoot finds the repository: the directory above this source file, or above the working
// directory, that holds fiber/v3/go.mod and benchmarks/go.mod.
func repoRoot() (string, error) {
	var starts []string
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, dir := range starts {
		for {
			_, e1 := os.Stat(filepath.Join(dir, "benchmarks", "go.mod"))
			_, e2 := os.Stat(filepath.Join(dir, "fiber", "v3", "go.mod"))
			if e1 == nil && e2 == nil {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("in-process benchmarks: the repository (benchmarks/go.mod, fiber/v3/go.mod) is not above %v", starts)
}

// runInProcess compiles each module's benchmarks once (go test -c, each module on its own:
// GOWORK=off) and runs them rounds times, the modules in turn in every round, so that
// background load spreads over all adapters; it prints the medians.
func runInProcess(ctx context.Context, out io.Writer, adapters []string, rounds int, benchtime string) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "orymfa-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	type binary struct {
		m    benchModule
		path string
	}
	var bins []binary
	fmt.Fprintf(out, "\nin-process: compiling the benchmarks of %s (go test -c, GOWORK=off)...\n", strings.Join(adapters, ", "))
	for _, m := range benchModules {
		if !slices.ContainsFunc(mapValues(m.adapters), func(a string) bool { return slices.Contains(adapters, a) }) {
			continue
		}
		bin := filepath.Join(dir, strings.ReplaceAll(m.dir, "/", "-")+".test")
		cmd := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, ".")
		cmd.Dir = filepath.Join(root, m.dir)
		cmd.Env = append(os.Environ(), "GOWORK=off")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go test -c in %s: %w\n%s", m.dir, err, b)
		}
		bins = append(bins, binary{m, bin})
	}
	var samples []benchSample
	for round := 1; round <= rounds; round++ {
		fmt.Fprintf(out, "in-process round %d/%d (load average %s)\n", round, rounds, loadAvg())
		for _, b := range bins {
			cmd := exec.CommandContext(ctx, b.path, "-test.run", "^$", "-test.bench", b.m.bench, "-test.benchmem", "-test.count", "1", "-test.benchtime", benchtime)
			cmd.Dir = filepath.Join(root, b.m.dir)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			o, err := cmd.Output()
			if err != nil {
				return fmt.Errorf("benchmarks of %s: %w\n%s%s", b.m.dir, err, o, stderr.String())
			}
			got := parseBench(b.m, string(o))
			if len(got) == 0 {
				return fmt.Errorf("benchmarks of %s printed no results:\n%s", b.m.dir, o)
			}
			for _, s := range got {
				if slices.Contains(adapters, s.adapter) {
					samples = append(samples, s)
					fmt.Fprintf(out, "  %-8s %-6s %-6s %8.0f ns/op %6.0f B/op %4.0f allocs/op\n", s.adapter, s.kind, s.cred, s.ns, s.bytes, s.allocs)
				}
			}
		}
	}
	printInProcess(out, adapters, samples, rounds, benchtime)
	return nil
}

func mapValues(m map[string]string) []string {
	var vs []string
	for _, v := range m {
		vs = append(vs, v)
	}
	return vs
}

// printInProcess prints the in-process table: per adapter and credential, the medians over
// rounds of Bare and Cached, and the median of the per-round differences.
func printInProcess(out io.Writer, adapters []string, samples []benchSample, rounds int, benchtime string) {
	fmt.Fprintf(out, "\nin-process, medians of %d rounds (-benchtime %s; Bare and Cached of an adapter run back to back in each round): the cached RequireAAL2 path over a bare handler, the same request\n\n", rounds, benchtime)
	fmt.Fprintf(out, "| adapter | credential | bare | cached | added (≤ %d ns) | allocs added (≤ %d) | B/op bare → cached | added per round | issue 11 (≤ %d ns, ≤ %d allocs) |\n|---|---|---:|---:|---:|---:|---:|---|---|\n",
		targetAddedNs, targetAddedAllocs, issue11AddedNs, issue11Allocs)
	all := true
	for _, a := range adapters {
		for _, cred := range []string{credCookie, credToken} {
			var bare, cached []benchSample
			for _, s := range samples {
				if s.adapter == a && s.cred == cred {
					if s.kind == "Bare" {
						bare = append(bare, s)
					} else {
						cached = append(cached, s)
					}
				}
			}
			if len(bare) == 0 || len(cached) == 0 || len(bare) != len(cached) {
				fmt.Fprintf(out, "| %s | %s | missing | | | | | | |\n", a, cred)
				all = false
				continue
			}
			var added, each []string
			var diffs []float64
			for i := range bare {
				d := cached[i].ns - bare[i].ns
				diffs = append(diffs, d)
				added = append(added, fmt.Sprintf("%.0f", d))
			}
			each = added
			field := func(ss []benchSample, f func(benchSample) float64) float64 {
				var xs []float64
				for _, s := range ss {
					xs = append(xs, f(s))
				}
				return median(xs)
			}
			ns := func(s benchSample) float64 { return s.ns }
			allocs := func(s benchSample) float64 { return s.allocs }
			bytes := func(s benchSample) float64 { return s.bytes }
			d := median(diffs)
			da := field(cached, allocs) - field(bare, allocs)
			ok := d <= targetAddedNs && da <= targetAddedAllocs
			all = all && ok
			fmt.Fprintf(out, "| %s | %s | %.0f ns, %.0f allocs | %.0f ns, %.0f allocs | %+.0f ns %s | %+.0f %s | %.0f → %.0f | %s | %s |\n",
				a, cred, field(bare, ns), field(bare, allocs), field(cached, ns), field(cached, allocs),
				d, mark(d <= targetAddedNs), da, mark(da <= targetAddedAllocs), field(bare, bytes), field(cached, bytes),
				strings.Join(each, ", "), mark(d <= issue11AddedNs && da <= issue11Allocs))
		}
	}
	fmt.Fprintf(out, "\nall in-process targets of issue 12 met: %v (measured %s)\n", all, time.Now().UTC().Format(time.RFC3339))
}
