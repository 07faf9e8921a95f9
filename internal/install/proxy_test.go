package install

import (
	stdzip "archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/zip"
)

// A snapshot is a git repository holding one commit of what would be tagged.
type snapshot struct {
	Dir  string    // a git work tree (only its .git is read)
	Rev  string    // the commit
	Time time.Time // its commit time
	// FromTree says the commit is of the working tree as it is, not of a commit of the
	// repository.
	FromTree bool
	env      []string // for git, ignoring the user's and the system's git configuration
}

// gitEnv is the environment for git: no user or system configuration (a commit.gpgsign or a
// url rewrite there must not change the outcome) and none of the GIT_ variables of a hook.
func gitEnv(globalConfig string) []string {
	var env []string
	for _, s := range os.Environ() {
		if !strings.HasPrefix(s, "GIT_") {
			env = append(env, s)
		}
	}
	return append(env,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL="+globalConfig,
		"GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=orymfa release check", "GIT_AUTHOR_EMAIL=release@orymfa.invalid",
		"GIT_COMMITTER_NAME=orymfa release check", "GIT_COMMITTER_EMAIL=release@orymfa.invalid",
	)
}

// git runs git in the snapshot and returns its output, trimmed.
func (s *snapshot) git(t testing.TB, args ...string) string {
	t.Helper()
	return strings.TrimSpace(string(s.gitRaw(t, args...)))
}

// gitRaw runs git in the snapshot and returns its standard output as it is.
func (s *snapshot) gitRaw(t testing.TB, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = s.Dir
	cmd.Env = s.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out
}

// takeSnapshot commits what would be published into a new repository under dir: the commit
// rev of the repository at root when rev is set (scripts/release.sh passes HEAD), else the
// working tree as `git add -A` sees it (so .gitignore'd files stay out, as from a real commit).
func takeSnapshot(t testing.TB, root, dir, rev string) *snapshot {
	t.Helper()
	cfg := filepath.Join(dir, "gitconfig")
	// The user's configuration is not read, so neither is a safe.directory they set for a
	// repository owned by someone else: trust the repositories this test reads.
	if err := os.WriteFile(cfg, []byte("[safe]\n\tdirectory = *\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &snapshot{Dir: filepath.Join(dir, "snapshot"), env: gitEnv(cfg)}
	if rev != "" {
		// A clone sharing the repository's objects (so a detached HEAD is there too), with a
		// .git directory of its own even when the repository is a git worktree.
		src := &snapshot{Dir: root, env: s.env}
		s.Rev = src.git(t, "rev-parse", "--verify", rev+"^{commit}")
		src.git(t, "clone", "-q", "--shared", "--no-checkout", root, s.Dir)
	} else {
		if err := os.Mkdir(s.Dir, 0o755); err != nil {
			t.Fatal(err)
		}
		s.FromTree = true
		s.git(t, "init", "-q")
		gitDir := filepath.Join(s.Dir, ".git")
		s.git(t, "--git-dir="+gitDir, "--work-tree="+root, "add", "-A")
		s.git(t, "--git-dir="+gitDir, "--work-tree="+root, "commit", "-q", "--no-verify", "-m", "snapshot of the working tree")
		s.Rev = s.git(t, "rev-parse", "HEAD")
	}
	ct := s.git(t, "log", "-1", "--format=%cI", s.Rev)
	tm, err := time.Parse(time.RFC3339, ct)
	if err != nil {
		t.Fatal(err)
	}
	s.Time = tm.UTC()
	return s
}

// buildProxy writes a file-based module proxy (the GOPROXY protocol as files: see
// https://go.dev/ref/mod#goproxy-protocol) under dir with every publishable module at its
// release version, taken from the snapshot. The .mod is the module's go.mod as committed,
// replace lines included, exactly what a proxy serves for a tag: the go command applies
// replace (and exclude) directives only in the main module's go.mod and ignores them in a
// dependency's, so they are harmless there and dropping them would only make our .mod differ
// from the go.mod inside the zip.
func buildProxy(t testing.TB, snap *snapshot, dir string, pub []*mod) {
	t.Helper()
	for _, m := range pub {
		esc, err := module.EscapePath(m.Path)
		if err != nil {
			t.Fatal(err)
		}
		vdir := filepath.Join(dir, filepath.FromSlash(esc), "@v")
		if err := os.MkdirAll(vdir, 0o755); err != nil {
			t.Fatal(err)
		}
		gomod := committedGoMod(t, snap, m)
		info, _ := json.Marshal(struct {
			Version string
			Time    time.Time
		}{m.Version, snap.Time})
		write(t, filepath.Join(vdir, "list"), []byte(m.Version+"\n"))
		write(t, filepath.Join(vdir, m.Version+".info"), info)
		write(t, filepath.Join(vdir, m.Version+".mod"), gomod)

		// From the snapshot's commit, as `git archive` has it: like the go command fetching a
		// tag, this leaves out nested modules and .gitignore'd files, and puts the repository's
		// LICENSE into a sub-module that has none.
		var zbuf bytes.Buffer
		if err := zip.CreateFromVCS(&zbuf, module.Version{Path: m.Path, Version: m.Version}, snap.Dir, snap.Rev, m.Dir); err != nil {
			t.Fatalf("%s: %v", m.Name(), err)
		}
		write(t, filepath.Join(vdir, m.Version+".zip"), zbuf.Bytes())
		checkLicense(t, m, zbuf.Bytes())
	}
}

// checkLicense fails unless the module's zip carries the license at its root, as pkg.go.dev
// needs to show the module's documentation and a company needs to adopt it.
func checkLicense(t testing.TB, m *mod, data []byte) {
	t.Helper()
	zr, err := stdzip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("%s: %v", m.Name(), err)
	}
	for _, f := range zr.File {
		if f.Name == m.String()+"/LICENSE" {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			text, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(text, []byte("Apache License")) || !bytes.Contains(text, []byte("Version 2.0, January 2004")) {
				t.Errorf("%s: the module zip's LICENSE is not the Apache License 2.0", m)
			}
			return
		}
	}
	t.Errorf("%s: the module zip has no LICENSE", m)
}

func joinDir(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func write(t testing.TB, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// proxyFile is the name of a proxy file of module m.
func proxyFile(dir string, m *mod, ext string) string {
	esc, _ := module.EscapePath(m.Path)
	return filepath.Join(dir, filepath.FromSlash(esc), "@v", m.Version+ext)
}

// sums are the go.sum hashes of module m as served by the proxy at dir.
func sums(t testing.TB, dir string, m *mod) (zipSum, modSum string) {
	t.Helper()
	zipSum, err := dirhash.HashZip(proxyFile(dir, m, ".zip"), dirhash.DefaultHash)
	if err != nil {
		t.Fatal(err)
	}
	modSum, err = dirhash.DefaultHash([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return os.Open(proxyFile(dir, m, ".mod"))
	})
	if err != nil {
		t.Fatal(err)
	}
	return zipSum, modSum
}

// fileURL is the file:// URL of an absolute local directory, for GOPROXY.
func fileURL(dir string) string {
	return "file://" + filepath.ToSlash(dir)
}

// consumerEnv is the environment for the go command of a user outside the repository who
// reaches orymfa's modules only through the proxy at proxyDir and every other module through
// the list thirdParty returns, with a module cache of its
// own (modcache) so that nothing of this run is left in the machine's cache. Every variable
// that could send the go command elsewhere is set, so nothing inherited changes the outcome:
// GOFLAGS is replaced as a whole (an inherited -mod=vendor or -modfile would break the run).
func consumerEnv(proxy, modcache string) []string {
	return setEnv(os.Environ(),
		"GOPROXY="+proxy,
		"GONOPROXY=", "GOPRIVATE=", "GONOSUMDB=", "GOINSECURE=", "GOVCS=",
		// Our modules are in no checksum database, and the cache's modules were verified
		// when they were downloaded.
		"GOSUMDB=off",
		"GOMODCACHE="+modcache,
		"GOFLAGS=-modcacherw", // so that the test's temporary directories can be removed
		"GOWORK=off",
		"GO111MODULE=on",
		"GOTOOLCHAIN=local",
		"GOAUTH=off",
		// The go command indexes the packages of a module in the module cache by its
		// directory alone, as module cache contents never change; ours do from one run to
		// the next at the same version (see proofModCache), so no index.
		"GODEBUG=goindex=0",
	)
}

// thirdParty is the proxy list through which the proof's users reach every module that is not
// orymfa's: the machine's module cache first (its cache/download directory is laid out as a
// module proxy, so what a build already fetched costs no network), then the proxy list of the
// environment (GOPROXY), for what the cache lacks. The cache alone is not enough: `go list -m
// all` asks for the .info of modules that no build ever downloaded, which an empty cache on a
// fresh machine does not hold. The go command moves to the next entry of a comma-separated
// list when one answers "not found", as a file proxy does for a missing file.
func thirdParty(t testing.TB) string {
	t.Helper()
	env := repoEnv()
	cache := strings.TrimSpace(goCmd(t, ".", env, "env", "GOMODCACHE"))
	if cache == "" {
		t.Fatal("go env GOMODCACHE is empty")
	}
	list := fileURL(filepath.Join(cache, "cache", "download"))
	if up := strings.TrimSpace(goCmd(t, ".", env, "env", "GOPROXY")); up != "" && up != "off" {
		list += "," + up
	}
	return list
}

func (m *mod) String() string { return fmt.Sprintf("%s@%s", m.Path, m.Version) }

// checkTags pushes the snapshot's commit to a bare repository, tags it as scripts/release.sh
// prints, and lets the go command fetch every module from there in direct mode (GitHub's URL
// rewritten to the bare repository by git's url.insteadOf), as the public proxy would from
// GitHub once the tags are pushed. Each module must list exactly its release version (so a
// tag of one module is not taken for another's: echo/v5.2.0 and echo/v0.2.0 share the prefix
// "echo/") and hash as the file proxy's zip and .mod do.
func checkTags(t *testing.T, snap *snapshot, tmp, thirdParty, proxyDir string, pub []*mod) {
	origin := filepath.Join(tmp, "origin.git")
	snap.git(t, "init", "-q", "--bare", origin)
	snap.git(t, "push", "-q", "--no-verify", origin, snap.Rev+":refs/heads/main")
	for _, m := range pub {
		snap.git(t, "--git-dir="+origin, "tag", m.Tag, snap.Rev)
	}
	cfg := filepath.Join(tmp, "gitconfig-direct")
	write(t, cfg, []byte(fmt.Sprintf("[url %q]\n\tinsteadOf = https://%s\n[protocol \"file\"]\n\tallow = always\n", fileURL(origin), rootPath)))
	env := setEnv(consumerEnv(thirdParty, filepath.Join(tmp, "modcache-direct")),
		"GONOPROXY="+rootPath,
		"GIT_CONFIG_GLOBAL="+cfg,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
	)
	dir := newConsumer(t, filepath.Join(tmp, "consumer-tags"), env, "tags")
	for _, m := range pub {
		type listed struct{ Versions []string }
		l := goJSON[listed](t, dir, env, "list", "-m", "-versions", "-json", m.Path)
		if len(l) != 1 || !slices.Equal(l[0].Versions, []string{m.Version}) {
			t.Errorf("tag %s: go list -m -versions %s = %v, want [%s]", m.Tag, m.Path, l, m.Version)
		}
		type downloaded struct{ Version, Sum, GoModSum, Error string }
		d := goJSON[downloaded](t, dir, env, "mod", "download", "-json", m.Path+"@"+m.Version)
		zipSum, modSum := sums(t, proxyDir, m)
		switch {
		case len(d) != 1 || d[0].Error != "":
			t.Errorf("tag %s: go mod download %s: %+v", m.Tag, m, d)
		case d[0].Sum != zipSum || d[0].GoModSum != modSum:
			t.Errorf("tag %s: %s from git hashes %s (go.mod %s), from the file proxy %s (go.mod %s)", m.Tag, m, d[0].Sum, d[0].GoModSum, zipSum, modSum)
		}
	}
}

// proofModCache is the module cache of the proof's users: its own, so that nothing of a run
// lands in the machine's module cache (where a v0.2.0 built from one working tree would
// shadow the next), but kept between runs under $ORYMFA_CACHE (default ~/.cache/orymfa) as
// install-modcache, so that the third-party modules are extracted once per machine rather than
// once per run. orymfa's own modules are removed from it before and after each run, and a lock
// keeps two runs apart. Where it cannot lock, each run gets a temporary one.
func proofModCache(t testing.TB) string {
	t.Helper()
	base := os.Getenv("ORYMFA_CACHE")
	if base == "" {
		if d, err := os.UserCacheDir(); err == nil {
			base = filepath.Join(d, "orymfa")
		}
	}
	if base == "" || !filepath.IsAbs(base) {
		return filepath.Join(t.TempDir(), "modcache")
	}
	dir := filepath.Join(base, "install-modcache")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	unlock, ok := lockFile(dir + ".lock")
	if !ok {
		return filepath.Join(t.TempDir(), "modcache")
	}
	purge := func() {
		// Extracted (github.com/orymfa/orymfa@v0.2.0, github.com/orymfa/orymfa/gin@v0.2.0, …)
		// and downloaded.
		for _, d := range []string{
			filepath.Join(dir, "github.com", "orymfa"),
			filepath.Join(dir, "cache", "download", "github.com", "orymfa"),
		} {
			if err := os.RemoveAll(d); err != nil {
				t.Errorf("cleaning the proof's module cache: %v", err)
			}
		}
	}
	purge()
	t.Cleanup(func() { purge(); unlock() })
	return dir
}
