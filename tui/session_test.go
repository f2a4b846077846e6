package tui

import (
	"testing"
	"time"
)

// A big room gathers news for longer, so that a crowd arriving costs each
// session a few draws, not four a second.
func TestBigRoomsGatherNewsForLonger(t *testing.T) {
	for _, c := range []struct {
		online int
		want   time.Duration
	}{{0, 250 * time.Millisecond}, {499, 250 * time.Millisecond}, {500, 500 * time.Millisecond},
		{1000, time.Second}, {2999, 2750 * time.Millisecond}, {5000, 3 * time.Second}, {100000, 3 * time.Second}} {
		if got := newsEvery(c.online); got != c.want {
			t.Errorf("newsEvery(%d) = %v, want %v", c.online, got, c.want)
		}
	}
}
