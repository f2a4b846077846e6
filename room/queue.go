package room

import (
	"sync"
	"time"
)

// queue is a member's backlog: pointers to shared events, oldest first,
// bounded in count. push never blocks. A member that falls behind is never
// removed for it: when the backlog is full, the oldest message, join or
// leave makes room (the member draws less and is told how much it missed);
// what a member needs to keep its state (invitations, answers, private
// chats) is dropped only if there is nothing else.
type queue struct {
	mu      sync.Mutex
	evs     []*Event
	max     int
	skipped int           // messages dropped since the last take
	ready   chan struct{} // holds a token while evs is not empty, or news waits
	// small is where evs starts: a member nearly always has an event or
	// two waiting, and here they share the member's cache lines rather than
	// an array apart, for each of the thousands a message is queued to.
	small [4]*Event
}

func (q *queue) push(ev *Event) {
	q.mu.Lock()
	if len(q.evs) >= q.max {
		q.dropOne()
	}
	q.evs = append(q.evs, ev)
	q.mu.Unlock()
	q.wake()
}

// wake leaves a token in ready, if there is none.
func (q *queue) wake() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// dropOne drops the oldest event that can be missed. Called with q.mu held.
func (q *queue) dropOne() {
	i := 0
	for i < len(q.evs) && !q.evs[i].Kind.missable() {
		i++
	}
	if i == len(q.evs) {
		i = 0
	}
	if q.evs[i].Kind == Message {
		q.skipped++
	}
	copy(q.evs[i:], q.evs[i+1:])
	q.evs[len(q.evs)-1] = nil
	q.evs = q.evs[:len(q.evs)-1]
}

// take appends every waiting event to buf, after a Skipped event if some
// were dropped.
func (q *queue) take(buf []*Event, now func() time.Time) []*Event {
	q.mu.Lock()
	if q.skipped > 0 {
		buf = append(buf, &Event{Kind: Skipped, Time: now(), Skipped: q.skipped})
		q.skipped = 0
	}
	buf = append(buf, q.evs...)
	clear(q.evs)
	q.evs = q.evs[:0]
	if cap(q.evs) != len(q.small) {
		clear(q.small[:]) // outgrown: it still holds what it held then
	}
	q.mu.Unlock()
	return buf
}
