package typesafe

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// program is a main package that passes opt to guard; both are Go expressions.
func program(imports, guard string) string {
	return "package main\n\nimport (\n" + imports + "\n)\n\nfunc main() {\n\t_ = " + guard + "\n}\n"
}

const imports = `	"github.com/gin-gonic/gin"
	"github.com/labstack/echo/v4"
	"github.com/gofiber/fiber/v2"
	chi "github.com/orymfa/orymfa/chi"
	echoorymfa "github.com/orymfa/orymfa/echo"
	fiberorymfa "github.com/orymfa/orymfa/fiber"
	ginorymfa "github.com/orymfa/orymfa/gin"
	orymfa "github.com/orymfa/orymfa/nethttp"`

// Each adapter has options of its own type: an option of another adapter passed to a guard
// does not compile (it used to compile and be silently ignored), and its own does.
func TestAnotherAdaptersOptionDoesNotCompile(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("the go command is needed to type-check the programs")
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gomod := "module typesafe.test\n\ngo 1.26.0\n\nrequire (\n" +
		"\tgithub.com/orymfa/orymfa v0.2.0\n\tgithub.com/orymfa/orymfa/chi v0.2.0\n\tgithub.com/orymfa/orymfa/echo v0.2.0\n" +
		"\tgithub.com/orymfa/orymfa/fiber v0.2.0\n\tgithub.com/orymfa/orymfa/gin v0.2.0\n)\n\nreplace (\n"
	for _, m := range []string{"", "/chi", "/echo", "/fiber", "/gin"} {
		gomod += "\tgithub.com/orymfa/orymfa" + m + " => " + filepath.Join(repo, m) + "\n"
	}
	gomod += ")\n"
	write(t, filepath.Join(dir, "go.mod"), gomod)
	// Resolve the third-party requirements from the module cache once.
	write(t, filepath.Join(dir, "ok", "main.go"), program(imports, `[]any{
		orymfa.RequireAAL2(orymfa.WithDenyHandler(nil), orymfa.WithMaxAge(0)),
		chi.RequireAAL2(chi.WithDenyHandler(nil)),
		ginorymfa.RequireAAL2(ginorymfa.WithDenyHandler(func(*gin.Context, *ginorymfa.Decision) {})),
		echoorymfa.RequireAAL2(echoorymfa.WithSkipper(func(echo.Context) bool { return false })),
		fiberorymfa.RequireAAL2(fiberorymfa.WithNext(func(*fiber.Ctx) bool { return false })),
	}`))
	goCmd(t, dir, "mod", "tidy")
	if out, err := goCmd(t, dir, "vet", "./ok"); err != nil {
		t.Fatalf("each adapter's own options do not type-check:\n%s", out)
	}

	for _, tc := range []struct{ name, guard string }{
		{"gin's deny handler on a net/http guard", `orymfa.RequireAAL2(ginorymfa.WithDenyHandler(nil))`},
		{"echo's skipper on a net/http guard", `orymfa.RequireSession(echoorymfa.WithSkipper(nil))`},
		{"fiber's Next on a gin guard", `ginorymfa.RequireAAL2(fiberorymfa.WithNext(nil))`},
		{"net/http's max age on a chi guard", `chi.RequireAAL2(orymfa.WithMaxAge(0))`},
		{"chi's verifier option on an echo guard", `echoorymfa.RequireSession(chi.WithVerifier(nil))`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkg := "bad" + strings.ReplaceAll(strings.ToLower(regexp.MustCompile(`\W+`).ReplaceAllString(tc.name, "")), " ", "")
			write(t, filepath.Join(dir, pkg, "main.go"), program(imports, tc.guard))
			out, err := goCmd(t, dir, "vet", "./"+pkg)
			if err == nil {
				t.Fatalf("%s compiles", tc.guard)
			}
			if !regexp.MustCompile(`cannot use .*Option.* as .*Option value`).MatchString(out) {
				t.Fatalf("%s fails, but not on the option's type:\n%s", tc.guard, out)
			}
		})
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
// local module cache only (the go command verified them when it downloaded them; the checksum
// database is not reachable from a test).
func goCmd(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOPROXY=off", "GOSUMDB=off")
	out, err := cmd.CombinedOutput()
	return string(out), err
}
