package room

import (
	"fmt"
	"testing"
)

// A member's first few queued events sit in its own struct; once a burst
// has outgrown that, the struct holds none of the events given out, so a
// member pins no old message for as long as it stays.
func TestAQueueHoldsNoEventItHasGivenOut(t *testing.T) {
	r := New(Options{MessageRate: 1e9, MessageBurst: 1 << 20})
	defer r.Close("")
	a, _ := r.Join("a", "")
	b, err := r.Join("b", "")
	if err != nil {
		t.Fatal(err)
	}
	q := &b.(*member).q
	held := func(when string) {
		t.Helper()
		for i, ev := range q.small {
			if ev != nil {
				t.Fatalf("%s: the queue still holds %q at %d", when, ev.Text, i)
			}
		}
	}
	for i := range 2 {
		_ = a.Say(fmt.Sprint("small ", i))
	}
	if got := len(b.Take(nil)); got != 2 {
		t.Fatalf("took %d events, want 2", got)
	}
	held("after two")
	for i := range 2 * len(q.small) {
		_ = a.Say(fmt.Sprint("burst ", i))
	}
	if got := len(b.Take(nil)); got != 2*len(q.small) {
		t.Fatalf("took %d events, want %d", got, 2*len(q.small))
	}
	held("after a burst")
}
