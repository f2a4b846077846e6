package sshd

import (
	"net"
	"testing"
	"time"
)

func tcp(ip string) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: 1234} }

func TestAddressesAreGroupedAsLimitsSeeThem(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"203.0.113.7", "203.0.113.7", true},
		{"203.0.113.7", "203.0.113.8", false},
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2:bbbb::2", true}, // one /64
		{"2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"::ffff:203.0.113.7", "203.0.113.7", true}, // v4-mapped is v4
	} {
		ka, _ := AddrKey(tcp(tc.a))
		kb, _ := AddrKey(tcp(tc.b))
		if (ka == kb) != tc.same {
			t.Errorf("%s (%s) and %s (%s): same=%v, want %v", tc.a, ka, tc.b, kb, ka == kb, tc.same)
		}
	}
	for _, lo := range []string{"127.0.0.1", "127.9.9.9", "::1"} {
		if _, loopback := AddrKey(tcp(lo)); !loopback {
			t.Errorf("%s is loopback", lo)
		}
	}
}

func TestEarlyDropGrowsTowardsTheCap(t *testing.T) {
	lim := DefaultLimits.withDefaults()
	g := newConnGuard(lim)
	// Fill to the drop point: nothing is dropped.
	for i := range lim.EarlyDropFrom {
		g.random = func() float64 { return 0 } // the unluckiest draw
		if tk, why := g.admit(tcp("127.0.0.1")); tk == nil {
			t.Fatalf("connection %d refused below the drop point: %s", i, why.text)
		}
	}
	// From there, a draw under the drop probability is refused: 30% at
	// the drop point, rising to 100% at the cap.
	g.random = func() float64 { return 0.29 }
	if tk, _ := g.admit(tcp("127.0.0.1")); tk != nil {
		t.Error("a draw of 0.29 admitted at the drop point (p = 0.3)")
	}
	g.random = func() float64 { return 0.31 }
	if tk, _ := g.admit(tcp("127.0.0.1")); tk == nil {
		t.Error("a draw of 0.31 refused at the drop point (p = 0.3)")
	}
	g.random = func() float64 { return 0.9999999 }
	for g.unauth < lim.MaxUnauthenticated-1 {
		g.admit(tcp("127.0.0.1"))
	}
	if tk, _ := g.admit(tcp("127.0.0.1")); tk == nil {
		t.Error("the last place below the cap was refused by a draw of 0.9999999")
	}
	if tk, _ := g.admit(tcp("127.0.0.1")); tk != nil {
		t.Error("admitted past the cap")
	}
}

func TestPenaltiesDoubleAndExpire(t *testing.T) {
	lim := DefaultLimits.withDefaults()
	lim.LimitLoopback = true
	lim.PenaltyFailures = 2
	now := time.Unix(0, 0)
	g := newConnGuard(lim)
	g.now = func() time.Time { return now }
	fail := func() {
		tk, why := g.admit(tcp("198.51.100.1"))
		if tk == nil {
			t.Fatalf("refused: %s", why.text)
		}
		tk.closed() // before authenticating
	}
	refused := func() bool { tk, _ := g.admit(tcp("198.51.100.1")); return tk == nil }

	fail()
	fail()
	if !refused() {
		t.Fatal("no penalty after two failures")
	}
	now = now.Add(lim.Penalty)
	fail()
	fail()
	now = now.Add(lim.Penalty)
	if !refused() {
		t.Error("the second penalty did not double")
	}
	now = now.Add(lim.Penalty)
	if refused() {
		t.Error("the doubled penalty did not expire")
	}
	// Connections that authenticate are not failures.
	for range 5 {
		tk, _ := g.admit(tcp("198.51.100.1"))
		tk.authenticated()
		tk.closed()
	}
	if refused() {
		t.Error("authenticated connections counted as failures")
	}
}

func TestTheGuardForgetsQuietAddresses(t *testing.T) {
	lim := DefaultLimits.withDefaults()
	lim.LimitLoopback = true
	now := time.Unix(0, 0)
	g := newConnGuard(lim)
	g.now = func() time.Time { return now }
	for i := range 100 {
		tk, _ := g.admit(tcp(net.IPv4(10, 0, byte(i/256), byte(i)).String()))
		tk.authenticated()
		tk.closed()
	}
	now = now.Add(lim.PerAddrWindow + time.Second)
	g.admit(tcp("10.1.1.1"))
	if n := len(g.addrs); n != 1 {
		t.Errorf("%d addresses remembered after the window, want 1", n)
	}
}
