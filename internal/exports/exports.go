// Package exports renders each adapter's exports.go, the names of package core an adapter's
// users need (config, verifier, modes, outcomes, errors), from one template, so that the
// copies cannot drift. Each adapter regenerates its own with go generate (a
// //go:generate line in its doc.go runs [genexports]); a test in internal/typesafe fails when
// a file in the tree is not what the template renders.
//
// [genexports]: https://pkg.go.dev/github.com/orymfa/orymfa/internal/exports/genexports
package exports

import (
	"bytes"
	_ "embed"
	"fmt"
	"go/format"
	"text/template"
)

// Module is the module path of the repository's root module.
const Module = "github.com/orymfa/orymfa"

// Adapters are the adapter folders, relative to the repository's root, that carry an
// exports.go.
var Adapters = []string{"nethttp", "chi", "gin", "echo", "echo/v5", "fiber", "fiber/v3", "grpc", "connect"}

//go:embed exports.go.tmpl
var text string

var tmpl = template.Must(template.New("exports.go").Parse(text))

// Render returns the exports.go of the adapter in folder dir (one of [Adapters]), gofmt'ed.
func Render(dir string) ([]byte, error) {
	var b bytes.Buffer
	if err := tmpl.Execute(&b, struct{ ImportPath string }{Module + "/" + dir}); err != nil {
		return nil, fmt.Errorf("exports: render %s: %w", dir, err)
	}
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("exports: format %s: %w", dir, err)
	}
	return src, nil
}
