package typesafe

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// adapter is one adapter package as a program imports it.
type adapter struct {
	name, module, path string // import name, module suffix ("" for the root), import path
}

var adapterPkgs = []adapter{
	{"nethttp", "", "github.com/orymfa/orymfa/nethttp"},
	{"chi", "/chi", "github.com/orymfa/orymfa/chi"},
	{"gin", "/gin", "github.com/orymfa/orymfa/gin"},
	{"echo", "/echo", "github.com/orymfa/orymfa/echo"},
	{"echov5", "/echo/v5", "github.com/orymfa/orymfa/echo/v5"},
	{"fiber", "/fiber", "github.com/orymfa/orymfa/fiber"},
	{"fiberv3", "/fiber/v3", "github.com/orymfa/orymfa/fiber/v3"},
	{"grpc", "/grpc", "github.com/orymfa/orymfa/grpc"},
	{"connect", "/connect", "github.com/orymfa/orymfa/connect"},
}

// sharesOptions says a and b take each other's options on purpose: chi's guards are net/http
// middleware, and chi's Option and DenyHandler are the net/http adapter's own (aliases).
func sharesOptions(a, b string) bool {
	return a == "nethttp" && b == "chi" || a == "chi" && b == "nethttp"
}

// program is a main package with the given imports that evaluates each of exprs, one a line:
// expression i stands on line firstLine+i.
func program(imports string, exprs []string) string {
	return "package main\n\nimport (\n" + imports + "\n)\n\nfunc main() {\n\t_ = []any{\n\t\t" + strings.Join(exprs, ",\n\t\t") + ",\n\t}\n}\n"
}

// firstLine is the line of a program's first expression.
func firstLine(imports string) int { return strings.Count(imports, "\n") + 9 }

// Each adapter has options of its own type: an option of another adapter passed to a guard
// does not compile (it used to compile and be silently ignored), and its own does. The one
// exception is chi and net/http, which share their types on purpose.
func TestAnotherAdaptersOptionDoesNotCompile(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("the go command is needed to type-check the programs")
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gomod := "module typesafe.test\n\ngo 1.26.0\n\nrequire (\n"
	replace := ")\n\nreplace (\n"
	for _, m := range []string{"", "/chi", "/gin", "/echo", "/echo/v5", "/fiber", "/fiber/v3", "/grpc", "/connect"} {
		version := "v0.2.0"
		if strings.HasSuffix(m, "/v5") || strings.HasSuffix(m, "/v3") {
			version = "v" + m[len(m)-1:] + ".2.0"
		}
		gomod += "\tgithub.com/orymfa/orymfa" + m + " " + version + "\n"
		replace += "\tgithub.com/orymfa/orymfa" + m + " => " + filepath.Join(repo, m) + "\n"
	}
	write(t, filepath.Join(dir, "go.mod"), gomod+replace+")\n")

	imports := "\tgingonic \"github.com/gin-gonic/gin\"\n\techo4 \"github.com/labstack/echo/v4\"\n\techo5 \"github.com/labstack/echo/v5\"\n" +
		"\tfiber2 \"github.com/gofiber/fiber/v2\"\n\tfiber3 \"github.com/gofiber/fiber/v3\""
	for _, a := range adapterPkgs {
		imports += "\n\t" + a.name + " \"" + a.path + "\""
	}
	// The import names gin, echo and fiber are the adapters'; the frameworks' are renamed.
	// Each adapter's own options, those of its framework's types included, and chi's and
	// net/http's options on each other's guards; the frameworks' packages resolve from the
	// module cache once.
	ok := []string{
		`nethttp.RequireAAL2(nethttp.WithDenyHandler(nil), nethttp.WithMaxAge(0))`,
		`chi.RequireAAL2(chi.WithDenyHandler(nil))`,
		`gin.RequireAAL2(gin.WithDenyHandler(func(*gingonic.Context, *gin.Decision) {}))`,
		`echo.RequireAAL2(echo.WithSkipper(func(echo4.Context) bool { return false }))`,
		`echov5.RequireAAL2(echov5.WithSkipper(func(*echo5.Context) bool { return false }))`,
		`fiber.RequireAAL2(fiber.WithNext(func(*fiber2.Ctx) bool { return false }))`,
		`fiberv3.RequireAAL2(fiberv3.WithNext(func(fiber3.Ctx) bool { return false }))`,
		`grpc.ForMethods(grpc.RequireAAL2(grpc.WithMaxAge(0)), "/shop.v1.Shop/")`,
		`connect.ForProcedures(connect.RequireAAL2(connect.WithMaxAge(0)), "/shop.v1.Shop/")`,
		`chi.RequireAAL2(nethttp.WithMaxAge(0), nethttp.WithDenyHandler(nil))`,
		`nethttp.RequireSession(chi.WithVerifier(nil), chi.WithDenyHandler(nil))`,
	}
	write(t, filepath.Join(dir, "ok", "main.go"), program(imports, ok))
	if out, err := goCmd(t, dir, "mod", "tidy"); err != nil {
		t.Fatalf("go mod tidy: %v\n%s", err, out)
	}
	if out, err := goCmd(t, dir, "vet", "./ok"); err != nil {
		t.Fatalf("each adapter's own options do not type-check:\n%s", out)
	}

	// Every other pair: one adapter's max age on another's guard, all in one program, built
	// with every error reported (-gcflags=-e), so each line must have its own type error.
	var bad []string
	for _, g := range adapterPkgs {
		for _, o := range adapterPkgs {
			if g.name != o.name && !sharesOptions(g.name, o.name) {
				bad = append(bad, g.name+".RequireAAL2("+o.name+".WithMaxAge(0))")
			}
		}
	}
	badImports := ""
	for _, a := range adapterPkgs {
		badImports += "\t" + a.name + " \"" + a.path + "\"\n"
	}
	badImports = strings.TrimSuffix(badImports, "\n")
	write(t, filepath.Join(dir, "bad", "main.go"), program(badImports, bad))
	out, err := goCmd(t, dir, "build", "-gcflags=-e", "-o", os.DevNull, "./bad")
	if err == nil {
		t.Fatalf("another adapter's options compile:\n%s", strings.Join(bad, "\n"))
	}
	refused := map[int]bool{}
	for _, m := range regexp.MustCompile(`main\.go:(\d+):\d+: cannot use .*Option.* as .*Option value`).FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[1])
		refused[n] = true
	}
	for i, expr := range bad {
		if !refused[firstLine(badImports)+i] {
			t.Errorf("%s is not refused for the option's type", expr)
		}
	}
	if t.Failed() {
		t.Logf("the build said:\n%s", out)
	}
	if got := len(bad); got != len(adapterPkgs)*(len(adapterPkgs)-1)-2 {
		t.Fatalf("%d pairs checked", got)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// goCmd runs the go command in dir on its own: no workspace, third-party modules from the
// module cache or, for what the earlier modules' tests never downloaded (a go.mod the combined
// graph needs), the proxy the environment names (the checksum database is not reachable from a
// test).
func goCmd(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOSUMDB=off")
	out, err := cmd.CombinedOutput()
	return string(out), err
}
