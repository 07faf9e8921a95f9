package conformance

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/orymfa/orymfa/internal/kratostest"
)

// The real Kratos projects the scenarios run against, started by Main (none under -short):
// one set per adapter that may run at once (TestAdapters runs adapters in parallel, up to
// GOMAXPROCS), each set used by one adapter at a time. Kratos on in-memory SQLite answers
// overlapping writes with transient errors (even a 401 for a valid session), so two adapters
// never share a set; within a set the scenarios run one after another.
var kratosSets chan kratosSet

// kratosSet is one Kratos per kind of project.
type kratosSet map[project]*kratostest.Project

// Main starts the Kratos sets (one-time codes, where every user has a second factor; TOTP,
// where users start without one; a Lax TOTP project), runs the package's tests and stops
// Kratos. Under -short it starts nothing: the scenarios run against the test kit only. Use it
// as os.Exit(conformance.Main(m)).
func Main(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	n := min(max(runtime.GOMAXPROCS(0), 1), 4)
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
		sets = make([]kratosSet, n)
	)
	for i := range sets {
		sets[i] = kratosSet{}
		for kind, start := range map[project]func() (*kratostest.Project, error){
			codeMFA: func() (*kratostest.Project, error) { return kratostest.Start(ctx, kratostest.CodeMFA) },
			totp:    func() (*kratostest.Project, error) { return kratostest.Start(ctx, kratostest.TOTP) },
			lax: func() (*kratostest.Project, error) {
				return kratostest.Start(ctx, kratostest.TOTP, kratostest.WithLax())
			},
		} {
			wg.Go(func() {
				p, err := start()
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, fmt.Errorf("project %d: %w", kind, err))
					return
				}
				sets[i][kind] = p
			})
		}
	}
	wg.Wait()
	defer func() {
		for _, set := range sets {
			for _, p := range set {
				p.Close()
			}
		}
	}()
	if len(errs) > 0 {
		fmt.Fprintf(os.Stderr, "conformance: cannot start Ory Kratos: %v\n", errs)
		return 1
	}
	kratosSets = make(chan kratosSet, n)
	for _, set := range sets {
		kratosSets <- set
	}
	return m.Run()
}

// takeKratos lends the caller a Kratos set for the rest of its test (nil under -short).
func takeKratos(t *testing.T) kratosSet {
	if testing.Short() {
		return nil
	}
	if kratosSets == nil {
		t.Fatal("conformance: no Kratos: call conformance.Main from TestMain")
	}
	set := <-kratosSets
	t.Cleanup(func() { kratosSets <- set })
	return set
}

// kratosProject returns the set's running Kratos project of a kind.
func (s kratosSet) kratosProject(t testing.TB, kind project) *kratostest.Project {
	t.Helper()
	p := s[kind]
	if p == nil {
		t.Fatalf("conformance: no Kratos project %d", kind)
	}
	return p
}
