package sshapp_test

import (
	"strings"
	"testing"

	"chatroom/internal/termtest"
	"chatroom/internal/testkit"
	"chatroom/internal/testserver"
)

// Issue 13, defect 8: TERM=dumb gets lines in and lines out, with the same
// commands, and not one escape sequence.
func TestADumbTerminalGetsLineMode(t *testing.T) {
	ts := testserver.Start(t, quick)
	var raw testkit.LogBuffer
	alice := testkit.Join(t, ts.Addr, "alice", termtest.Options{Term: "dumb", Output: &raw})
	bob := testkit.Join(t, ts.Addr, "bob")
	waitRaw := func(text string) {
		t.Helper()
		if !testkit.Eventually(func() bool { return strings.Contains(raw.String(), text) }) {
			t.Fatalf("waiting for %q in alice's output:\n%q", text, raw.String())
		}
	}
	waitRaw("Welcome, alice.")
	waitRaw("\r\nmain> ")
	testkit.Say(t, bob, "hi alice")
	waitRaw("bob: hi alice\r\nmain> ")
	testkit.Say(t, alice, "hello")
	testkit.WaitText(t, bob, "alice: hello")
	waitRaw("main> hello\r\n")

	testkit.Say(t, alice, "/who")
	waitRaw("2 online: alice (guest), bob (guest)")
	testkit.Say(t, bob, "/invite alice")
	waitRaw("bob invites you to a private chat: /accept or /decline")
	testkit.Say(t, alice, "/accept")
	waitRaw("[bob] ")
	testkit.Send(t, alice, testkit.KeyCtrlN)
	waitRaw("bob> ")
	testkit.Say(t, alice, "just us")
	testkit.WaitText(t, bob, "Private chat with alice opened")
	bob.Click(testkit.Find(t, bob, 1, " alice ")+1, 1)
	testkit.WaitText(t, bob, "alice: just us")
	testkit.Say(t, bob, "indeed")
	waitRaw("[bob] ")
	waitRaw(" bob: indeed\r\n")

	testkit.Say(t, alice, "/quit")
	testkit.WaitDone(t, alice)
	if s := raw.String(); strings.Contains(s, "\x1b") {
		t.Errorf("line mode sent escape sequences:\n%q", s)
	}
}
