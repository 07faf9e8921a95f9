package ratelog

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Log writes error records, at most one per interval for each kind K. It is safe for
// concurrent use.
type Log[K comparable] struct {
	logger *slog.Logger
	every  time.Duration
	now    func() time.Time

	mu   sync.Mutex
	last map[K]time.Time // when a record of each kind was last written
	held map[K]int       // records of each kind not written since
}

// New returns a log that writes to logger at most once per every for each kind; every ≤ 0
// writes every record. now is the clock.
func New[K comparable](logger *slog.Logger, every time.Duration, now func() time.Time) *Log[K] {
	return &Log[K]{logger: logger, every: every, now: now, last: map[K]time.Time{}, held: map[K]int{}}
}

// Error writes msg at level Error with attrs, an attribute "suppressed" counting the records
// of kind held back since the last one (when there were any), and err as "error", unless a
// record of kind was written less than the interval ago.
func (l *Log[K]) Error(ctx context.Context, kind K, msg string, attrs []slog.Attr, err error) {
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
	l.logger.LogAttrs(ctx, slog.LevelError, msg, attrs...)
}
