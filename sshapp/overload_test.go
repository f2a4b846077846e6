package sshapp_test

import (
	"bytes"
	"fmt"
	"regexp"
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

// recorder is a room whose members' takes are written down: what each
// session received, in order, as its pump took it.
type recorder struct {
	room.Broker
	mu   sync.Mutex
	took map[string][]*room.Event // messages, by member
}

func (r *recorder) Join(name, id string) (room.Member, error) {
	m, err := r.Broker.Join(name, id)
	if err != nil {
		return m, err
	}
	return recordedMember{m, r}, nil
}

type recordedMember struct {
	room.Member
	r *recorder
}

func (m recordedMember) Take(buf []*room.Event) []*room.Event {
	n := len(buf)
	buf = m.Member.Take(buf)
	m.r.mu.Lock()
	defer m.r.mu.Unlock()
	for _, ev := range buf[n:] {
		if ev.Kind == room.Message || ev.Kind == room.Skipped {
			m.r.took[m.Name()] = append(m.r.took[m.Name()], ev)
		}
	}
	return buf
}

func (r *recorder) messages(name string) []*room.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*room.Event(nil), r.took[name]...)
}

// seen watches a client's raw output for a token.
type seen struct {
	mu    sync.Mutex
	token []byte
	tail  []byte
	found bool
}

func (s *seen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != nil && !s.found {
		buf := append(s.tail, p...)
		s.found = bytes.Contains(buf, s.token)
		s.tail = append(s.tail[:0], buf[max(0, len(buf)-len(s.token)):]...)
	}
	return len(p), nil
}

func (s *seen) watch(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token, s.found = []byte(token), false
}

func (s *seen) saw() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.found
}

// Nobody who is still reading is dropped, only a connection that stopped:
// 40 readers with 100x30 terminals each send a 3 KiB message a second
// while one more client stops reading its socket. Measured before: within
// 6 s, 31 of the 40 were closed as "too slow to keep up", and the one that
// never read stayed for the whole run.
func TestReadersAreNeverDroppedForBeingBehindAndAStuckOneIsClosed(t *testing.T) {
	if testing.Short() {
		t.Skip("45 s of heavy traffic; run without -short")
	}
	const readers, run = 40, 45 * time.Second
	const writeTimeout = 10 * time.Second
	rec := &recorder{took: map[string][]*room.Event{}}
	var log testkit.LogBuffer
	ts := testserver.Start(t, testserver.Options{
		Log:    &log,
		Limits: sshd.Limits{WriteTimeout: writeTimeout},
		Broker: func(b room.Broker) room.Broker { rec.Broker = b; return rec },
	})
	order, err := ts.Room.Join("order", "") // the room's one order, as it is sent
	if err != nil {
		t.Fatal(err)
	}
	clients := make([]*termtest.Client, readers)
	fences := make([]*seen, readers)
	for i := range readers {
		fences[i] = &seen{}
		c, err := termtest.Dial(ts.Addr, fmt.Sprintf("r%02d", i), termtest.Options{Width: 100, Height: 30, Blind: true, Output: fences[i]})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		clients[i] = c
	}
	px := startProxy(t, ts.Addr)
	stuck, err := termtest.Dial(px.addr, "stuck", termtest.Options{Width: 100, Height: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	if !testkit.Eventually(func() bool { return ts.Room.Online().Len() == readers+2 }) {
		t.Fatalf("%d online, want %d", ts.Room.Online().Len(), readers+2)
	}
	px.freeze()

	// Each reader sends a 3 KiB message a second, pasted as a terminal
	// would, for the length of the run.
	start := time.Now()
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for n := 0; time.Since(start) < run; n++ {
				text := fmt.Sprintf("r%02d-%03d# %s", i, n, strings.Repeat("x", 3000))
				if c.Send("\x1b[200~"+text+"\x1b[201~\r") != nil {
					return
				}
				<-tick.C
			}
		})
	}
	var sent []*room.Event
	for time.Since(start) < run {
		select {
		case <-order.Ready():
		case <-time.After(time.Second):
		}
		sent = order.Take(sent)
	}
	wg.Wait()

	// A fence after the burst reaches every reader's screen within 5 s.
	for _, f := range fences {
		f.watch("the-fence")
	}
	fenced := time.Now()
	testkit.Say(t, clients[0], "the-fence")
	for i, f := range fences {
		if !testkit.Within(5*time.Second-time.Since(fenced), f.saw) {
			t.Errorf("reader %d had not drawn the fence %v after it was sent", i, time.Since(fenced))
		}
	}
	t.Logf("the fence reached all %d readers in %v", readers, time.Since(fenced))
	sent = only(order.Take(sent), room.Message)

	// No healthy reader was closed, and each got the last 500 messages in
	// the room's order.
	for i, c := range clients {
		select {
		case <-c.Done():
			t.Errorf("reader %d was closed: %s", i, c.Stderr())
			continue
		default:
		}
		got := rec.messages(fmt.Sprintf("r%02d", i))
		if len(got) < 500 || len(sent) < 500 {
			t.Fatalf("reader %d took %d messages; %d were sent", i, len(got), len(sent))
		}
		for k := 1; k <= 500; k++ {
			if g, w := got[len(got)-k], sent[len(sent)-k]; g != w {
				t.Fatalf("reader %d: the %dth message from the end is %.12q, want %.12q", i, k, g.Text, w.Text)
			}
		}
	}
	// The stuck one was closed, by its stuck write, with a reset: when the
	// network path clears, the client finds its connection gone.
	stall := regexp.MustCompile(`user=stuck .*why=write_stall`)
	if !stall.MatchString(log.String()) {
		t.Errorf("no stuck write was logged for the client that stopped reading, %v after it stopped", time.Since(start))
	}
	px.unfreeze()
	select {
	case <-stuck.Done():
	case <-time.After(testkit.Wait):
		t.Error("the client that stopped reading is still connected")
	}
	if online(ts.Room, "stuck") {
		t.Error("stuck is still in the room")
	}
	t.Logf("%d messages sent in %v to %d readers; none closed", len(sent), run, readers)
}

func only(evs []*room.Event, k room.Kind) []*room.Event {
	var out []*room.Event
	for _, ev := range evs {
		if ev.Kind == k {
			out = append(out, ev)
		}
	}
	return out
}
