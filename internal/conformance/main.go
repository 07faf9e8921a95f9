package conformance

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/orymfa/orymfa/internal/kratostest"
)

// The two real Kratos projects every scenario runs against, started by Main.
var projects = map[kratostest.Kind]*kratostest.Project{}

// Main starts one Kratos per kind of project (one-time codes, where every user has a second
// factor; TOTP, where users start without one), runs the package's tests and stops Kratos.
// Use it as os.Exit(conformance.Main(m)).
func Main(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, kind := range []kratostest.Kind{kratostest.CodeMFA, kratostest.TOTP} {
		p, err := kratostest.Start(ctx, kind)
		if err != nil {
			fmt.Fprintf(os.Stderr, "conformance: cannot start Ory Kratos (%v): %v\n", kind, err)
			closeProjects()
			return 1
		}
		projects[kind] = p
	}
	defer closeProjects()
	return m.Run()
}

func closeProjects() {
	for _, p := range projects {
		p.Close()
	}
}

// Project returns the running Kratos project of a kind, for an adapter's own extra tests.
func Project(t testing.TB, kind kratostest.Kind) *kratostest.Project {
	t.Helper()
	p := projects[kind]
	if p == nil {
		t.Fatalf("conformance: no %v project: call conformance.Main from TestMain", kind)
	}
	return p
}
