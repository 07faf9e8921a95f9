package core

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// errorLog logs the failures talking to Ory with the same attributes as every record
// (outcome, status, duration, reason) and at most once per interval for each status, so an
// Ory outage makes one line per interval, not one per request; the next line says how many
// were held back.
type errorLog struct {
	logger *slog.Logger
	every  time.Duration
	now    func() time.Time

	mu   sync.Mutex
	last map[int]time.Time // per status, when a record was last written
	held map[int]int       // per status, failures not logged since
}

func newErrorLog(logger *slog.Logger, every time.Duration, now func() time.Time) *errorLog {
	return &errorLog{logger: logger, every: every, now: now, last: map[int]time.Time{}, held: map[int]int{}}
}

// report logs err unless a failure with the same status was logged less than every ago.
func (l *errorLog) report(ctx context.Context, err error) {
	attrs := []slog.Attr{slog.String("outcome", Unavailable.String())}
	status := 0
	var ue *UnavailableError
	if errors.As(err, &ue) {
		status = ue.Status
		attrs = append(attrs, slog.Int("status", ue.Status), slog.Duration("duration", ue.Elapsed), slog.String("reason", ue.Reason))
	}
	if l.every > 0 {
		now := l.now()
		l.mu.Lock()
		if last, ok := l.last[status]; ok && now.Sub(last) < l.every {
			l.held[status]++
			l.mu.Unlock()
			return
		}
		l.last[status] = now
		if n := l.held[status]; n > 0 {
			attrs = append(attrs, slog.Int("suppressed", n))
			l.held[status] = 0
		}
		l.mu.Unlock()
	}
	attrs = append(attrs, slog.Any("error", err))
	l.logger.LogAttrs(ctx, slog.LevelError, "orymfa: cannot verify the Ory session", attrs...)
}
