package room

import "sync"

// queue holds a member's undelivered events. It is bounded by count and by
// bytes; push never blocks and reports whether the event fit.
type queue struct {
	mu       sync.Mutex
	evs      []*Event
	bytes    int
	maxLen   int
	maxBytes int
	ready    chan struct{} // holds a token while evs is not empty
}

func newQueue(maxLen, maxBytes int) *queue {
	return &queue{maxLen: maxLen, maxBytes: maxBytes, ready: make(chan struct{}, 1)}
}

func (q *queue) push(ev *Event) bool {
	n := ev.size()
	q.mu.Lock()
	if len(q.evs) >= q.maxLen || q.bytes+n > q.maxBytes {
		q.mu.Unlock()
		return false
	}
	q.evs = append(q.evs, ev)
	q.bytes += n
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return true
}

// take appends every waiting event to buf.
func (q *queue) take(buf []*Event) []*Event {
	q.mu.Lock()
	buf = append(buf, q.evs...)
	clear(q.evs)
	q.evs = q.evs[:0]
	q.bytes = 0
	q.mu.Unlock()
	return buf
}
