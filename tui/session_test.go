package tui

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"chatroom/internal/testkit"
	"chatroom/room"
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

// In a crowd, a session holds its news while the room keeps changing, up
// to maxHold, and draws it once the room has been quiet for holdQuiet.
func TestACrowdsNewsIsHeldWhileItLasts(t *testing.T) {
	var mu sync.Mutex // the room's watch reads the clock from its timer
	clock := time.Unix(1e6, 0)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	r := room.New(room.Options{Now: now})
	var out bytes.Buffer
	m := testModel(r, &out, 80, 24)
	m.start("viewer")
	m.Update(resizeMsg{80, 24})
	pm := &pump{m: m, room: r, member: m.member, now: now, own: make(chan struct{}, 1)}
	pm.news = time.AfterFunc(time.Hour, func() {})
	defer pm.news.Stop()
	pm.seen = r.Online()
	join := func(n int) {
		for range n {
			if _, err := r.Join(fmt.Sprintf("p%d", r.Online().Len()), ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	drawn := func() int { return m.online.Len() }
	const step = time.Second

	join(crowd) // a crowd: drawn at the room's pace
	pm.ready()
	pm.newsDue()
	if drawn() != crowd+1 || pm.crowdGap == 0 {
		t.Fatalf("the first crowd: %d drawn online, gap %v", drawn(), pm.crowdGap)
	}
	join(1) // more come: gathered, then held while they keep coming
	pm.ready()
	for i := range 3 {
		advance(step)
		join(1)
		pm.newsDue()
		if !pm.gathering || drawn() != crowd+1 {
			t.Fatalf("check %d while the crowd comes: gathering %v, %d drawn online", i, pm.gathering, drawn())
		}
	}
	if pm.unwatch == nil {
		t.Fatal("the session holds its news without asking the room's watch for the quiet")
	}
	advance(holdQuiet - time.Millisecond)
	pm.newsDue() // the last came a moment ago
	if !pm.gathering || drawn() != crowd+1 {
		t.Fatalf("a moment after the last came: gathering %v, %d drawn online", pm.gathering, drawn())
	}
	advance(holdQuiet) // quiet for holdQuiet: the watch tells the pump
	for pm.gathering {
		select {
		case <-pm.own:
			pm.runPosted()
		case <-time.After(10 * time.Second):
			t.Fatal("the room's watch never told the pump of the quiet")
		}
	}
	if pm.gathering || drawn() != crowd+5 {
		t.Fatalf("once quiet: gathering %v, %d drawn online, want %d", pm.gathering, drawn(), crowd+5)
	}

	join(crowd) // a crowd that never stops is drawn after maxHold all the same
	pm.ready()
	pm.newsDue()
	join(1)
	pm.ready()
	before, start := drawn(), now()
	for now().Sub(start) < maxHold-step {
		advance(step)
		join(1)
		pm.newsDue()
		if drawn() != before {
			t.Fatalf("after %v of a crowd: drawn", now().Sub(start))
		}
	}
	advance(step)
	join(1)
	pm.newsDue()
	if drawn() != r.Online().Len() {
		t.Fatalf("after %v of a crowd: %d drawn online, %d online", maxHold, drawn(), r.Online().Len())
	}
	advance(holdQuiet) // the watch, quiet now, is done
	waitForNoWatch(t, r)
}

// waitForNoWatch waits for r's crowd watch to have told everyone.
func waitForNoWatch(t *testing.T, r room.Broker) {
	t.Helper()
	gone := testkit.Eventually(func() bool {
		crowdMu.Lock()
		defer crowdMu.Unlock()
		return crowds[r] == nil
	})
	if !gone {
		t.Fatal("the room's crowd watch never ended")
	}
}

// The room's watch tells everyone who waits for the quiet, once, and only
// when the room has been quiet for holdQuiet; then it is gone.
func TestTheRoomsQuietIsToldToThoseWaitingForIt(t *testing.T) {
	r := room.New(room.Options{})
	defer r.Close("")
	for i := range crowd {
		if _, err := r.Join(fmt.Sprint("p", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	told := make(chan time.Time, 4)
	for range 3 {
		whenQuiet(r, time.Now, func() { told <- time.Now() })
	}
	whenQuiet(r, time.Now, func() { told <- time.Time{} })() // gone at once: never told
	last := r.Online().Changed()
	for i := range 3 {
		select {
		case at := <-told:
			if at.Sub(last) < holdQuiet {
				t.Fatalf("told %v after the last change, before the room had been quiet for %v", at.Sub(last), holdQuiet)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of 3 were told of the quiet", i)
		}
	}
	waitForNoWatch(t, r)
	select {
	case <-told:
		t.Fatal("told twice, or told after leaving")
	default:
	}

	// When everyone who waited has gone, so has the watch.
	cancel := whenQuiet(r, time.Now, func() { told <- time.Now() })
	cancel()
	crowdMu.Lock()
	defer crowdMu.Unlock()
	if crowds[r] != nil {
		t.Fatal("a watch with nobody waiting")
	}
}

// The pump takes its first few events into its own struct; once a batch
// has outgrown that (here, one that begins with the count of messages
// skipped), the struct holds none of the events it drew.
func TestThePumpHoldsNoEventItHasDrawn(t *testing.T) {
	r := room.New(room.Options{MessageRate: 1e9, MessageBurst: 1 << 20, QueueLen: 4})
	defer r.Close("")
	var out bytes.Buffer
	m := testModel(r, &out, 80, 24)
	m.start("viewer")
	m.Update(resizeMsg{80, 24})
	pm := &pump{m: m, room: r, member: m.member, now: time.Now}
	pm.evbuf = pm.evarr[:0]
	other, _ := r.Join("other", "")
	for _, n := range []int{2, 10, 1} {
		for i := range n {
			_ = other.Say(fmt.Sprint("message ", i))
		}
		pm.takeEvents()
		for i, ev := range pm.evarr {
			if ev != nil {
				t.Fatalf("after a batch of %d: the pump still holds event %d (%v) at %d", n, ev.Kind, ev.Text, i)
			}
		}
	}
	if !bytes.Contains(out.Bytes(), []byte("skipped")) {
		t.Fatal("the skipped messages were not told")
	}
}
