package sshapp

import (
	"net"
	"sync"
	"time"

	"chatroom/sshd"
)

// newNames bounds how many names each address (IPv4, or IPv6 /64) binds
// in an hour, so that a stranger with throwaway keys cannot grow the store
// without end: past the limit, a new key joins with its name unbound.
// Loopback is exempt unless limitLoopback, as with sshd's per-address
// limits. It counts in fixed windows of an hour from an address's first
// binding; a window that has ended is forgotten, so it holds one small
// entry per address that bound a name in the last hour.
type newNames struct {
	per           int // bindings per address per hour; 0: no limit
	limitLoopback bool
	now           func() time.Time

	mu     sync.Mutex
	counts map[string]*window
	pruned time.Time
}

type window struct {
	start time.Time
	n     int
}

// take reserves one binding for a and reports whether it may have it; a
// reservation not used (the claim found the name taken, or failed) is
// given back with giveBack.
func (l *newNames) take(a net.Addr) bool {
	key, loopback := sshd.AddrKey(a)
	if l.per <= 0 || loopback && !l.limitLoopback {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.pruned) > time.Hour {
		for k, w := range l.counts {
			if now.Sub(w.start) >= time.Hour {
				delete(l.counts, k)
			}
		}
		l.pruned = now
	}
	if l.counts == nil {
		l.counts = make(map[string]*window)
	}
	w := l.counts[key]
	if w == nil || now.Sub(w.start) >= time.Hour {
		w = &window{start: now}
		l.counts[key] = w
	}
	if w.n >= l.per {
		return false
	}
	w.n++
	return true
}

func (l *newNames) giveBack(a net.Addr) {
	key, loopback := sshd.AddrKey(a)
	if l.per <= 0 || loopback && !l.limitLoopback {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if w := l.counts[key]; w != nil && w.n > 0 {
		w.n--
	}
}
