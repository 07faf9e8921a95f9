package core

import (
	"testing"
	"time"
)

// A forgotten session's tokens are refused, from the cache too, until any token minted
// before the forget has expired; other sessions are untouched, and entries that ran out go.
func TestForgetTokens(t *testing.T) {
	var now int64 = 1e18
	v := &Verifier{now: func() time.Time { return time.Unix(0, now) }}
	v.forgetTokens("s1") // outside JWT mode: nothing to do
	v.tokens = &tokenVerifier{maxTTL: int64(time.Hour), forgets: &forgetList{}}
	f := v.tokens.forgets
	if f.has("s1", now) {
		t.Fatal("an empty list refuses")
	}
	v.forgetTokens("s1")
	if !f.has("s1", now) || f.has("s2", now) {
		t.Fatal("the forgotten session passes, or another is refused")
	}
	now += int64(time.Hour + tokenLeeway)
	if f.has("s1", now) {
		t.Fatal("refused after every token it had has expired")
	}
	v.forgetTokens("s2")
	if f.n.Load() != 1 {
		t.Fatalf("%d entries: the expired one was kept", f.n.Load())
	}
}
