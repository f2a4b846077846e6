package tui

import (
	"sync"
	"time"

	"chatroom/room"
)

// While a crowd comes or goes, a session holds its news until the room
// has been quiet for holdQuiet, or for maxHold in all: a reconnect storm
// of 5,000 lasts 15 s, and each session drawing every 2 s throughout was a
// tenth of the server's time while it lasted (each draw is a write to
// every session, and the storm is as long as the room is big). The people
// on the top bar are at most maxHold old. One watch for the room, not a
// look by every session, finds the quiet and tells them all at once: the
// news of a storm is drawn within holdQuiet of its end, and holding costs
// a session nothing while the storm lasts.
const (
	holdQuiet = 250 * time.Millisecond
	maxHold   = 10 * time.Second
)

// holdNews reports whether a session in a crowd holds its news a while
// longer: the room changed less than holdQuiet ago, and the session has
// not held it for maxHold.
func holdNews(quiet, held time.Duration) bool {
	return quiet < holdQuiet && held < maxHold
}

// crowdWatch waits for a room to be quiet for holdQuiet, then tells every
// session that asked. It exists only while someone waits.
type crowdWatch struct {
	room    room.Broker
	now     func() time.Time
	waiting map[*func()]bool
	timer   *time.Timer
}

var (
	crowdMu sync.Mutex // guards crowds and every crowdWatch
	crowds  = map[room.Broker]*crowdWatch{}
)

// whenQuiet calls f, from another goroutine, once r has been quiet for
// holdQuiet by now's clock, unless cancel is called first. A session that
// ends calls it: a room that is never quiet for long would otherwise keep
// every session that ever waited.
func whenQuiet(r room.Broker, now func() time.Time, f func()) (cancel func()) {
	crowdMu.Lock()
	defer crowdMu.Unlock()
	w := crowds[r]
	if w == nil {
		w = &crowdWatch{room: r, now: now, waiting: map[*func()]bool{}}
		crowds[r] = w
		w.timer = time.AfterFunc(w.wait(), w.check)
	}
	w.waiting[&f] = true
	return func() {
		crowdMu.Lock()
		defer crowdMu.Unlock()
		delete(w.waiting, &f)
		if len(w.waiting) == 0 && crowds[r] == w {
			w.timer.Stop()
			delete(crowds, r) // nobody waits: no watch
		}
	}
}

// wait is how long until the room has been quiet for holdQuiet, if it
// stays so.
func (w *crowdWatch) wait() time.Duration {
	return max(holdQuiet-w.now().Sub(w.room.Online().Changed()), 10*time.Millisecond)
}

func (w *crowdWatch) check() {
	crowdMu.Lock()
	if crowds[w.room] != w {
		crowdMu.Unlock()
		return // everyone who waited has gone
	}
	if w.now().Sub(w.room.Online().Changed()) < holdQuiet {
		w.timer.Reset(w.wait())
		crowdMu.Unlock()
		return
	}
	delete(crowds, w.room)
	waiting := w.waiting
	w.waiting = nil // a cancel from now on finds nothing to take back
	crowdMu.Unlock()
	for f := range waiting {
		(*f)()
	}
}
