package sshapp_test

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"chatroom/internal/termtest"
	"chatroom/internal/testkit"
	"chatroom/internal/testserver"
	"chatroom/room"
	"chatroom/tui"

	gossh "golang.org/x/crypto/ssh"
)

// heapMiB is the live heap after a collection, in MiB.
func heapMiB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / (1 << 20)
}

func TestAPasteOverTheLimitIsDroppedWithANotice(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice")
	bob := testkit.Join(t, ts.Addr, "bob")
	alice.Paste(strings.Repeat("x", 70<<10))
	testkit.WaitText(t, alice, "Your paste of 70 KiB was dropped: pastes are limited to 64 KiB.")
	testkit.WaitRow(t, alice, 23, `^main ›$`)
	testkit.Say(t, alice, "after the paste")
	testkit.WaitText(t, bob, "alice: after the paste")
}

func TestTooLongMessagesAreRefusedAndKept(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice")
	bob := testkit.Join(t, ts.Addr, "bob")

	alice.Paste(strings.Repeat("y", 5000) + "END")
	testkit.Send(t, alice, testkit.KeyEnter)
	testkit.WaitText(t, alice, "Not sent: the message is longer than 4096 bytes.")
	testkit.WaitRow(t, alice, 23, `yyyyEND$`) // nothing typed is lost

	testkit.Send(t, alice, testkit.KeyCtrlU)
	alice.Paste(strings.Repeat("line\r", 21) + "last")
	testkit.Send(t, alice, testkit.KeyEnter)
	testkit.WaitText(t, alice, "Not sent: the message has more than 20 lines.")
	testkit.WaitRow(t, alice, 23, `↵last$`)

	testkit.Send(t, alice, testkit.KeyCtrlU)
	alice.Paste(strings.Repeat("line\r", 19) + "last")
	testkit.Send(t, alice, testkit.KeyEnter)
	testkit.WaitText(t, bob, "      last")
}

func TestSendingTooFastIsToldToSlowDown(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice")
	bob := testkit.Join(t, ts.Addr, "bob")
	for i := range 6 {
		testkit.Say(t, alice, fmt.Sprintf("burst %d", i))
	}
	testkit.WaitText(t, alice, "Not sent: slow down: at most 2 messages a second.")
	testkit.WaitRow(t, alice, 23, `^main › burst 5$`)
	testkit.WaitText(t, bob, "alice: burst 4")
	if strings.Contains(bob.Screen(), "burst 5") {
		t.Error("a message past the rate limit was delivered")
	}
	// Enter again, once the rate allows, sends it.
	if !testkit.Eventually(func() bool {
		testkit.Send(t, alice, testkit.KeyEnter)
		return strings.Contains(bob.Screen(), "alice: burst 5")
	}) {
		t.Error("the held message was never sent")
	}
}

func TestInputFasterThanTheRateIsDropped(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{Session: tui.Limits{InputRate: 1 << 10, InputBurst: 2 << 10}})
	alice := testkit.Join(t, ts.Addr, "alice", termtest.Options{Width: 120, Height: 24})
	testkit.Send(t, alice, strings.Repeat("a", 10<<10))
	testkit.WaitText(t, alice, "Input is arriving faster than 1 KiB/s; some of it was dropped.")
	testkit.Send(t, alice, testkit.KeyCtrlU)
	// The session carries on once the rate allows.
	if !testkit.Eventually(func() bool {
		testkit.Send(t, alice, "b")
		return strings.Contains(alice.Row(23), "b")
	}) {
		t.Error("input stayed blocked")
	}
}

func TestAClientThatKeepsFloodingIsDisconnected(t *testing.T) {
	// A small burst: every key let through is drawn, and on a busy machine
	// drawing 64 KiB of keys one by one slows the reading enough to break
	// the flood into quiet seconds.
	ts := testserver.Start(t, testserver.Options{Session: tui.Limits{InputRate: 1 << 10, InputBurst: 2 << 10}})
	alice := testkit.Join(t, ts.Addr, "alice")
	bob := testkit.Join(t, ts.Addr, "bob")
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(15 * time.Second)
flood:
	for {
		select {
		case <-alice.Done():
			break flood
		case <-deadline:
			t.Fatal("a client sending 80 KiB/s against a 1 KiB/s limit was not disconnected")
		case <-tick.C:
			alice.Send(strings.Repeat("z", 8<<10))
		}
	}
	testkit.WaitText(t, alice, "Disconnected: more than 4 KiB/s of input for 5 seconds.")
	testkit.WaitText(t, bob, "← alice left")
	testkit.Say(t, bob, "unaffected")
	testkit.WaitText(t, bob, "bob: unaffected")
}

func TestAnEndlessPasteEndsInADisconnectWithBoundedMemory(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice")
	bob := testkit.Join(t, ts.Addr, "bob")
	before := heapMiB()
	chunk := strings.Repeat("p", 64<<10)
	testkit.Send(t, alice, "\x1b[200~")
	sent := 0
	for sent < 10<<20 {
		if err := alice.Send(chunk); err != nil {
			break // the server hung up
		}
		sent += len(chunk)
	}
	testkit.WaitDone(t, alice)
	testkit.WaitText(t, alice, "Disconnected: a paste kept coming long after it was too big.")
	after := heapMiB()
	t.Logf("unterminated paste: %d KiB sent before the disconnect; heap %.1f MiB -> %.1f MiB", sent>>10, before, after)
	if after-before > 64 {
		t.Errorf("heap grew by %.1f MiB", after-before)
	}
	testkit.Say(t, bob, "unaffected")
	testkit.WaitText(t, bob, "bob: unaffected")
}

func TestHugeAndStormingWindowSizesAreClamped(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	bob := testkit.Join(t, ts.Addr, "bob")
	before := heapMiB()

	conn := testkit.DialConn(t, ts.Addr, "alice")
	sess, err := conn.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	term := termtest.NewTerminal(80, 24)
	stdout, _ := sess.StdoutPipe()
	stdin, _ := sess.StdinPipe() // an open stdin: EOF would end the chat
	go io.Copy(term, stdout)
	// The emulator is 80x24 whatever the sizes sent say: its replies to
	// queries are read and dropped (a reply unread blocks it).
	go io.Copy(io.Discard, term.Answers())
	if err := sess.RequestPty("xterm-256color", 65535, 65535, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	for i := range 2000 {
		if err := sess.WindowChange(65535-i, 65535); err != nil {
			t.Fatal(err)
		}
	}
	if err := sess.WindowChange(24, 80); err != nil {
		t.Fatal(err)
	}
	if err := term.WaitFor(testkit.Wait, func(s string) bool {
		rows := strings.Split(s, "\n")
		return strings.Contains(s, "Welcome, alice.") && strings.HasPrefix(rows[23], "main ›")
	}); err != nil {
		t.Fatal(err)
	}
	after := heapMiB()
	t.Logf("pty-req 65535x65535 and 2000 window changes: heap %.1f MiB -> %.1f MiB", before, after)
	if after-before > 64 {
		t.Errorf("heap grew by %.1f MiB", after-before)
	}
	io.WriteString(stdin, "still works\r")
	testkit.WaitText(t, bob, "alice: still works")
}

// Text that draws nothing is refused with a reason, and a run of
// zero-width characters is cut like combining marks: 3,001 bytes in once
// made a message one cell wide.
func TestInvisibleMessagesAreRefusedAndZeroWidthRunsBounded(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	watcher, err := ts.Room.Join("watcher", "")
	if err != nil {
		t.Fatal(err)
	}
	alice := testkit.Join(t, ts.Addr, "alice")
	for _, blank := range []string{"\u3164\u3164\u3164", "\u2800 \u2800", "\u115f\u1160\uffa0", "\u0600\U0001D173"} {
		alice.Paste(blank)
		testkit.Send(t, alice, testkit.KeyEnter)
		testkit.WaitText(t, alice, "Not sent: message ")
		testkit.Send(t, alice, testkit.KeyCtrlU)
	}
	testkit.WaitText(t, alice, "Not sent: message has nothing visible.")
	alice.Paste("a" + strings.Repeat("\u200c\u200d", 1500) + "b")
	testkit.Send(t, alice, testkit.KeyEnter)
	var got []string
	if !testkit.Eventually(func() bool {
		for _, ev := range watcher.Take(nil) {
			if ev.Kind == room.Message {
				got = append(got, ev.Text)
			}
		}
		return len(got) > 0
	}) {
		t.Fatal("the message with joiners never arrived")
	}
	if len(got) != 1 || got[0] != "a\u200c\u200d\u200cb" {
		t.Errorf("messages seen: %+.80q, want only a, three joiners, b", got)
	}
}

// Typing that arrives in one read (a script, a bot, a terminal without
// paste mode) is drawn once: 2,799 characters once made 2,799 redraws of
// the input line, 353 KB back to the sender.
func TestInputArrivingAtOnceIsDrawnOnce(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice")
	testkit.WaitRow(t, alice, 23, `^main ›$`)
	before := alice.BytesRead()
	text := strings.Repeat("typing fast ", 233) + "END" // 2,799 bytes
	testkit.Send(t, alice, text)
	testkit.WaitRow(t, alice, 23, `END$`)
	out := alice.BytesRead() - before
	t.Logf("%d bytes in, %d bytes out: %.2f out per byte in", len(text), out, float64(out)/float64(len(text)))
	if out > 4<<10 {
		t.Errorf("%d bytes typed at once drew %d bytes, want a few KB at most", len(text), out)
	}
}
