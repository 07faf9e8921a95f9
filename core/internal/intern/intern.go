package intern

import (
	"sync"
	"sync/atomic"
)

// Table shares one copy of each value it has seen. It only grows, and stops growing at max
// values of at most maxLen bytes each: past the bound, a value is kept as it is. It is safe
// for concurrent use.
type Table struct {
	values sync.Map // string → *string, the shared copy
	n      atomic.Int32
	max    int32
	maxLen int
}

// New returns a table that keeps at most max values of at most maxLen bytes each.
func New(max int32, maxLen int) *Table { return &Table{max: max, maxLen: maxLen} }

// Pointer returns the shared pointer for *p's value (p itself when there is none, and p
// becomes the shared one while the table has room).
func (t *Table) Pointer(p *string) *string {
	if p == nil || len(*p) > t.maxLen {
		return p
	}
	if q, ok := t.values.Load(*p); ok {
		return q.(*string)
	}
	if t.n.Load() >= t.max {
		return p
	}
	q, loaded := t.values.LoadOrStore(*p, p)
	if !loaded {
		t.n.Add(1)
	}
	return q.(*string)
}

// String returns the shared copy of s.
func (t *Table) String(s string) string {
	if q := t.Pointer(&s); q != &s {
		return *q
	}
	return s
}
