package exampletest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestExamplesShareThePageCode: each example is one main.go to copy whole, so the code that
// renders the pages (from pageCode to the end) is a copy in each of them. The copies must not
// drift apart.
func TestExamplesShareThePageCode(t *testing.T) {
	const pageCode = "// site is what every page needs"
	apps := []string{"nethttp", "chi", "gin", "echo", "echov5", "fiber", "fiberv3"}
	var want string
	for _, app := range apps {
		b, err := os.ReadFile(filepath.Join("..", "..", app, "main.go"))
		if err != nil {
			t.Fatal(err)
		}
		i := strings.Index(string(b), pageCode)
		if i < 0 {
			t.Fatalf("%s/main.go has no %q", app, pageCode)
		}
		got := string(b[i:])
		if want == "" {
			want = got
		} else if got != want {
			t.Errorf("%s/main.go renders its pages differently from %s/main.go: keep the copies equal", app, apps[0])
		}
	}
	// Examples that are not a copy of the demo's routes and pages, each with why.
	notApps := map[string]string{
		"demo":       "runs the apps; its browser test clicks through them",
		"prometheus": "shows the otel observer's metrics; no pages, tested by its own main_test.go",
	}
	dirs, err := filepath.Glob(filepath.Join("..", "..", "*", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if name := filepath.Base(filepath.Dir(d)); notApps[name] == "" && !slices.Contains(apps, name) {
			t.Errorf("example %s is not checked here (nor, probably, by the demo and its browser test)", name)
		}
	}
}
