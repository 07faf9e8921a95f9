package ratelog

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// One record per interval and kind; the next one counts what was held back; a log without an
// interval writes everything.
func TestErrorIsRateLimitedPerKind(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := New[int](slog.New(slog.NewTextHandler(&buf, nil)), 10*time.Second, func() time.Time { return now })
	boom := errors.New("boom")
	for range 1000 {
		l.Error(context.Background(), 1, "failed", []slog.Attr{slog.Int("kind", 1)}, boom)
	}
	l.Error(context.Background(), 2, "failed", []slog.Attr{slog.Int("kind", 2)}, boom)
	if n := strings.Count(buf.String(), "\n"); n != 2 || !strings.Contains(buf.String(), "kind=1") || !strings.Contains(buf.String(), "kind=2") {
		t.Fatalf("%d lines for 1000 failures of one kind and one of another, want 2:\n%s", n, buf.String())
	}
	now = now.Add(9 * time.Second)
	buf.Reset()
	l.Error(context.Background(), 1, "failed", nil, boom)
	if buf.Len() != 0 {
		t.Fatalf("written within the interval: %s", buf.String())
	}
	now = now.Add(time.Second)
	l.Error(context.Background(), 1, "failed", nil, boom)
	if !strings.Contains(buf.String(), "suppressed=1000 error=boom") {
		t.Fatalf("the next line does not count the held-back records before the error: %s", buf.String())
	}

	buf.Reset()
	every := New[int](slog.New(slog.NewTextHandler(&buf, nil)), -1, func() time.Time { return now })
	for range 3 {
		every.Error(context.Background(), 1, "failed", nil, boom)
	}
	if n := strings.Count(buf.String(), "\n"); n != 3 {
		t.Fatalf("without an interval: %d lines for 3 records", n)
	}
}
