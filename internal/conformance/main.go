package conformance

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/orymfa/orymfa/internal/kratostest"
)

// The real Kratos projects every scenario runs against, started by Main (none under -short).
var projects = map[project]*kratostest.Project{}

// Main starts one Kratos per kind of project (one-time codes, where every user has a second
// factor; TOTP, where users start without one; a Lax TOTP project), runs the package's tests
// and stops Kratos. Under -short it starts nothing: the scenarios run against the test kit
// only. Use it as os.Exit(conformance.Main(m)).
func Main(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
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
			projects[kind] = p
		})
	}
	wg.Wait()
	defer func() {
		for _, p := range projects {
			p.Close()
		}
	}()
	if len(errs) > 0 {
		fmt.Fprintf(os.Stderr, "conformance: cannot start Ory Kratos: %v\n", errs)
		return 1
	}
	return m.Run()
}

// kratosProject returns the running Kratos project of a kind.
func kratosProject(t testing.TB, kind project) *kratostest.Project {
	t.Helper()
	p := projects[kind]
	if p == nil {
		t.Fatalf("conformance: no Kratos project %d: call conformance.Main from TestMain", kind)
	}
	return p
}
