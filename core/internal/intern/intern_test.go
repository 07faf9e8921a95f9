package intern

import (
	"strings"
	"testing"
	"unsafe"
)

// A value seen before is shared; the table stops growing at its bound, and a value over the
// length bound is never kept.
func TestTableIsBounded(t *testing.T) {
	tab := New(2, 8)
	first := tab.String(strings.Clone("one"))
	if got := tab.String(strings.Clone("one")); unsafe.StringData(got) != unsafe.StringData(first) {
		t.Error("a value seen before is not shared")
	}
	tab.String("two")
	three := strings.Clone("three")
	if got := tab.String(three); unsafe.StringData(got) != unsafe.StringData(three) || tab.n.Load() != 2 {
		t.Errorf("a full table still grows (%d values)", tab.n.Load())
	}
	long := strings.Repeat("x", 9)
	if got := tab.Pointer(&long); got != &long {
		t.Error("a value over maxLen was interned")
	}
	if tab.Pointer(nil) != nil {
		t.Error("nil is not kept as nil")
	}
}
