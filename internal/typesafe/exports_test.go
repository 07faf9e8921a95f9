package typesafe

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/orymfa/orymfa/internal/exports"
)

// Every adapter re-exports the same names of package core (one import covers the configured
// case) in an exports.go that go generate renders from one template (internal/exports): the
// file in the tree must be what the template renders now (run go generate in the adapter
// after changing the template), and every mode, enforcement, outcome and sentinel error of
// core must be there.
func TestEveryAdapterReexportsCore(t *testing.T) {
	for _, dir := range exports.Adapters {
		want, err := exports.Render(dir)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(dir), "exports.go"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s/exports.go is not what the template renders: run go generate in %s", dir, dir)
		}
		if !bytes.HasPrefix(got, []byte("// Code generated ")) || !bytes.Contains(got, []byte(" DO NOT EDIT.\n")) {
			t.Errorf("%s/exports.go does not say it is generated", dir)
		}
		doc, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(dir), "doc.go"))
		if err != nil || !bytes.Contains(doc, []byte("//go:generate go run -C ")) || !bytes.Contains(doc, []byte("./exports/genexports "+dir+"\n")) {
			t.Errorf("%s/doc.go has no //go:generate line for its exports.go", dir)
		}
	}

	exported := declared(t, filepath.Join("..", "..", "nethttp", "exports.go"))
	core := declared(t, filepath.Join("..", "..", "core", "*.go"))
	for _, name := range []string{
		"Config", "CacheConfig", "Verifier", "Decision", "Outcome", "Mode", "Enforcement", "UnavailableError", "Observer",
		"New", "MustNew", "ErrConfig",
	} {
		if !slices.Contains(exported, name) {
			t.Errorf("the adapters do not re-export %s", name)
		}
	}
	// Every constant and sentinel core declares for users.
	for _, name := range core {
		if (isPrefixed(name, "Mode") || isPrefixed(name, "Err") || slices.Contains([]string{"Strict", "LaxStepUp", "LaxEnroll", "Allow", "Login", "StepUp", "Refresh", "Enroll", "Unavailable"}, name)) &&
			!slices.Contains(exported, name) {
			t.Errorf("core's %s is not re-exported", name)
		}
	}
}

func isPrefixed(name, prefix string) bool {
	return len(name) > len(prefix) && name[:len(prefix)] == prefix
}

// declared lists the exported top-level names the files matching pattern declare.
func declared(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no files for %s: %v", pattern, err)
	}
	var names []string
	fset := token.NewFileSet()
	for _, name := range files {
		if filepath.Ext(name) != ".go" || len(name) > 8 && name[len(name)-8:] == "_test.go" {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.IsExported() {
					names = append(names, d.Name.Name)
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							names = append(names, s.Name.Name)
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() {
								names = append(names, n.Name)
							}
						}
					}
				}
			}
		}
	}
	return names
}
