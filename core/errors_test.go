package core

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// An Ory outage is logged once per interval and status, with the outcome, status and
// duration attributes, and the next line counts what was held back.
func TestErrorLogIsRateLimited(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	report := newErrorLog(slog.New(slog.NewTextHandler(&buf, nil)), 10*time.Second, func() time.Time { return now })
	down := &UnavailableError{Status: 503, Reason: "whoami failed", Err: errors.New("connection refused"), Elapsed: 3 * time.Millisecond}
	for range 1000 {
		report(context.Background(), down)
	}
	report(context.Background(), &UnavailableError{Status: 504, Reason: "whoami timed out", Elapsed: 5 * time.Second})
	if n := strings.Count(buf.String(), "\n"); n != 2 {
		t.Fatalf("%d lines for 1000 failures of one kind and one of another, want 2:\n%s", n, buf.String())
	}
	for _, attr := range []string{"outcome=unavailable", "status=503", "duration=3ms", "status=504", `reason="whoami failed"`} {
		if !strings.Contains(buf.String(), attr) {
			t.Fatalf("no %s in:\n%s", attr, buf.String())
		}
	}
	now = now.Add(11 * time.Second)
	buf.Reset()
	report(context.Background(), down)
	if !strings.Contains(buf.String(), "suppressed=999") {
		t.Fatalf("the next line does not count the held-back failures: %s", buf.String())
	}
}
