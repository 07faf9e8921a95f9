package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/orymfa/orymfa/internal/kratostest"
)

// TestColdStartMakesOneWhoamiCall checks the coalescing target for every adapter against a
// real Kratos: 200 concurrent first requests with one session make exactly one whoami call,
// and all of them are let through.
func TestColdStartMakesOneWhoamiCall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := kratostest.Start(ctx, kratostest.TOTP)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	token, err := p.RegisterAPI(ctx, kratostest.NewEmail(), kratostest.Password)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.EnrollTOTPAPI(ctx, token); err != nil {
		t.Fatal(err)
	}
	for _, adapter := range allAdapters {
		t.Run(adapter, func(t *testing.T) {
			res, err := coldStart(ctx, p, adapter, token, 200)
			if err != nil {
				t.Fatal(err)
			}
			if res.OK != 200 || res.Calls != 1 || res.ProxyCalls != 1 {
				t.Fatalf("%d of 200 allowed with %d whoami calls (proxy saw %d), want 200 with exactly 1", res.OK, res.Calls, res.ProxyCalls)
			}
		})
	}
}

// TestCommandRuns runs the whole benchmark command briefly: it must finish without errors and
// report every adapter. It checks that the command works, not how fast anything is.
func TestCommandRuns(t *testing.T) {
	var out bytes.Buffer
	if err := run(100*time.Millisecond, 0, 1, 2, strings.Join(allAdapters, ","), 20, 50, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, adapter := range allAdapters {
		if !strings.Contains(out.String(), adapter) {
			t.Fatalf("no row for %s in:\n%s", adapter, out.String())
		}
	}
	if bad := regexp.MustCompile(`errors [1-9]`).FindString(out.String()); bad != "" {
		t.Fatalf("requests failed during the load:\n%s", out.String())
	}
	t.Log(out.String())
}
