package install

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/modfile"
)

// TestModulesInstall publishes the working tree (or ORYMFA_RELEASE_REV) at the release version
// into a file-based module proxy and installs every module from it as a user would. It takes
// half a minute with warm caches and two to four minutes on a new machine (docs/RELEASING.md),
// so -short skips it.
func TestModulesInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the install proof builds every adapter from a file proxy")
	}
	start := time.Now()
	root := repoRoot(t)
	mods := loadModules(t, root)
	pub := publishable(mods)
	v := targetVersion(t, pub)
	planModules(t, mods, v)

	tmp := t.TempDir()
	if os.Getenv("ORYMFA_INSTALL_KEEP") != "" { // for a look at the proxy and the consumers afterwards
		var err error
		if tmp, err = os.MkdirTemp("", "orymfa-install-"); err != nil {
			t.Fatal(err)
		}
		t.Logf("ORYMFA_INSTALL_KEEP: the proxy and the consumers stay in %s", tmp)
	}
	snap := takeSnapshot(t, root, tmp, os.Getenv("ORYMFA_RELEASE_REV"))
	proxyDir := filepath.Join(tmp, "proxy")
	buildProxy(t, snap, proxyDir, pub)
	others := thirdParty(t)
	proxy := fileURL(proxyDir) + "," + others
	env := consumerEnv(proxy, proofModCache(t))
	t.Logf("release %s: proxy of %d modules from %s in %v", v, len(pub), snapshotName(snap), time.Since(start).Round(time.Millisecond))

	// Each module as published: its go.mod without the replace lines, every orymfa module
	// from the proxy. (Run in the module's directory with -modfile, so its files are the
	// working tree's; only the go.mod differs.)
	t.Run("published", func(t *testing.T) {
		for _, m := range pub {
			t.Run(m.Name(), func(t *testing.T) {
				f, err := modfile.Parse("go.mod", m.GoMod, nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range slices.Clone(f.Replace) {
					if err := f.DropReplace(r.Old.Path, r.Old.Version); err != nil {
						t.Fatal(err)
					}
				}
				data, err := f.Format()
				if err != nil {
					t.Fatal(err)
				}
				alt := filepath.Join(tmp, "published", strings.ReplaceAll(m.Name(), "/", "_"))
				if err := os.MkdirAll(alt, 0o755); err != nil {
					t.Fatal(err)
				}
				write(t, filepath.Join(alt, "go.mod"), data)
				if sum, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(m.Dir), "go.sum")); err == nil {
					write(t, filepath.Join(alt, "go.sum"), sum)
				}
				dir := filepath.Join(root, filepath.FromSlash(m.Dir))
				goCmd(t, dir, env, "build", "-mod=mod", "-buildvcs=false", "-trimpath", "-modfile="+filepath.Join(alt, "go.mod"), "./...")
			})
		}
	})

	// The tags scripts/release.sh prints, pushed to a copy of the repository that the go
	// command reaches in direct mode (as the public proxy reaches GitHub), resolve to the same
	// bytes as the file proxy: so the proxy proves what the tags will serve, and the tag names
	// of the major-suffixed modules (echo/v5.x.y, not echo/v5/v5.x.y) are right.
	t.Run("tags", func(t *testing.T) {
		checkTags(t, snap, tmp, others, proxyDir, pub)
	})

	// A sub-module that required the root at v0.0.0 could not be installed (a past release bug).
	// With that go.mod in the proxy, go get must fail as it did for users; this shows the
	// consumers below would catch it.
	t.Run("v0.0.0 would fail", func(t *testing.T) {
		var sub *mod
		for _, m := range pub {
			if m.Dir != "" {
				sub = m
				break
			}
		}
		if sub == nil {
			t.Skip("no sub-module")
		}
		bad := filepath.Join(tmp, "proxy-v0.0.0")
		buildProxy(t, snap, bad, pub)
		f, _ := modfile.Parse("go.mod", committedGoMod(t, snap, sub), nil)
		if err := f.AddRequire(rootPath, "v0.0.0"); err != nil {
			t.Fatal(err)
		}
		data, _ := f.Format()
		write(t, proxyFile(bad, sub, ".mod"), data)
		dir := newConsumer(t, filepath.Join(tmp, "consumer-v0.0.0"), env, "v000")
		benv := consumerEnv(fileURL(bad)+","+others, filepath.Join(tmp, "modcache-v0.0.0"))
		out, err := goRun(dir, benv, "get", sub.Path+"@"+sub.Version)
		if err == nil || !strings.Contains(out, rootPath+"@v0.0.0") {
			t.Fatalf("go get %s with a go.mod requiring %s v0.0.0: err=%v, want a failure naming %s@v0.0.0:\n%s", sub, rootPath, err, rootPath, out)
		}
	})

	// A user of each module: an empty module outside the repository, go get of that module
	// alone (the README's Installation line for it, as written, else the module at its release
	// version), the README's quick starts for it unchanged, go mod tidy, go build.
	readme, qss, gets := readme(t, root)
	installs := map[*mod][]string{}
	for _, arg := range gets {
		p, _, _ := strings.Cut(arg, "@")
		m := owner(pub, []string{p})
		if m == nil {
			t.Errorf("%s: go get %s: no orymfa module provides %s", readme, arg, p)
			continue
		}
		installs[m] = append(installs[m], arg)
	}
	groups := map[*mod][]quickStart{}
	for _, qs := range qss {
		m := owner(pub, qs.Imports)
		if m == nil {
			t.Errorf("%s:%d: the quick start imports no orymfa module", readme, qs.Line)
			continue
		}
		groups[m] = append(groups[m], qs)
	}
	for _, m := range pub {
		if len(groups[m]) == 0 {
			t.Logf("note: %s has no quick start in %s (installed and built, but no README program uses it)", m.Path, readme)
		}
		if len(installs[m]) == 0 {
			t.Logf("note: %s has no go get line in the Installation section of %s", m.Path, readme)
		}
	}
	for _, m := range pub {
		t.Run("consumer/"+m.Name(), func(t *testing.T) {
			dir := newConsumer(t, filepath.Join(tmp, "consumer", strings.ReplaceAll(m.Name(), "/", "_")), env, m.Name())
			args := installs[m]
			if len(args) == 0 {
				args = []string{m.Path + "@" + m.Version}
			}
			for _, arg := range args {
				goCmd(t, dir, env, "get", arg)
			}
			for i, qs := range groups[m] {
				pkg := filepath.Join(dir, fmt.Sprintf("quickstart%d", i+1))
				if err := os.Mkdir(pkg, 0o755); err != nil {
					t.Fatal(err)
				}
				write(t, filepath.Join(pkg, "main.go"), []byte(qs.Source))
			}
			if len(groups[m]) > 0 {
				goCmd(t, dir, env, "mod", "tidy") // (it would drop a module that nothing imports)
				bin := filepath.Join(tmp, "bin", strings.ReplaceAll(m.Name(), "/", "_")) + string(filepath.Separator)
				if out, err := goRun(dir, env, "build", "-trimpath", "-o", bin, "./..."); err != nil {
					t.Fatalf("the quick starts of %s for %s do not build unchanged: %v\n%s", readme, m.Path, err, out)
				}
			}
			// Every package of the module builds as a dependency, not only those the quick
			// starts import.
			goCmd(t, dir, env, "build", "-mod=mod", "-trimpath", m.Path+"/...")
			checkConsumerGraph(t, dir, env, m, pub)
		})
	}
	t.Logf("install proof: %v", time.Since(start).Round(time.Millisecond))
}

func snapshotName(s *snapshot) string {
	if s.FromTree {
		return "the working tree"
	}
	return "commit " + s.Rev[:12]
}

// committedGoMod is the go.mod of module m in the snapshot's commit.
func committedGoMod(t testing.TB, s *snapshot, m *mod) []byte {
	t.Helper()
	return s.gitRaw(t, "show", s.Rev+":"+joinDir(m.Dir, "go.mod"))
}

// owner is the publishable module that provides the orymfa packages a quick start imports.
func owner(pub []*mod, imports []string) *mod {
	var best *mod
	for _, imp := range imports {
		for _, m := range pub {
			if (imp == m.Path || strings.HasPrefix(imp, m.Path+"/")) && (best == nil || len(m.Path) > len(best.Path)) {
				best = m
			}
		}
	}
	return best
}

// newConsumer makes an empty module as a user does, with go mod init.
func newConsumer(t testing.TB, dir string, env []string, name string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	goCmd(t, dir, env, "mod", "init", "example.com/"+strings.NewReplacer("/", "-", ".", "-").Replace(name)+"-app")
	return dir
}

// checkConsumerGraph checks what a user of module m got: every orymfa module at its release
// version from the proxy (no replace), and nothing of the other frameworks or of orymfa's
// test beds in the module graph.
func checkConsumerGraph(t *testing.T, dir string, env []string, m *mod, pub []*mod) {
	type listed struct {
		Path    string
		Version string
		Replace *struct{ Path, Version string }
		Dir     string
	}
	if out, err := goRun(dir, env, "list", "-m", "all"); err != nil {
		t.Fatalf("a user of %s cannot list their module graph (go list -m all; go mod tidy and govulncheck fail the same way): %v\n%s", m.Path, err, out)
	}
	all := goJSON[listed](t, dir, env, "list", "-m", "-json", "all")
	rel := map[string]*mod{}
	for _, p := range pub {
		rel[p.Path] = p
	}
	// The other adapters' frameworks: what their go.mod requires directly, less what this
	// module requires.
	mine := map[string]bool{}
	for _, r := range m.File.Require {
		mine[r.Mod.Path] = true
	}
	foreign := map[string]string{}
	for _, p := range pub {
		if p == m || p.Dir == "" {
			continue
		}
		for _, r := range p.File.Require {
			if !r.Indirect && !mine[r.Mod.Path] && rel[r.Mod.Path] == nil {
				foreign[r.Mod.Path] = p.Name()
			}
		}
	}
	// What m's own third-party requirements bring is m's to bring, even where another
	// adapter requires it directly too (grpc-go requires OpenTelemetry, like the otel module).
	for path := range thirdPartyReach(t, dir, env, m, rel) {
		delete(foreign, path)
	}
	var graph []string
	sawRoot := false
	for _, l := range all {
		graph = append(graph, l.Path+" "+l.Version)
		if l.Path == rootPath {
			sawRoot = true
		}
		if p := rel[l.Path]; p != nil {
			if l.Replace != nil {
				t.Errorf("%s is replaced by %s %s", l.Path, l.Replace.Path, l.Replace.Version)
			}
			if l.Version != p.Version && l.Version != "" {
				t.Errorf("%s resolved at %s, want the release %s", l.Path, l.Version, p.Version)
			}
		}
		if by, ok := foreign[l.Path]; ok {
			t.Errorf("%s (a requirement of %s) is in the module graph of a user of %s", l.Path, by, m.Path)
		}
		if slices.Contains(neverInUsersGraph, l.Path) {
			t.Errorf("%s, a test-only dependency, is in the module graph of a user of %s", l.Path, m.Path)
		}
	}
	if !sawRoot {
		t.Errorf("%s is not in the module graph", rootPath)
	}
	sort.Strings(graph)
	if t.Failed() {
		t.Logf("module graph of a user of %s:\n%s", m.Path, strings.Join(graph, "\n"))
	} else {
		t.Logf("%s: %d modules in the user's graph", m.Path, len(graph))
	}
}

// thirdPartyReach is every module path reachable in the user's module graph from m without
// passing through another orymfa module: what m's own third-party requirements need.
func thirdPartyReach(t *testing.T, dir string, env []string, m *mod, rel map[string]*mod) map[string]bool {
	out, err := goRun(dir, env, "mod", "graph")
	if err != nil {
		t.Fatalf("go mod graph in a user's module of %s: %v\n%s", m.Path, err, out)
	}
	edges := map[string][]string{}
	for _, line := range strings.Split(out, "\n") {
		from, to, ok := strings.Cut(strings.TrimSpace(line), " ")
		if ok {
			edges[from] = append(edges[from], to)
		}
	}
	pathOf := func(node string) string { p, _, _ := strings.Cut(node, "@"); return p }
	reach := map[string]bool{}
	seen := map[string]bool{}
	queue := []string{m.Path + "@" + m.Version}
	for len(queue) > 0 {
		node := queue[0]
		queue = queue[1:]
		for _, next := range edges[node] {
			if seen[next] || rel[pathOf(next)] != nil {
				continue
			}
			seen[next] = true
			reach[pathOf(next)] = true
			queue = append(queue, next)
		}
	}
	return reach
}
