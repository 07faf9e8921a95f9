package install

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// rootPath is the module path of the repository's root module.
const rootPath = "github.com/orymfa/orymfa"

// testOnlyDirs are the top-level directories whose modules are never tagged: the test beds,
// the examples and the benchmarks. Every other module of the repository is publishable.
var testOnlyDirs = []string{"internal", "examples", "benchmarks"}

// testOnlyAllowed lists requirements that a publishable module needs only for its tests but
// may keep, because its users have them anyway: the chi adapter imports nothing of chi, but
// its users route with chi; an app that uses the otel module exports its traces and metrics
// through the OpenTelemetry SDK. (The indirect requirements these bring are allowed with
// them.)
var testOnlyAllowed = map[string][]string{
	"chi":  {"github.com/go-chi/chi/v5"},
	"otel": {"go.opentelemetry.io/otel/sdk", "go.opentelemetry.io/otel/sdk/metric"},
}

// neverInUsersGraph are modules no user of any orymfa module may find in their module graph.
var neverInUsersGraph = []string{
	"github.com/pquerna/otp",
	"github.com/chromedp/chromedp",
	"github.com/ory/kratos",
	rootPath + "/internal",
	rootPath + "/examples",
	rootPath + "/benchmarks",
}

// A mod is one module of the repository.
type mod struct {
	Dir      string // slash-separated, relative to the repository root; "" for the root
	Path     string // module path
	GoMod    []byte // go.mod as in the working tree
	File     *modfile.File
	TestOnly bool   // never tagged
	Version  string // the version it is released at (publishable modules only)
	Tag      string // the git tag of that version
}

// Name is the module's directory, or "root".
func (m *mod) Name() string {
	if m.Dir == "" {
		return "root"
	}
	return m.Dir
}

// repoRoot is the repository's root directory, two levels above this package.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if p := modfile.ModulePath(data); p != rootPath {
		t.Fatalf("%s/go.mod is module %q, want %q", dir, p, rootPath)
	}
	return dir
}

// loadModules finds every go.mod of the repository, as the go command sees modules: it skips
// testdata and directories whose names start with "." or "_".
func loadModules(t testing.TB, root string) []*mod {
	t.Helper()
	var mods []*mod
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if p != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Name() != "go.mod" {
			return nil
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "." {
			rel = ""
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f, err := modfile.Parse(p, data, nil)
		if err != nil {
			return err
		}
		if f.Module == nil {
			return fmt.Errorf("%s has no module line", p)
		}
		top, _, _ := strings.Cut(rel, "/")
		mods = append(mods, &mod{
			Dir:      rel,
			Path:     f.Module.Mod.Path,
			GoMod:    data,
			File:     f,
			TestOnly: slices.Contains(testOnlyDirs, top),
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The root first, then by directory: the order of the tags.
	sort.Slice(mods, func(i, j int) bool { return mods[i].Dir < mods[j].Dir })
	return mods
}

// publishable returns the modules that are tagged, the root first.
func publishable(mods []*mod) []*mod {
	var out []*mod
	for _, m := range mods {
		if !m.TestOnly {
			out = append(out, m)
		}
	}
	return out
}

// releaseVersion maps the root's release version to the version of the module at path.
//
// A module whose path ends in a major-version suffix /vN (echo/v5 for echo v5, fiber/v3 for
// fiber v3, mirroring the framework's own import path) must carry vN.x.y versions. While the
// root is v0, the rule is: take the root's version and put N where its 0 is, so root v0.2.0
// goes with echo/v5 v5.2.0 and fiber/v3 v3.2.0 (and v0.2.1-rc.1 with v5.2.1-rc.1). The map is
// strictly monotonic (it keeps minor, patch and pre-release, which semver compares in the
// same order), needs no state and no second argument, and every tag of one release reads the
// same minor and patch. A root v1 or later would break monotonicity (v1.0.0 would map below
// v5.9.0) and is refused: decide a new rule first (docs/RELEASING.md).
func releaseVersion(path, root string) (string, error) {
	if !semver.IsValid(root) || semver.Canonical(root) != root {
		return "", fmt.Errorf("release version %q is not a canonical semantic version (vMAJOR.MINOR.PATCH[-PRERELEASE])", root)
	}
	if semver.Build(root) != "" {
		return "", fmt.Errorf("release version %q has build metadata, which Go module versions do not allow", root)
	}
	if semver.Major(root) != "v0" {
		return "", fmt.Errorf("release version %q: the version mapping for the major-suffixed modules is defined for v0 releases only; see docs/RELEASING.md", root)
	}
	if root == "v0.0.0" {
		return "", errors.New("release version v0.0.0 is the placeholder this procedure replaces")
	}
	_, major, ok := module.SplitPathVersion(path)
	if !ok {
		return "", fmt.Errorf("invalid module path %q", path)
	}
	v := root
	if major != "" {
		v = "v" + strings.TrimPrefix(major, "/v") + strings.TrimPrefix(root, "v0")
	}
	if err := module.Check(path, v); err != nil {
		return "", err
	}
	return v, nil
}

// tagFor is the git tag of version v of the module in directory dir: the directory, less a
// trailing major-version element (the go command looks for module echo/v5 at tags echo/v5.x.y,
// and finds its go.mod in echo/v5/), then the version.
func tagFor(dir, path, v string) string {
	_, major, _ := module.SplitPathVersion(path)
	prefix := dir
	if major != "" && (prefix == major[1:] || strings.HasSuffix(prefix, major)) {
		prefix = strings.TrimSuffix(strings.TrimSuffix(prefix, major[1:]), "/")
	}
	if prefix == "" {
		return v
	}
	return prefix + "/" + v
}

// targetVersion is the root's release version: ORYMFA_RELEASE_VERSION, or else the one version
// of the root that every publishable sub-module requires.
func targetVersion(t testing.TB, pub []*mod) string {
	t.Helper()
	if v := os.Getenv("ORYMFA_RELEASE_VERSION"); v != "" {
		return v
	}
	seen := map[string][]string{}
	for _, m := range pub {
		for _, r := range m.File.Require {
			if r.Mod.Path == rootPath {
				seen[r.Mod.Version] = append(seen[r.Mod.Version], m.Name())
			}
		}
	}
	if len(seen) != 1 {
		t.Fatalf("the publishable modules do not agree on the root's version (want one release version): %v", seen)
	}
	for v := range seen {
		return v
	}
	panic("unreachable")
}

// planModules sets each publishable module's version and tag for the root's release version.
func planModules(t testing.TB, mods []*mod, v string) {
	t.Helper()
	for _, m := range publishable(mods) {
		mv, err := releaseVersion(m.Path, v)
		if err != nil {
			t.Fatalf("%s: %v", m.Name(), err)
		}
		m.Version = mv
		m.Tag = tagFor(m.Dir, m.Path, mv)
	}
}

func byPath(mods []*mod) map[string]*mod {
	out := map[string]*mod{}
	for _, m := range mods {
		out[m.Path] = m
	}
	return out
}

func TestVersionMapping(t *testing.T) {
	for _, tc := range []struct{ path, root, want, tag, dir string }{
		{rootPath, "v0.2.0", "v0.2.0", "v0.2.0", ""},
		{rootPath + "/gin", "v0.2.0", "v0.2.0", "gin/v0.2.0", "gin"},
		{rootPath + "/echo", "v0.2.0", "v0.2.0", "echo/v0.2.0", "echo"},
		{rootPath + "/echo/v5", "v0.2.0", "v5.2.0", "echo/v5.2.0", "echo/v5"},
		{rootPath + "/fiber/v3", "v0.2.0", "v3.2.0", "fiber/v3.2.0", "fiber/v3"},
		{rootPath + "/fiber/v3", "v0.10.3-rc.1", "v3.10.3-rc.1", "fiber/v3.10.3-rc.1", "fiber/v3"},
	} {
		got, err := releaseVersion(tc.path, tc.root)
		if err != nil || got != tc.want {
			t.Errorf("releaseVersion(%q, %q) = %q, %v; want %q", tc.path, tc.root, got, err, tc.want)
		}
		if tag := tagFor(tc.dir, tc.path, got); tag != tc.tag {
			t.Errorf("tagFor(%q, %q) = %q, want %q", tc.dir, got, tag, tc.tag)
		}
	}
	for _, bad := range []string{"v1.0.0", "v0.0.0", "0.2.0", "v0.2", "v0.2.0+meta", "v2.1.0"} {
		if v, err := releaseVersion(rootPath+"/echo/v5", bad); err == nil {
			t.Errorf("releaseVersion(echo/v5, %q) = %q, want an error", bad, v)
		}
	}
	// Monotonic: a later root release maps to a later version of every module.
	order := []string{"v0.1.0", "v0.1.1", "v0.2.0-rc.1", "v0.2.0", "v0.10.0"}
	for i := 1; i < len(order); i++ {
		a, _ := releaseVersion(rootPath+"/echo/v5", order[i-1])
		b, _ := releaseVersion(rootPath+"/echo/v5", order[i])
		if semver.Compare(a, b) >= 0 {
			t.Errorf("not monotonic: %s -> %s but %s -> %s", order[i-1], a, order[i], b)
		}
	}
}

// TestModuleGraph checks the go.mod of every publishable module as a user's go command reads
// it: replace and exclude lines are ignored in a dependency, so the require lines alone must
// name released versions, and whatever they list enters the user's module graph.
func TestModuleGraph(t *testing.T) {
	root := repoRoot(t)
	mods := loadModules(t, root)
	pub := publishable(mods)
	v := targetVersion(t, pub)
	planModules(t, mods, v)
	paths := byPath(mods)

	for _, m := range mods {
		if m.TestOnly {
			checkTestOnlyModule(t, m, paths)
			continue
		}
		t.Run(m.Name(), func(t *testing.T) {
			checkPublishedGoMod(t, m, paths)
			checkTestOnlyRequirements(t, root, m)
		})
	}
	if os.Getenv("ORYMFA_RELEASE_VERSION") != "" {
		checkLaterThanTags(t, root, pub)
	}
	if t.Failed() {
		return
	}
	if out := os.Getenv("ORYMFA_RELEASE_PLAN"); out != "" {
		var b bytes.Buffer
		for _, m := range pub {
			fmt.Fprintf(&b, "%s\t%s\t%s\t%s\n", m.Name(), m.Path, m.Version, m.Tag)
		}
		if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func checkPublishedGoMod(t *testing.T, m *mod, paths map[string]*mod) {
	want := rootPath
	if m.Dir != "" {
		want += "/" + m.Dir
	}
	if m.Path != want {
		t.Errorf("module path %q, want %q (the go command finds a module of this repository by its directory)", m.Path, want)
	}
	required := map[string]bool{}
	for _, r := range m.File.Require {
		if r.Mod.Path != rootPath && !strings.HasPrefix(r.Mod.Path, rootPath+"/") {
			continue
		}
		required[r.Mod.Path] = true
		dep := paths[r.Mod.Path]
		switch {
		case dep == nil:
			t.Errorf("requires %s, which is no module of this repository", r.Mod.Path)
		case dep.TestOnly:
			t.Errorf("requires %s %s, a test-only module that is never tagged: users could not resolve it", r.Mod.Path, r.Mod.Version)
		case r.Mod.Version != dep.Version:
			t.Errorf("requires %s %s, want %s (the release version; a user's go command ignores our replace lines and fetches exactly this)", r.Mod.Path, r.Mod.Version, dep.Version)
		}
	}
	for _, r := range m.File.Replace {
		dep := paths[r.Old.Path]
		switch {
		case dep == nil || dep.TestOnly:
			t.Errorf("replace %s: only orymfa's own publishable modules may be replaced (users' builds ignore a dependency's replace lines, so ours would test a graph they never get)", r.Old.Path)
		case r.Old.Version != "":
			t.Errorf("replace %s %s: replace every version, for development", r.Old.Path, r.Old.Version)
		case !modfile.IsDirectoryPath(r.New.Path):
			t.Errorf("replace %s => %s %s: want a local directory, for development", r.Old.Path, r.New.Path, r.New.Version)
		case path.Join(".", m.Dir, filepath.ToSlash(r.New.Path)) != path.Join(".", dep.Dir):
			t.Errorf("replace %s => %s points at %q, want the module's directory %q", r.Old.Path, r.New.Path, path.Join(".", m.Dir, r.New.Path), path.Join(".", dep.Dir))
		case !required[r.Old.Path]:
			t.Errorf("replace %s without a requirement for it", r.Old.Path)
		}
	}
	for p := range required {
		found := false
		for _, r := range m.File.Replace {
			found = found || r.Old.Path == p
		}
		if !found {
			t.Errorf("requires %s without a replace: development would test the released module, not the working tree", p)
		}
	}
	for _, x := range m.File.Exclude {
		t.Errorf("exclude %s %s: a dependency's exclude lines are ignored by its users' go command", x.Mod.Path, x.Mod.Version)
	}
	for _, r := range m.File.Require {
		for _, never := range neverInUsersGraph {
			if r.Mod.Path == never {
				t.Errorf("requires %s: a test-only dependency in a publishable module's go.mod enters every user's module graph", never)
			}
		}
	}
}

// checkTestOnlyRequirements reports requirements that only the module's tests need: modules
// that provide packages to `go list -deps -test ./...` but not to `go list -deps ./...`.
// (Modules that no package needs with the current build tags, such as gin's sonic, are needed
// for other platforms and are not reported.)
func checkTestOnlyRequirements(t *testing.T, root string, m *mod) {
	dir := filepath.Join(root, filepath.FromSlash(m.Dir))
	env := repoEnv()
	build := listModules(t, dir, env, "list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}", "./...")
	tests := listModules(t, dir, env, "list", "-deps", "-test", "-f", "{{with .Module}}{{.Path}}{{end}}", "./...")
	var direct, indirect []string
	for _, r := range m.File.Require {
		p := r.Mod.Path
		if !tests[p] || build[p] {
			continue
		}
		if slices.Contains(testOnlyAllowed[m.Dir], p) {
			t.Logf("requires %s only for its tests (allowed: its users have it anyway; testOnlyAllowed)", p)
			continue
		}
		if r.Indirect {
			indirect = append(indirect, p)
		} else {
			direct = append(direct, p)
		}
	}
	if len(direct) > 0 {
		t.Errorf("requires modules that only its tests need; they enter every user's module graph (move those tests to a test-only module such as internal/, or do without):\n\tdirect: %s\n\tindirect: %s",
			strings.Join(direct, " "), strings.Join(indirect, " "))
	} else if len(indirect) > 0 {
		t.Logf("and, with those, only for its tests: %s", strings.Join(indirect, " "))
	}
}

func listModules(t *testing.T, dir string, env []string, args ...string) map[string]bool {
	t.Helper()
	out := goCmd(t, dir, env, args...)
	set := map[string]bool{}
	for _, l := range strings.Fields(out) {
		set[l] = true
	}
	return set
}

// checkTestOnlyModule logs what a test-only module requires of orymfa's modules: such a module
// is never tagged, so its versions only need a replace, but its go.mod is what a reader copies.
func checkTestOnlyModule(t *testing.T, m *mod, paths map[string]*mod) {
	for _, r := range m.File.Require {
		dep := paths[r.Mod.Path]
		if dep == nil || dep.TestOnly {
			continue
		}
		replaced := false
		for _, x := range m.File.Replace {
			replaced = replaced || x.Old.Path == r.Mod.Path
		}
		if !replaced {
			t.Errorf("%s (test-only) requires %s %s without a replace: it would not test the working tree", m.Name(), r.Mod.Path, r.Mod.Version)
		} else if r.Mod.Version != dep.Version {
			t.Logf("note: %s (test-only) requires %s %s; the release version is %s", m.Name(), r.Mod.Path, r.Mod.Version, dep.Version)
		}
	}
}

// repoEnv is the environment for go commands run in the repository's own modules: each module
// on its own (GOWORK=off) and read-only, whatever GOFLAGS=-mod the environment sets.
func repoEnv() []string {
	var flags []string
	for _, f := range strings.Fields(os.Getenv("GOFLAGS")) {
		if !strings.HasPrefix(f, "-mod=") && !strings.HasPrefix(f, "--mod=") && !strings.HasPrefix(f, "-modfile=") {
			flags = append(flags, f)
		}
	}
	return setEnv(os.Environ(),
		"GOFLAGS="+strings.Join(flags, " "),
		"GOWORK=off",
		"GO111MODULE=on",
		"GOTOOLCHAIN=local",
	)
}

// setEnv returns env with each KEY=value of kv set, replacing earlier values.
func setEnv(env []string, kv ...string) []string {
	out := make([]string, 0, len(env)+len(kv))
	keys := map[string]bool{}
	for _, s := range kv {
		k, _, _ := strings.Cut(s, "=")
		keys[k] = true
	}
	for _, s := range env {
		k, _, _ := strings.Cut(s, "=")
		if !keys[k] {
			out = append(out, s)
		}
	}
	return append(out, kv...)
}

// goCmd runs the go command in dir and returns its standard output; it fails the test, with
// the command's output, if the command fails.
func goCmd(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	out, err := goRun(dir, env, args...)
	if err != nil {
		t.Fatalf("in %s: go %s: %v\n%s", dir, strings.Join(args, " "), err, out)
	}
	return out
}

// goRun runs the go command in dir and returns its standard output, or its combined output
// with the error.
func goRun(dir string, env []string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

// goJSON runs the go command and decodes its stream of JSON values into a slice of T.
func goJSON[T any](t testing.TB, dir string, env []string, args ...string) []T {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(goCmd(t, dir, env, args...)))
	var out []T
	for dec.More() {
		var v T
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// checkLaterThanTags checks, for a release, that each module's release version is later than
// every version of it already tagged in the local repository: versions only go up.
func checkLaterThanTags(t *testing.T, root string, pub []*mod) {
	cmd := exec.Command("git", "tag", "--list")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Logf("no git tags read (%v): not checking that the versions go up", err)
		return
	}
	tags := strings.Fields(string(out))
	for _, m := range pub {
		prefix := strings.TrimSuffix(m.Tag, m.Version)
		_, major, _ := module.SplitPathVersion(m.Path)
		for _, tag := range tags {
			v, ok := strings.CutPrefix(tag, prefix)
			if !ok || strings.Contains(v, "/") || !semver.IsValid(v) || module.CheckPathMajor(v, major) != nil {
				continue // another module's tag (echo/v5.2.0 is not the echo module's)
			}
			if semver.Compare(v, m.Version) > 0 {
				t.Errorf("%s: tag %s is later than the release version %s: versions only go up", m.Path, tag, m.Version)
			}
		}
	}
}
