package rpcconformance

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/orymfa/orymfa/internal/kratostest"
)

// The real Kratos projects every scenario runs against, started by Main (none under -short).
var projects = map[project]*kratostest.Project{}

// Main starts one Kratos per kind of project (one-time codes; TOTP), runs the package's tests
// and stops Kratos. Under -short it starts nothing: the scenarios run against the test kit
// only. Use it as os.Exit(rpcconformance.Main(m)).
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
	for _, kind := range []project{codeMFA, totp} {
		wg.Go(func() {
			k := kratostest.CodeMFA
			if kind == totp {
				k = kratostest.TOTP
			}
			p, err := kratostest.Start(ctx, k)
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
		fmt.Fprintf(os.Stderr, "rpcconformance: cannot start Ory Kratos: %v\n", errs)
		return 1
	}
	return m.Run()
}

// kratosProject returns the running Kratos project of a kind.
func kratosProject(t testing.TB, kind project) *kratostest.Project {
	t.Helper()
	p := projects[kind]
	if p == nil {
		t.Fatalf("rpcconformance: no Kratos project %d: call rpcconformance.Main from TestMain", kind)
	}
	return p
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
