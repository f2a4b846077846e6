package sshapp_test

import (
	"strings"
	"testing"
	"time"

	"chatroom/internal/termtest"
	"chatroom/internal/testkit"
	"chatroom/internal/testserver"
	"chatroom/room"
)

const dialogText = "invites you to a private chat"

// openChat has a invite b by command and b accept with y; both end up in
// the private tab.
func openChat(t *testing.T, a, b *termtest.Client, aName, bName string) {
	t.Helper()
	testkit.Say(t, a, "/invite "+bName)
	testkit.WaitText(t, a, "Invitation sent to "+bName)
	testkit.WaitText(t, b, "│ "+aName+" "+dialogText)
	testkit.Send(t, b, "y")
	testkit.WaitText(t, b, "Private chat with "+aName+": only the two of you")
	testkit.WaitText(t, a, "Private chat with "+bName+": only the two of you")
}

func TestAnAcceptedInvitationOpensAPrivateTabForBoth(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice")
	bob := testkit.Join(t, ts.Addr, "bob")
	carol := testkit.Join(t, ts.Addr, "carol")

	testkit.Say(t, alice, "/invite bob")
	testkit.WaitText(t, bob, "alice "+dialogText)
	testkit.WaitText(t, bob, "[ OK ]   [ Cancel ]")
	testkit.Send(t, bob, "y")
	// Both were switched to the new tab.
	testkit.WaitRow(t, alice, 1, `^ main  bob `)
	testkit.WaitRow(t, bob, 1, `^ main  alice `)
	testkit.WaitText(t, bob, "Private chat with alice")
	if strings.Contains(bob.Screen(), dialogText) {
		t.Error("the dialog stayed after accepting")
	}

	testkit.Say(t, bob, "only for you")
	testkit.WaitText(t, alice, "bob: only for you")
	testkit.Say(t, alice, "same here")
	testkit.WaitText(t, bob, "alice: same here")

	// The main room did not see it, and carol saw nothing of it.
	testkit.Say(t, carol, "public")
	testkit.Send(t, alice, testkit.KeyCtrlP)
	testkit.WaitText(t, alice, "carol: public")
	testkit.WaitText(t, alice, "bob accepted your invitation")
	for _, c := range []*termtest.Client{alice, carol} {
		if s := c.Screen(); strings.Contains(s, "only for you") || strings.Contains(s, "same here") {
			t.Errorf("a private message shows outside the private tab:\n%s", s)
		}
	}
}

func TestADeclinedInvitationTellsTheInviter(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice")
	bob := testkit.Join(t, ts.Addr, "bob")
	for _, key := range []string{"n", testkit.KeyEsc} {
		testkit.Say(t, alice, "/invite bob")
		testkit.WaitText(t, bob, "│ alice "+dialogText)
		testkit.Send(t, bob, key)
		testkit.WaitFor(t, bob, "the dialog to close", func(s string) bool { return !strings.Contains(s, "│ alice "+dialogText) })
		testkit.WaitText(t, alice, "bob declined your invitation")
		testkit.Say(t, alice, "/who") // a marker, so the next decline is a new line
		testkit.WaitText(t, alice, "2 online:")
	}
	if n := strings.Count(alice.Screen(), "bob declined your invitation"); n != 2 {
		t.Errorf("%d declines shown, want 2", n)
	}
	testkit.WaitRow(t, alice, 1, `^ main +Ctrl`)
}

func TestClickingANameInvitesAndClickingOKAccepts(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice", termtest.Options{Width: 100, Height: 30})
	bob := testkit.Join(t, ts.Addr, "bob")
	testkit.WaitRow(t, alice, 0, `alice bob$`)
	alice.Click(testkit.Find(t, alice, 0, "bob")+1, 0)
	testkit.WaitText(t, alice, "Invitation sent to bob")
	testkit.WaitText(t, bob, "alice "+dialogText)

	// Clicking my own name does nothing.
	alice.Click(testkit.Find(t, alice, 0, "alice"), 0)

	testkit.ClickText(t, bob, "[ OK ]")
	testkit.WaitText(t, bob, "Private chat with alice")
	testkit.WaitText(t, alice, "Private chat with bob")
	if strings.Contains(alice.Screen(), "cannot invite yourself") || strings.Contains(alice.Screen(), "Invitation sent to alice") {
		t.Error("clicking my own name did something")
	}
	// A click on a tab switches to it.
	bob.Click(testkit.Find(t, bob, 1, "main"), 1)
	testkit.WaitText(t, bob, "Welcome, bob.")
}

func TestClickingCancelDeclines(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice")
	bob := testkit.Join(t, ts.Addr, "bob")
	testkit.Say(t, alice, "/invite bob")
	testkit.WaitText(t, bob, "[ Cancel ]")
	testkit.ClickText(t, bob, "[ Cancel ]")
	testkit.WaitText(t, alice, "bob declined your invitation")
}

func TestTabsSwitchAndMarkUnreadMessages(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice")
	bob := testkit.Join(t, ts.Addr, "bob")
	carol := testkit.Join(t, ts.Addr, "carol")
	openChat(t, alice, bob, "alice", "bob")
	openChat(t, alice, carol, "alice", "carol")
	testkit.WaitRow(t, alice, 1, `^ main  bob  carol `)

	// Ctrl+N wraps around: carol -> main -> bob.
	testkit.Send(t, alice, testkit.KeyCtrlN)
	testkit.WaitText(t, alice, "Welcome, alice.")
	testkit.Send(t, alice, testkit.KeyCtrlN)
	testkit.WaitText(t, alice, "Private chat with bob")

	// A message in a tab that is not showing marks it.
	testkit.Say(t, carol, "ping")
	testkit.WaitRow(t, alice, 1, `^ main  bob  carol • `)
	if strings.Contains(alice.Screen(), "carol: ping") {
		t.Error("a message for the carol tab shows in the bob tab")
	}
	testkit.Send(t, alice, testkit.KeyCtrlP) // bob -> main
	testkit.Send(t, alice, testkit.KeyCtrlP) // main -> carol
	testkit.WaitText(t, alice, "carol: ping")
	testkit.WaitRow(t, alice, 1, `^ main  bob  carol `)
	if strings.Contains(alice.Row(1), "•") {
		t.Errorf("the mark stayed after reading: %q", alice.Row(1))
	}
	// Messages typed go to the tab that is showing.
	testkit.Say(t, alice, "pong")
	testkit.WaitText(t, carol, "alice: pong")
	if strings.Contains(bob.Screen(), "pong") {
		t.Error("bob got a message meant for carol")
	}
}

func TestClosingAChatMakesItReadOnlyForThePartner(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice")
	bob := testkit.Join(t, ts.Addr, "bob")
	openChat(t, alice, bob, "alice", "bob")
	testkit.Say(t, alice, "/close")
	testkit.WaitRow(t, alice, 1, `^ main +Ctrl`)
	testkit.WaitText(t, bob, "alice closed the chat. It is read-only")
	testkit.WaitRow(t, bob, 1, `alice \(ended\)`)
	testkit.WaitRow(t, bob, 23, `^\(ended\) >`)
	testkit.Say(t, bob, "anyone?")
	testkit.WaitText(t, bob, "Not sent: the chat with alice has ended")
	testkit.WaitRow(t, bob, 23, `anyone\?$`) // nothing typed is lost
	testkit.Send(t, bob, testkit.KeyCtrlU)
	testkit.Say(t, bob, "/close")
	testkit.WaitRow(t, bob, 1, `^ main +Ctrl`)
}

func TestAPartnerLeavingMakesTheTabReadOnly(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice")
	bob := testkit.Join(t, ts.Addr, "bob")
	openChat(t, alice, bob, "alice", "bob")
	testkit.Say(t, bob, "/quit")
	testkit.WaitDone(t, bob)
	testkit.WaitText(t, alice, "bob left. This chat is read-only")
	testkit.WaitRow(t, alice, 1, `bob \(ended\)`)
}

func TestInvitationsExpire(t *testing.T) {
	// The room's unit tests check the real 60 s with a fake clock; here a
	// short TTL shows what people see when it happens.
	ts := testserver.Start(t, testserver.Options{Room: room.Options{InviteTTL: 300 * time.Millisecond}})
	alice := testkit.Join(t, ts.Addr, "alice")
	bob := testkit.Join(t, ts.Addr, "bob")
	testkit.Say(t, alice, "/invite bob")
	testkit.WaitText(t, bob, "│ alice "+dialogText)
	testkit.WaitText(t, alice, "Your invitation to bob expired unanswered")
	testkit.WaitText(t, bob, "The invitation from alice expired")
	testkit.WaitFor(t, bob, "the dialog to go", func(s string) bool { return !strings.Contains(s, "│ alice "+dialogText) })
	testkit.Send(t, bob, "y") // no dialog: it is typed
	testkit.WaitRow(t, bob, 23, `^> y$`)
}

func TestInvitationsThatCannotBe(t *testing.T) {
	ts := testserver.Start(t, quick)
	alice := testkit.Join(t, ts.Addr, "alice")
	bob := testkit.Join(t, ts.Addr, "bob")
	testkit.Say(t, alice, "/invite alice")
	testkit.WaitText(t, alice, "You cannot invite yourself.")
	testkit.Say(t, alice, "/invite nobody")
	testkit.WaitText(t, alice, "nobody is not online.")
	testkit.Say(t, alice, "/invite Bob")
	testkit.WaitText(t, alice, "Bob is not online.") // names are case-sensitive
	testkit.Say(t, alice, "/invite")
	testkit.WaitText(t, alice, "Usage: /invite NAME")

	testkit.Say(t, alice, "/invite bob")
	testkit.WaitText(t, bob, "│ alice "+dialogText)
	testkit.Say(t, alice, "/invite bob")
	testkit.WaitText(t, alice, "You already invited bob; waiting for an answer.")
	testkit.Send(t, bob, "y")
	testkit.WaitText(t, alice, "Private chat with bob")

	// A second invitation to a partner just shows the tab.
	testkit.Send(t, alice, testkit.KeyCtrlP)
	testkit.WaitRow(t, alice, 1, `^ main  bob `)
	testkit.WaitText(t, alice, "Welcome, alice.")
	testkit.Say(t, alice, "/invite bob")
	testkit.WaitText(t, alice, "Private chat with bob")
	if strings.Contains(bob.Screen(), "│ alice "+dialogText) {
		t.Error("a second invitation reached a current partner")
	}
}

// With more tabs than fit, the active one is drawn, over SSH, with ‹ and ›
// for the rest.
func TestTheActiveTabIsDrawnWhateverTheWidth(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice", termtest.Options{Width: 100, Height: 24})
	for _, name := range []string{"bartholomew", "cassandra", "dorothea"} {
		peer := testkit.Join(t, ts.Addr, name)
		openChat(t, peer, alice, name, "alice")
	}
	if err := alice.Resize(30, 12); err != nil {
		t.Fatal(err)
	}
	testkit.WaitRow(t, alice, 1, `^‹ cassandra  dorothea`)
	for range 3 {
		testkit.Send(t, alice, testkit.KeyCtrlP)
	}
	testkit.WaitRow(t, alice, 1, `^ main  bartholomew .*›`)
}
