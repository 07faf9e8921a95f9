package core

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// errorLog logs the failures talking to Ory with the same attributes on every record
// (outcome, status, ory_status, duration, reason) and at most once per interval for each kind
// of failure (the status answered and Ory's own), so an Ory outage makes one line per
// interval, not one per request; the next line says how many were held back.
type errorLog struct {
	logger *slog.Logger
	every  time.Duration
	now    func() time.Time

	mu   sync.Mutex
	last map[failureKind]time.Time // when a record of each kind was last written
	held map[failureKind]int       // failures of each kind not logged since
}

// failureKind is what the rate limit counts per: the status answered and Ory's own.
type failureKind struct{ status, oryStatus int }

func newErrorLog(logger *slog.Logger, every time.Duration, now func() time.Time) *errorLog {
	return &errorLog{logger: logger, every: every, now: now, last: map[failureKind]time.Time{}, held: map[failureKind]int{}}
}

// report logs err unless a failure with the same status was logged less than every ago.
func (l *errorLog) report(ctx context.Context, err error) {
	attrs := []slog.Attr{slog.String("outcome", Unavailable.String())}
	var kind failureKind
	var ue *UnavailableError
	if errors.As(err, &ue) {
		kind = failureKind{ue.Status, ue.OryStatus}
		attrs = append(attrs, slog.Int("status", ue.Status), slog.Int("ory_status", ue.OryStatus),
			slog.Duration("duration", ue.Elapsed), slog.String("reason", ue.Reason))
	}
	if l.every > 0 {
		now := l.now()
		l.mu.Lock()
		if last, ok := l.last[kind]; ok && now.Sub(last) < l.every {
			l.held[kind]++
			l.mu.Unlock()
			return
		}
		l.last[kind] = now
		if n := l.held[kind]; n > 0 {
			attrs = append(attrs, slog.Int("suppressed", n))
			l.held[kind] = 0
		}
		l.mu.Unlock()
	}
	attrs = append(attrs, slog.Any("error", err))
	l.logger.LogAttrs(ctx, slog.LevelError, "orymfa: cannot verify the Ory session", attrs...)
}
