package exampletest

import (
	"bytes"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// TestExampleAppsShowOrymfa: each example app's main.go is its routes, its framework and
// orymfa, short enough to read at a glance. The pages every app renders come from the shared
// examples/internal/page, so no app carries page code of its own (a template, an Ory client)
// that could drift from the others'.
func TestExampleAppsShowOrymfa(t *testing.T) {
	const maxLines = 100
	const pagePkg = "github.com/orymfa/orymfa/examples/internal/page"
	adapters := map[string]string{
		"nethttp": "github.com/orymfa/orymfa/nethttp",
		"chi":     "github.com/orymfa/orymfa/chi",
		"gin":     "github.com/orymfa/orymfa/gin",
		"echo":    "github.com/orymfa/orymfa/echo",
		"echov5":  "github.com/orymfa/orymfa/echo/v5",
		"fiber":   "github.com/orymfa/orymfa/fiber",
		"fiberv3": "github.com/orymfa/orymfa/fiber/v3",
	}
	// What the shared page does, and an app therefore never needs.
	pageOnly := []string{"html/template", "github.com/ory/client-go", "github.com/orymfa/orymfa/core"}
	for app, adapter := range adapters {
		path := filepath.Join("..", "..", app, "main.go")
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(src, []byte("\n")); n > maxLines {
			t.Errorf("%s/main.go has %d lines, want at most %d", app, n, maxLines)
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		var imports []string
		for _, s := range f.Imports {
			p, _ := strconv.Unquote(s.Path.Value)
			imports = append(imports, p)
		}
		for _, want := range []string{adapter, pagePkg} {
			if !slices.Contains(imports, want) {
				t.Errorf("%s/main.go does not import %s", app, want)
			}
		}
		for _, p := range pageOnly {
			if slices.Contains(imports, p) {
				t.Errorf("%s/main.go imports %s: rendering pages is examples/internal/page's job", app, p)
			}
		}
	}
	// Examples that are not page apps, each with why.
	notApps := map[string]string{
		"demo":       "runs the apps; its browser test clicks through them",
		"prometheus": "shows the otel observer's metrics; no pages, tested by its own main_test.go",
		"grpc":       "a gRPC service and its client; no pages",
		"connect":    "a Connect service and its client; no pages",
		"jwt":        "an API that verifies Ory's session JWTs; no pages, tested against Kratos by its own main_test.go",
	}
	dirs, err := filepath.Glob(filepath.Join("..", "..", "*", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if name := filepath.Base(filepath.Dir(d)); notApps[name] == "" && adapters[name] == "" {
			t.Errorf("example %s is not checked here (nor, probably, by the demo and its browser test)", name)
		}
	}
}
