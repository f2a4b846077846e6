package sshapp_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"chatroom/internal/termtest"
	"chatroom/internal/testkit"
	"chatroom/internal/testserver"
	"chatroom/room"
)

func TestShutdownTellsEveryoneAndEndsTheirSessions(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice")
	joining := testkit.Connect(t, ts.Addr, "alice") // on the join screen
	testkit.WaitText(t, joining, "taken")

	ts.Room.Close("The server is shutting down.")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.SSH.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	for _, c := range []*termtest.Client{alice, joining} {
		testkit.WaitDone(t, c)
		testkit.WaitText(t, c, "The server is shutting down.")
	}
	if _, err := termtest.Dial(ts.Addr, "late", termtest.Options{Timeout: time.Second}); err == nil {
		t.Error("a connection was accepted after shutdown")
	}
}

// Every goroutine a session starts ends with it.
func TestGoroutinesReturnToBaselineAfterClientsLeave(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	settle := func() int {
		runtime.GC()
		return runtime.NumGoroutine()
	}
	// One session first, so that lazily started goroutines exist.
	warm := testkit.Join(t, ts.Addr, "warmup")
	testkit.Say(t, warm, "/quit")
	testkit.WaitDone(t, warm)
	warm.Close()
	base := settle()

	var clients []*termtest.Client
	for i := range 8 {
		c := testkit.Join(t, ts.Addr, fmt.Sprintf("user%d", i))
		clients = append(clients, c)
	}
	testkit.Say(t, clients[0], "hello all")
	openChat(t, clients[1], clients[2], "user1", "user2")
	testkit.Say(t, clients[3], "/invite user4") // left pending
	testkit.WaitText(t, clients[4], dialogText)
	for _, i := range []int{0, 5, 6, 7} {
		testkit.WaitText(t, clients[i], "user0: hello all")
	}
	for i, c := range clients {
		switch i % 3 {
		case 0:
			testkit.Say(t, c, "/quit")
			testkit.WaitDone(t, c)
		case 1:
			testkit.Send(t, c, testkit.KeyCtrlC)
			testkit.WaitDone(t, c)
		}
		c.Close()
	}
	if !testkit.Eventually(func() bool { return settle() <= base }) {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("%d goroutines, baseline %d:\n%s", settle(), base, buf)
	}
	if n := ts.Room.Online().Len(); n != 0 {
		t.Errorf("%d still online", n)
	}
}

// fragile is a room whose member alice breaks: in Say, which runs in her
// program's Update, when she says "☠ update"; in Take, which runs in her
// session's pump, when anyone says "☠ pump".
type fragile struct{ room.Broker }

func (f fragile) Join(name, id string) (room.Member, error) {
	m, err := f.Broker.Join(name, id)
	if err != nil || name != "alice" {
		return m, err
	}
	return fragileMember{m}, nil
}

type fragileMember struct{ room.Member }

func (m fragileMember) Say(text string) error {
	if text == "☠ update" {
		panic("boom in update")
	}
	return m.Member.Say(text)
}

func (m fragileMember) Take(buf []*room.Event) []*room.Event {
	buf = m.Member.Take(buf)
	for _, ev := range buf {
		if ev.Text == "☠ pump" {
			panic("boom in pump")
		}
	}
	return buf
}

// A panic in one session's goroutines ends that session, is logged, and
// leaves the server and everyone else alone.
func TestAPanicEndsOneSessionOnly(t *testing.T) {
	for _, where := range []string{"update", "pump"} {
		t.Run(where, func(t *testing.T) {
			var log testkit.LogBuffer
			ts := testserver.Start(t, testserver.Options{Log: &log,
				Broker: func(r room.Broker) room.Broker { return fragile{r} }})
			alice := testkit.Join(t, ts.Addr, "alice")
			bob := testkit.Join(t, ts.Addr, "bob")
			if where == "update" {
				testkit.Say(t, alice, "☠ update")
			} else {
				testkit.Say(t, bob, "☠ pump")
			}
			testkit.WaitDone(t, alice)
			testkit.WaitText(t, bob, "← alice left")
			if !strings.Contains(log.String(), "boom in "+where) {
				t.Errorf("the panic was not logged:\n%s", log.String())
			}
			testkit.Say(t, bob, "carry on")
			testkit.WaitText(t, bob, "bob: carry on")
			testkit.Join(t, ts.Addr, "alice") // the server still takes people
		})
	}
}

// Many connections coming and going leave no goroutines and no heap behind.
func TestConnectionChurnLeavesNothingBehind(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	settle := func() int { runtime.GC(); return runtime.NumGoroutine() }
	round := func(n int) {
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				c, err := termtest.Dial(ts.Addr, fmt.Sprintf("churn%d", i), termtest.Options{Blind: true})
				if err != nil {
					t.Error(err)
					return
				}
				if i%2 == 0 {
					c.Send("/quit\r")
					<-c.Done()
				}
				c.Close()
			})
		}
		wg.Wait()
	}
	baseG, baseHeap := settle(), heapMiB()
	for range 5 {
		round(40)
	}
	if !testkit.Eventually(func() bool { return ts.Room.Online().Len() == 0 && settle() <= baseG }) {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("after 200 connections: %d goroutines (baseline %d), %d online\n%s", settle(), baseG, ts.Room.Online().Len(), buf)
	}
	after := heapMiB()
	t.Logf("churn of 200 connections: goroutines %d -> %d, heap %.1f MiB -> %.1f MiB", baseG, settle(), baseHeap, after)
	if after-baseHeap > 8 {
		t.Errorf("heap grew by %.1f MiB", after-baseHeap)
	}
}

func TestWhatAClientSaysOfItselfIsCleanedBeforeItIsLogged(t *testing.T) {
	var log testkit.LogBuffer
	ts := testserver.Start(t, testserver.Options{Log: &log})
	testkit.Join(t, ts.Addr, "alice", termtest.Options{Term: "xterm\x1b]0;pwned\x07\x1b[2J"})
	testkit.WaitFor(t, testkit.Connect(t, ts.Addr, "bob\x1b[31m"), "the join screen", func(s string) bool { return strings.Contains(s, "Name:") })
	if !testkit.Eventually(func() bool { return strings.Contains(log.String(), "joined") }) {
		t.Fatal("no join logged")
	}
	got := log.String()
	if strings.ContainsAny(got, "\x1b\x07") {
		t.Errorf("control characters reached the log:\n%q", got)
	}
	if !strings.Contains(got, "term=xterm") {
		t.Errorf("TERM not logged:\n%s", got)
	}
}
