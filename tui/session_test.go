package tui

import (
	"slices"
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
		{1000, time.Second}, {1999, 1750 * time.Millisecond}, {5000, 2 * time.Second}, {100000, 2 * time.Second}} {
		if got := newsEvery(c.online); got != c.want {
			t.Errorf("newsEvery(%d) = %v, want %v", c.online, got, c.want)
		}
	}
}

// While a crowd comes, each gathering is twice as long as the last, up to
// two seconds; once it has passed, news is drawn at the room's pace again.
func TestACrowdIsGatheredForLonger(t *testing.T) {
	var gaps []time.Duration
	gap := time.Duration(0)
	for _, changes := range []int{100, 100, 100, 100, 100, 3, 100} {
		gap = crowdGap(gap, 100, changes)
		gaps = append(gaps, gap)
	}
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second, 0, 500 * time.Millisecond}
	if !slices.Equal(gaps, want) {
		t.Errorf("gaps %v, want %v", gaps, want)
	}
	if got := crowdGap(0, 1000, 19); got != 0 {
		t.Errorf("19 changes in a room of 1,000 gathered for %v, want the room's pace", got)
	}
	if got := crowdGap(0, 1000, 20); got != 2*time.Second {
		t.Errorf("a crowd in a room of 1,000 gathered for %v, want 2s", got)
	}
}
