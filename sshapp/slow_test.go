package sshapp_test

import (
	"fmt"
	"io"
	"net"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"chatroom/internal/termtest"
	"chatroom/internal/testkit"
	"chatroom/internal/testserver"
	"chatroom/room"
	"chatroom/sshd"
)

// proxy forwards one TCP connection and can freeze it, as a dead network
// path or a client that stopped reading would.
type proxy struct {
	addr   string
	mu     sync.Mutex
	frozen bool
	thaw   chan struct{}
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: l.Addr().String(), thaw: make(chan struct{})}
	t.Cleanup(func() { l.Close(); p.unfreeze() })
	go func() {
		client, err := l.Accept()
		if err != nil {
			return
		}
		d := net.Dialer{Control: nil}
		server, err := d.Dial("tcp", target)
		if err != nil {
			client.Close()
			return
		}
		// A small receive buffer: a frozen proxy stops the server soon.
		server.(*net.TCPConn).SetReadBuffer(4096)
		t.Cleanup(func() { client.Close(); server.Close() })
		go p.copy(server, client)
		go p.copy(client, server)
	}()
	return p
}

func (p *proxy) copy(dst, src net.Conn) {
	buf := make([]byte, 4096)
	for {
		p.mu.Lock()
		thaw, frozen := p.thaw, p.frozen
		p.mu.Unlock()
		if frozen {
			<-thaw
		}
		n, err := src.Read(buf)
		if n > 0 {
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			dst.Close()
			return
		}
	}
}

func (p *proxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frozen = true
}

func (p *proxy) unfreeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.frozen {
		p.frozen = false
		close(p.thaw)
		p.thaw = make(chan struct{})
	}
}

func TestADeadPeerIsFoundByKeepalivesAndItsNameFreed(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{Limits: sshd.Limits{KeepaliveInterval: 100 * time.Millisecond, KeepaliveMax: 3}})
	bob := testkit.Join(t, ts.Addr, "bob")
	px := startProxy(t, ts.Addr)
	alice, err := termtest.Dial(px.addr, "alice", termtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	testkit.WaitText(t, bob, "→ alice joined")
	px.freeze()
	testkit.WaitText(t, bob, "← alice left")
	alice = testkit.Join(t, ts.Addr, "alice") // the name is free again
	// Bob answered every question meanwhile (three intervals and more),
	// and is still here.
	testkit.Say(t, bob, "still here")
	testkit.WaitText(t, alice, "bob: still here")
}

// orderCheck reads a client's raw output and checks that tokens m0001,
// m0002, ... arrive in order, none twice. A burst longer than the screen is
// drawn as its last screenful (the rest is in the history, for PgUp), so
// tokens may be skipped; skips are counted.
type orderCheck struct {
	mu      sync.Mutex
	carry   []byte
	next    int // the number expected next
	skipped int
	err     error
}

var token = regexp.MustCompile(`m(\d{4})#`)

func (o *orderCheck) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	buf := append(o.carry, p...)
	last := 0
	for _, m := range token.FindAllSubmatchIndex(buf, -1) {
		n, _ := strconv.Atoi(string(buf[m[2]:m[3]]))
		if n < o.next && o.err == nil {
			o.err = fmt.Errorf("got m%04d after m%04d", n, o.next-1)
		}
		o.skipped += max(n-o.next, 0)
		o.next = n + 1
		last = m[1]
	}
	// Keep a tail that may hold the start of a token.
	tail := buf[max(last, len(buf)-8):]
	o.carry = append(o.carry[:0], tail...)
	return len(p), nil
}

func (o *orderCheck) state() (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.next, o.err
}

// A client that stops reading holds up nobody: the others get every
// message in order, and it is closed once a write to it has been stuck for
// the write timeout. (It is not removed for being behind: that only skips
// what it would have drawn.)
func TestAStuckReaderIsClosedAndNobodyElseWaits(t *testing.T) {
	const readers, messages = 100, 1000
	ts := testserver.Start(t, testserver.Options{
		Room: room.Options{MessageRate: 1e6, MessageBurst: messages},
		// A small send buffer, so that 1000 messages are enough to fill
		// what lies between the server and a client that stopped reading.
		Limits: sshd.Limits{WriteTimeout: 3 * time.Second, SendBuffer: 16 << 10},
	})
	settle := func() int { runtime.GC(); return runtime.NumGoroutine() }
	baseGoroutines, baseHeap := settle(), heapMiB()

	checks := make([]*orderCheck, readers)
	clients := make([]*termtest.Client, readers)
	for i := range readers {
		checks[i] = &orderCheck{next: 1}
		c, err := termtest.Dial(ts.Addr, fmt.Sprintf("r%03d", i), termtest.Options{Blind: true, Output: checks[i]})
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = c
	}
	px := startProxy(t, ts.Addr)
	// A big screen: a session that falls behind draws only its last
	// screenful, and a small one would take long to fill the buffers on
	// the way to a client that stopped reading.
	stuck, err := termtest.Dial(px.addr, "stuck", termtest.Options{Width: 200, Height: 100})
	if err != nil {
		t.Fatal(err)
	}
	if !testkit.Eventually(func() bool { return ts.Room.Online().Len() == readers+1 }) {
		t.Fatalf("%d online, want %d", ts.Room.Online().Len(), readers+1)
	}
	testkit.WaitText(t, stuck, fmt.Sprintf(" %d online ", readers+1))
	sender, err := ts.Room.Join("sender", "")
	if err != nil {
		t.Fatal(err)
	}
	px.freeze()
	pad := strings.Repeat(".", 150)
	skipped := 0
	tick := time.NewTicker(2 * time.Millisecond)
	for i := 1; i <= messages; i++ {
		<-tick.C
		if err := sender.Say(fmt.Sprintf("m%04d# %s", i, pad)); err != nil {
			t.Fatal(err)
		}
	}
	tick.Stop()

	if !testkit.Eventually(func() bool { return !online(ts.Room, "stuck") }) {
		t.Fatal("the stuck client is still in the room")
	}
	for i, o := range checks {
		if !testkit.Eventually(func() bool { n, _ := o.state(); return n > messages }) {
			n, err := o.state()
			t.Fatalf("reader %d got up to m%04d of %d (%v)", i, n-1, messages, err)
		}
		if _, err := o.state(); err != nil {
			t.Errorf("reader %d: %v", i, err)
		}
		skipped += o.skipped
	}
	for i := range readers {
		if !online(ts.Room, fmt.Sprintf("r%03d", i)) {
			t.Errorf("reader %d was cut off", i)
		}
	}
	// It was closed, not removed: nobody was told of a kick.
	for _, ev := range sender.Take(nil) {
		if ev.Kind == room.Left {
			t.Errorf("%s was removed: %s", ev.From, ev.Reason)
		}
	}
	// The stuck connection is closed once a write has been stuck too long:
	// when the network path clears, the client finds it closed.
	px.unfreeze()
	select {
	case <-stuck.Done():
	case <-time.After(testkit.Wait):
		t.Error("the stuck connection was not closed")
	}
	peakHeap := heapMiB()
	for _, c := range clients {
		c.Close()
	}
	stuck.Close()
	sender.Leave()
	if !testkit.Eventually(func() bool { return settle() <= baseGoroutines }) {
		t.Errorf("%d goroutines after everyone left, baseline %d", settle(), baseGoroutines)
	}
	t.Logf("slow reader: %d readers got all %d messages in order (%d drawn only as part of a screenful); heap %.1f MiB before, %.1f MiB with %d sessions, %.1f MiB after; goroutines %d before, %d after",
		readers, messages, skipped, baseHeap, peakHeap, readers+1, heapMiB(), baseGoroutines, settle())
	_ = io.Discard
}

// online reports whether name is in the room.
func online(r *room.Room, name string) bool {
	p := r.Online()
	for i := range p.Len() {
		if p.At(i) == name {
			return true
		}
	}
	return false
}
