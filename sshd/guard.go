package sshd

import (
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"chatroom/internal/reason"
)

// connGuard decides which new connections may start a handshake. It caps
// unauthenticated connections overall, dropping at random as the cap nears
// (OpenSSH's MaxStartups idea), and per address: handshakes in progress,
// connections open, new connections in a window, and a penalty for
// addresses whose handshakes keep failing (like PerSourcePenalties).
// Loopback is exempt from the per-address limits unless LimitLoopback is
// set; the overall caps always apply.
type connGuard struct {
	lim    Limits
	now    func() time.Time
	random func() float64 // in [0, 1)

	mu        sync.Mutex
	unauth    int
	addrs     map[string]*addrState
	lastSweep time.Time
}

type addrState struct {
	handshaking, open int
	recent            []time.Time // starts of connections within the window
	failures          []time.Time // failed or stalled handshakes within the window
	penaltyUntil      time.Time
	penalty           time.Duration // the last one given, doubled on repeat
}

func newConnGuard(lim Limits) *connGuard {
	return &connGuard{lim: lim, now: time.Now, random: rand.Float64, addrs: make(map[string]*addrState)}
}

// ticket follows one admitted connection through its life.
type ticket struct {
	g   *connGuard
	key string // "" when exempt from the per-address limits
	// refuse, if set, is why this connection will be refused once the
	// handshake has made a channel to tell the person (an auth banner).
	refuse refusal
	mu     sync.Mutex
	authed bool
	done   bool
}

// AddrKey groups addresses as limits see them: IPv4 by address, IPv6 by /64.
func AddrKey(a net.Addr) (key string, loopback bool) {
	var ip net.IP
	switch a := a.(type) {
	case *net.TCPAddr:
		ip = a.IP
	default:
		host, _, err := net.SplitHostPort(a.String())
		if err != nil {
			return a.String(), false
		}
		ip = net.ParseIP(host)
	}
	if ip == nil {
		return a.String(), false
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String(), ip.IsLoopback()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64", ip.IsLoopback()
}

// refusal says why a connection is turned away, and the line the person is
// shown.
type refusal struct {
	why  reason.Reason
	text string
}

func refuse(why reason.Reason, args ...any) refusal { return refusal{why, why.Text(args...)} }

// admit lets a connection from addr start its handshake, or says why not.
func (g *connGuard) admit(addr net.Addr) (*ticket, refusal) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sweep(now)

	// The overall cap on unauthenticated connections, with early drop.
	busy := refuse(reason.Starting)
	if g.unauth >= g.lim.MaxUnauthenticated {
		return nil, busy
	}
	if g.unauth >= g.lim.EarlyDropFrom {
		span := float64(g.lim.MaxUnauthenticated - g.lim.EarlyDropFrom)
		p := 0.3 + 0.7*float64(g.unauth-g.lim.EarlyDropFrom)/span
		if g.random() < p {
			return nil, busy
		}
	}

	key, loopback := AddrKey(addr)
	if loopback && !g.lim.LimitLoopback {
		g.unauth++
		return &ticket{g: g}, refusal{}
	}
	a := g.addrs[key]
	if a == nil {
		a = &addrState{}
		g.addrs[key] = a
	}
	a.recent = trimBefore(a.recent, now.Add(-g.lim.PerAddrWindow))
	// Overload and abuse are refused before the handshake, where it costs
	// nothing: the line sent is only shown by clients that look for it
	// (OpenSSH does with -v).
	switch {
	case now.Before(a.penaltyUntil):
		return nil, refuse(reason.Penalty, roundUp(a.penaltyUntil.Sub(now)))
	case a.handshaking >= g.lim.PerAddrHandshakes:
		return nil, refuse(reason.AddrStarting)
	}
	// A busy address (people behind one NAT) is told at authentication,
	// in a banner every client shows; the handshake counts against the
	// address, and so does the refusal.
	t := &ticket{g: g, key: key}
	switch {
	case a.open >= g.lim.PerAddrConnections:
		t.refuse = refuse(reason.AddrConnections, g.lim.PerAddrConnections)
	case len(a.recent) >= g.lim.PerAddrNew:
		t.refuse = refuse(reason.AddrNew, roundUp(a.recent[0].Add(g.lim.PerAddrWindow).Sub(now)))
	default:
		a.recent = append(a.recent, now)
	}
	a.handshaking++
	a.open++
	g.unauth++
	return t, refusal{}
}

// authenticated says the handshake succeeded.
func (t *ticket) authenticated() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.authed || t.done {
		return
	}
	t.authed = true
	t.g.mu.Lock()
	defer t.g.mu.Unlock()
	t.g.unauth--
	if a := t.g.addrs[t.key]; a != nil && t.key != "" {
		a.handshaking--
	}
}

// closed says the connection ended. One that ends before authenticating
// failed or stalled its handshake (unless we refused it at authentication);
// repeated failures from one address earn it a penalty.
func (t *ticket) closed() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return
	}
	t.done = true
	g := t.g
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if !t.authed {
		g.unauth--
	}
	a := g.addrs[t.key]
	if a == nil || t.key == "" {
		return
	}
	a.open--
	if t.authed {
		return
	}
	a.handshaking--
	if t.refuse.why != 0 {
		return // refused by us, not failed by them: no penalty on top
	}
	a.failures = append(trimBefore(a.failures, now.Add(-g.lim.PerAddrWindow)), now)
	if len(a.failures) >= g.lim.PenaltyFailures {
		a.penalty = min(max(2*a.penalty, g.lim.Penalty), 10*g.lim.Penalty)
		a.penaltyUntil = now.Add(a.penalty)
		a.failures = a.failures[:0]
	}
}

// sweep forgets addresses with nothing open, nothing recent and no penalty.
// Called with g.mu held.
func (g *connGuard) sweep(now time.Time) {
	if now.Sub(g.lastSweep) < g.lim.PerAddrWindow/10 {
		return
	}
	g.lastSweep = now
	cutoff := now.Add(-g.lim.PerAddrWindow)
	for k, a := range g.addrs {
		a.recent = trimBefore(a.recent, cutoff)
		a.failures = trimBefore(a.failures, cutoff)
		if a.open == 0 && len(a.recent) == 0 && len(a.failures) == 0 && now.After(a.penaltyUntil) {
			delete(g.addrs, k)
		}
	}
}

// trimBefore drops the times before cutoff from a sorted slice.
func trimBefore(ts []time.Time, cutoff time.Time) []time.Time {
	i := 0
	for i < len(ts) && ts[i].Before(cutoff) {
		i++
	}
	if i == 0 {
		return ts
	}
	return append(ts[:0], ts[i:]...)
}

func roundUp(d time.Duration) time.Duration {
	return (d + time.Second - 1).Truncate(time.Second)
}
