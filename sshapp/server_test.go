package sshapp_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"chatroom/internal/termtest"
	"chatroom/room"
	"chatroom/sshapp"

	tea "charm.land/bubbletea/v2"
	gossh "golang.org/x/crypto/ssh"
)

func TestWhatIsNotAChatIsRefusedWithAReason(t *testing.T) {
	ts := startServer(t, room.Options{})
	for _, tc := range []struct {
		name string
		opts termtest.Options
		want string
	}{
		{"a command", termtest.Options{NoPTY: true, Command: "ls -la"}, "chatroom: commands are not supported"},
		{"a command with a terminal", termtest.Options{Command: "cat /etc/passwd"}, "chatroom: commands are not supported"},
		{"a shell without a terminal", termtest.Options{NoPTY: true}, "chatroom: a terminal is needed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := connect(t, ts, "alice", tc.opts)
			waitDone(t, c)
			if st := c.ExitStatus(); st != 1 {
				t.Errorf("exit status %d, want 1", st)
			}
			got := c.Stderr() + c.Screen()
			if !strings.Contains(got, tc.want) || strings.Count(strings.TrimSpace(got), "\n") > 0 {
				t.Errorf("got %q, want the one line %q", got, tc.want)
			}
		})
	}
	if ts.room.Online().Len() != 0 {
		t.Error("a refused session joined the room")
	}
}

func TestSubsystemsAreRefusedWithAReason(t *testing.T) {
	ts := startServer(t, room.Options{})
	// What sftp does: open a session and ask for the subsystem.
	ch, reqs, err := dialConn(t, ts, "alice").OpenChannel("session", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if _, err := ch.SendRequest("subsystem", true, gossh.Marshal(struct{ Name string }{"sftp"})); err != nil {
		t.Fatal(err)
	}
	status := make(chan uint32, 1)
	go func() {
		for r := range reqs {
			if r.Type == "exit-status" && len(r.Payload) == 4 {
				status <- uint32(r.Payload[0])<<24 | uint32(r.Payload[1])<<16 | uint32(r.Payload[2])<<8 | uint32(r.Payload[3])
			}
		}
	}()
	stderr, _ := io.ReadAll(ch.Stderr())
	if want := "chatroom: the sftp subsystem is not available"; !strings.Contains(string(stderr), want) {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	select {
	case st := <-status:
		if st != 1 {
			t.Errorf("exit status %d, want 1", st)
		}
	case <-time.After(wait):
		t.Error("no exit status")
	}
}

func TestPortForwardingIsRefused(t *testing.T) {
	ts := startServer(t, room.Options{})
	c := join(t, ts, "alice")
	_, err := c.Conn().Dial("tcp", "127.0.0.1:22")
	if err == nil || !strings.Contains(err.Error(), "chatroom does not forward ports") {
		t.Errorf("local forwarding: %v", err)
	}
	if l, err := c.Conn().Listen("tcp", "127.0.0.1:0"); err == nil {
		l.Close()
		t.Error("remote forwarding was allowed")
	}
	// The chat carries on.
	say(t, c, "still here")
	waitText(t, c, "alice: still here")
}

func TestShutdownTellsEveryoneAndEndsTheirSessions(t *testing.T) {
	ts := startServer(t, room.Options{})
	alice := join(t, ts, "alice")
	joining := connect(t, ts, "alice") // on the join screen
	waitText(t, joining, "taken")

	ts.room.Close("The server is shutting down.")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	for _, c := range []*termtest.Client{alice, joining} {
		waitDone(t, c)
		waitText(t, c, "The server is shutting down.")
	}
	if _, err := termtest.Dial(ts.addr, "late", termtest.Options{Timeout: time.Second}); err == nil {
		t.Error("a connection was accepted after shutdown")
	}
}

// Every goroutine a session starts ends with it.
func TestGoroutinesReturnToBaselineAfterClientsLeave(t *testing.T) {
	ts := startServer(t, room.Options{})
	settle := func() int {
		runtime.GC()
		return runtime.NumGoroutine()
	}
	// One session first, so that lazily started goroutines exist.
	warm := join(t, ts, "warmup")
	say(t, warm, "/quit")
	waitDone(t, warm)
	warm.Close()
	base := settle()

	var clients []*termtest.Client
	for i := range 8 {
		c := join(t, ts, fmt.Sprintf("user%d", i))
		clients = append(clients, c)
	}
	say(t, clients[0], "hello all")
	openChat(t, clients[1], clients[2], "user1", "user2")
	say(t, clients[3], "/invite user4") // left pending
	waitText(t, clients[4], dialogText)
	for _, i := range []int{0, 5, 6, 7} {
		waitText(t, clients[i], "user0: hello all")
	}
	for i, c := range clients {
		switch i % 3 {
		case 0:
			say(t, c, "/quit")
			waitDone(t, c)
		case 1:
			send(t, c, keyCtrlC)
			waitDone(t, c)
		}
		c.Close()
	}
	if !eventually(func() bool { return settle() <= base }) {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("%d goroutines, baseline %d:\n%s", settle(), base, buf)
	}
	if n := ts.room.Online().Len(); n != 0 {
		t.Errorf("%d still online", n)
	}
}

// A panic in one session's goroutines ends that session, is logged, and
// leaves the server and everyone else alone.
func TestAPanicEndsOneSessionOnly(t *testing.T) {
	for _, where := range []string{"update", "pump"} {
		t.Run(where, func(t *testing.T) {
			t.Cleanup(sshapp.SetTestHook(func(w string, v any) {
				if w != where {
					return
				}
				if k, ok := v.(tea.KeyPressMsg); ok && k.Text == "☠" {
					panic("boom in " + w)
				}
				if b, ok := v.([]byte); ok && string(b) == "☠" {
					panic("boom in " + w)
				}
			}))
			var log logBuffer
			ts := startServerWith(t, serverOptions{Log: &log})
			alice := join(t, ts, "alice")
			bob := join(t, ts, "bob")
			send(t, alice, "☠")
			waitDone(t, alice)
			waitText(t, bob, "← alice left")
			if !strings.Contains(log.String(), "boom in "+where) {
				t.Errorf("the panic was not logged:\n%s", log.String())
			}
			say(t, bob, "carry on")
			waitText(t, bob, "bob: carry on")
			join(t, ts, "alice") // the server still takes people
		})
	}
}

// Many connections coming and going leave no goroutines and no heap behind.
func TestConnectionChurnLeavesNothingBehind(t *testing.T) {
	ts := startServer(t, room.Options{})
	settle := func() int { runtime.GC(); return runtime.NumGoroutine() }
	round := func(n int) {
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				c, err := termtest.Dial(ts.addr, fmt.Sprintf("churn%d", i), termtest.Options{Blind: true})
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
	if !eventually(func() bool { return ts.room.Online().Len() == 0 && settle() <= baseG }) {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("after 200 connections: %d goroutines (baseline %d), %d online\n%s", settle(), baseG, ts.room.Online().Len(), buf)
	}
	after := heapMiB()
	t.Logf("churn of 200 connections: goroutines %d -> %d, heap %.1f MiB -> %.1f MiB", baseG, settle(), baseHeap, after)
	if after-baseHeap > 8 {
		t.Errorf("heap grew by %.1f MiB", after-baseHeap)
	}
}

func TestWhatAClientSaysOfItselfIsCleanedBeforeItIsLogged(t *testing.T) {
	var log logBuffer
	ts := startServerWith(t, serverOptions{Log: &log})
	join(t, ts, "alice", termtest.Options{Term: "xterm\x1b]0;pwned\x07\x1b[2J"})
	waitFor(t, connect(t, ts, "bob\x1b[31m"), "the join screen", func(s string) bool { return strings.Contains(s, "Name:") })
	if !eventually(func() bool { return strings.Contains(log.String(), "joined") }) {
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
