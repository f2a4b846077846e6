package sshapp_test

import (
	"strings"
	"testing"
	"time"

	"chatroom/internal/termtest"
	"chatroom/room"
)

const dialogText = "invites you to a private chat"

// openChat has a invite b by command and b accept with y; both end up in
// the private tab.
func openChat(t *testing.T, a, b *termtest.Client, aName, bName string) {
	t.Helper()
	say(t, a, "/invite "+bName)
	waitText(t, a, "Invitation sent to "+bName)
	waitText(t, b, "│ "+aName+" "+dialogText)
	send(t, b, "y")
	waitText(t, b, "Private chat with "+aName+": only the two of you")
	waitText(t, a, "Private chat with "+bName+": only the two of you")
}

func TestAnAcceptedInvitationOpensAPrivateTabForBoth(t *testing.T) {
	ts := startServer(t, room.Options{})
	alice := join(t, ts, "alice")
	bob := join(t, ts, "bob")
	carol := join(t, ts, "carol")

	say(t, alice, "/invite bob")
	waitText(t, bob, "alice "+dialogText)
	waitText(t, bob, "[ OK ]   [ Cancel ]")
	send(t, bob, "y")
	// Both were switched to the new tab.
	waitRow(t, alice, 1, `^ main  bob `)
	waitRow(t, bob, 1, `^ main  alice `)
	waitText(t, bob, "Private chat with alice")
	if strings.Contains(bob.Screen(), dialogText) {
		t.Error("the dialog stayed after accepting")
	}

	say(t, bob, "only for you")
	waitText(t, alice, "bob: only for you")
	say(t, alice, "same here")
	waitText(t, bob, "alice: same here")

	// The main room did not see it, and carol saw nothing of it.
	say(t, carol, "public")
	send(t, alice, keyCtrlP)
	waitText(t, alice, "carol: public")
	waitText(t, alice, "bob accepted your invitation")
	for _, c := range []*termtest.Client{alice, carol} {
		if s := c.Screen(); strings.Contains(s, "only for you") || strings.Contains(s, "same here") {
			t.Errorf("a private message shows outside the private tab:\n%s", s)
		}
	}
}

func TestADeclinedInvitationTellsTheInviter(t *testing.T) {
	ts := startServer(t, room.Options{})
	alice := join(t, ts, "alice")
	bob := join(t, ts, "bob")
	for _, key := range []string{"n", keyEsc} {
		say(t, alice, "/invite bob")
		waitText(t, bob, "│ alice "+dialogText)
		send(t, bob, key)
		waitFor(t, bob, "the dialog to close", func(s string) bool { return !strings.Contains(s, "│ alice "+dialogText) })
		waitText(t, alice, "bob declined your invitation")
		say(t, alice, "/who") // a marker, so the next decline is a new line
		waitText(t, alice, "2 online:")
	}
	if n := count(alice.Screen(), "bob declined your invitation"); n != 2 {
		t.Errorf("%d declines shown, want 2", n)
	}
	waitRow(t, alice, 1, `^ main +Ctrl`)
}

func TestClickingANameInvitesAndClickingOKAccepts(t *testing.T) {
	ts := startServer(t, room.Options{})
	alice := join(t, ts, "alice", termtest.Options{Width: 100, Height: 30})
	bob := join(t, ts, "bob")
	waitRow(t, alice, 0, `alice bob$`)
	alice.Click(find(t, alice, 0, "bob")+1, 0)
	waitText(t, alice, "Invitation sent to bob")
	waitText(t, bob, "alice "+dialogText)

	// Clicking my own name does nothing.
	alice.Click(find(t, alice, 0, "alice"), 0)

	clickText(t, bob, "[ OK ]")
	waitText(t, bob, "Private chat with alice")
	waitText(t, alice, "Private chat with bob")
	if strings.Contains(alice.Screen(), "cannot invite yourself") || strings.Contains(alice.Screen(), "Invitation sent to alice") {
		t.Error("clicking my own name did something")
	}
	// A click on a tab switches to it.
	bob.Click(find(t, bob, 1, "main"), 1)
	waitText(t, bob, "→ bob joined")
}

func TestClickingCancelDeclines(t *testing.T) {
	ts := startServer(t, room.Options{})
	alice := join(t, ts, "alice")
	bob := join(t, ts, "bob")
	say(t, alice, "/invite bob")
	waitText(t, bob, "[ Cancel ]")
	clickText(t, bob, "[ Cancel ]")
	waitText(t, alice, "bob declined your invitation")
}

func TestTabsSwitchAndMarkUnreadMessages(t *testing.T) {
	ts := startServer(t, room.Options{})
	alice := join(t, ts, "alice")
	bob := join(t, ts, "bob")
	carol := join(t, ts, "carol")
	openChat(t, alice, bob, "alice", "bob")
	openChat(t, alice, carol, "alice", "carol")
	waitRow(t, alice, 1, `^ main  bob  carol `)

	// Ctrl+N wraps around: carol -> main -> bob.
	send(t, alice, keyCtrlN)
	waitText(t, alice, "→ alice joined")
	send(t, alice, keyCtrlN)
	waitText(t, alice, "Private chat with bob")

	// A message in a tab that is not showing marks it.
	say(t, carol, "ping")
	waitRow(t, alice, 1, `^ main  bob  carol • `)
	if strings.Contains(alice.Screen(), "carol: ping") {
		t.Error("a message for the carol tab shows in the bob tab")
	}
	send(t, alice, keyCtrlP) // bob -> main
	send(t, alice, keyCtrlP) // main -> carol
	waitText(t, alice, "carol: ping")
	waitRow(t, alice, 1, `^ main  bob  carol `)
	if strings.Contains(alice.Row(1), "•") {
		t.Errorf("the mark stayed after reading: %q", alice.Row(1))
	}
	// Messages typed go to the tab that is showing.
	say(t, alice, "pong")
	waitText(t, carol, "alice: pong")
	if strings.Contains(bob.Screen(), "pong") {
		t.Error("bob got a message meant for carol")
	}
}

func TestClosingAChatMakesItReadOnlyForThePartner(t *testing.T) {
	ts := startServer(t, room.Options{})
	alice := join(t, ts, "alice")
	bob := join(t, ts, "bob")
	openChat(t, alice, bob, "alice", "bob")
	say(t, alice, "/close")
	waitRow(t, alice, 1, `^ main +Ctrl`)
	waitText(t, bob, "alice closed the chat. It is read-only")
	waitRow(t, bob, 1, `alice \(ended\)`)
	waitRow(t, bob, 23, `^\(ended\) >`)
	say(t, bob, "anyone?")
	waitText(t, bob, "Not sent: the chat with alice has ended")
	waitRow(t, bob, 23, `anyone\?$`) // nothing typed is lost
	send(t, bob, keyCtrlU)
	say(t, bob, "/close")
	waitRow(t, bob, 1, `^ main +Ctrl`)
}

func TestAPartnerLeavingMakesTheTabReadOnly(t *testing.T) {
	ts := startServer(t, room.Options{})
	alice := join(t, ts, "alice")
	bob := join(t, ts, "bob")
	openChat(t, alice, bob, "alice", "bob")
	say(t, bob, "/quit")
	waitDone(t, bob)
	waitText(t, alice, "bob left. This chat is read-only")
	waitRow(t, alice, 1, `bob \(ended\)`)
}

func TestInvitationsExpire(t *testing.T) {
	// The room's unit tests check the real 60 s with a fake clock; here a
	// short TTL shows what people see when it happens.
	ts := startServer(t, room.Options{InviteTTL: 300 * time.Millisecond})
	alice := join(t, ts, "alice")
	bob := join(t, ts, "bob")
	say(t, alice, "/invite bob")
	waitText(t, bob, "│ alice "+dialogText)
	waitText(t, alice, "Your invitation to bob expired unanswered")
	waitText(t, bob, "The invitation from alice expired")
	waitFor(t, bob, "the dialog to go", func(s string) bool { return !strings.Contains(s, "│ alice "+dialogText) })
	send(t, bob, "y") // no dialog: it is typed
	waitRow(t, bob, 23, `^> y$`)
}

func TestInvitationsThatCannotBe(t *testing.T) {
	ts := startServer(t, room.Options{})
	alice := join(t, ts, "alice")
	bob := join(t, ts, "bob")
	say(t, alice, "/invite alice")
	waitText(t, alice, "You cannot invite yourself.")
	say(t, alice, "/invite nobody")
	waitText(t, alice, "nobody is not online.")
	say(t, alice, "/invite Bob")
	waitText(t, alice, "Bob is not online.") // names are case-sensitive
	say(t, alice, "/invite")
	waitText(t, alice, "Usage: /invite NAME")

	say(t, alice, "/invite bob")
	waitText(t, bob, "│ alice "+dialogText)
	say(t, alice, "/invite bob")
	waitText(t, alice, "You already invited bob; waiting for an answer.")
	send(t, bob, "y")
	waitText(t, alice, "Private chat with bob")

	// A second invitation to a partner just shows the tab.
	send(t, alice, keyCtrlP)
	waitRow(t, alice, 1, `^ main  bob `)
	waitText(t, alice, "→ alice joined")
	say(t, alice, "/invite bob")
	waitText(t, alice, "Private chat with bob")
	if strings.Contains(bob.Screen(), "│ alice "+dialogText) {
		t.Error("a second invitation reached a current partner")
	}
}
