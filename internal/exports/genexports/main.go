// Command genexports writes an adapter's exports.go from the one template of package
// exports. Each adapter's doc.go runs it with go generate, from the internal module (go run
// -C), with the adapter's folder relative to the repository's root:
//
//	//go:generate go run -C ../internal ./exports/genexports gin
//
// It then runs in the internal folder, so the repository's root is its parent.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/orymfa/orymfa/internal/exports"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: genexports ADAPTER_DIR... (relative to the repository's root, e.g. echo/v5)")
		os.Exit(2)
	}
	for _, dir := range os.Args[1:] {
		if err := write(dir); err != nil {
			fmt.Fprintln(os.Stderr, "genexports:", err)
			os.Exit(1)
		}
	}
}

func write(dir string) error {
	if !slices.Contains(exports.Adapters, dir) {
		return fmt.Errorf("%s is not an adapter folder (%v)", dir, exports.Adapters)
	}
	src, err := exports.Render(dir)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join("..", filepath.FromSlash(dir), "exports.go"), src, 0o644)
}
