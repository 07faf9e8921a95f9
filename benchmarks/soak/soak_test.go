package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the soak's Kratos helper process.
func TestMain(m *testing.M) {
	if arg, ok := os.LookupEnv(helperEnv); ok {
		os.Exit(helperMain(arg))
	}
	os.Exit(m.Run())
}

// TestSoak runs a short soak against a real Kratos, with the stop and the restart, and checks
// every invariant of the command: no handler run without a verified session of the client's
// own, no 5xx while Kratos is up, fail closed (or the cache, within its TTL) while it is down,
// a grant soon after it is back, logouts denied after the TTL, and flat goroutines,
// descriptors and heap.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Kratos and runs for about 15 s")
	}
	cfg := defaultSoakConfig()
	cfg.Duration = 10 * time.Second
	cfg.TTL = time.Second
	cfg.Concurrency = 8
	cfg.Users = userCounts{AAL2Tokens: 6, AAL2Cookies: 3, AAL1Tokens: 2, AAL1Cookies: 2, Logouts: 4}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	rep, err := runSoak(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	printReport(&b, rep)
	t.Log("\n" + b.String())
	for _, p := range rep.problems() {
		t.Error(p)
	}
	// The down phase must have outlasted the cache, so that sessions the cache had granted
	// were refused too.
	if rep.Counts[phaseDown][kindAAL2Token][503]+rep.Counts[phaseDown][kindAAL2Token][504] == 0 {
		t.Error("no aal2 token failed closed while Kratos was down: the cache outlasted the outage")
	}
}

// TestFaultMatrix checks every Ory failure mode against every adapter: each answer is a 5xx,
// the handler never runs, a redirect's target never gets the credential, and every adapter
// answers a fault alike. The control row (no fault) must let the same requests through.
func TestFaultMatrix(t *testing.T) {
	m, err := faultMatrix(t, allAdapters)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + matrixTable(m, allAdapters))
	for _, p := range matrixProblems(m, allAdapters) {
		t.Error(p)
	}
	if len(m) != len(faults) {
		t.Errorf("%d rows, want %d", len(m), len(faults))
	}
}
