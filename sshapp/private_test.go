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

// openChat has a invite b by command and b accept with Alt+Y; then both
// click the new tab, which opened without moving them.
func openChat(t *testing.T, a, b *termtest.Client, aName, bName string) {
	t.Helper()
	testkit.Say(t, a, "/invite "+bName)
	testkit.WaitText(t, a, "Invitation sent to "+bName)
	testkit.WaitText(t, b, aName+" "+dialogText+" [ OK ]")
	testkit.Send(t, b, testkit.KeyAltY)
	for _, c := range []struct {
		term *termtest.Client
		peer string
	}{{a, bName}, {b, aName}} {
		testkit.WaitText(t, c.term, "Private chat with "+c.peer+" opened in the tab")
		showTab(t, c.term, c.peer)
	}
}

// showTab clicks the tab of the private chat with peer.
func showTab(t *testing.T, c *termtest.Client, peer string) {
	t.Helper()
	testkit.WaitRow(t, c, 1, " "+peer+" ")
	c.Click(testkit.Find(t, c, 1, " "+peer+" ")+1, 1)
	testkit.WaitFor(t, c, "the prompt to name "+peer, func(s string) bool {
		rows := strings.Split(s, "\n")
		return strings.HasPrefix(rows[len(rows)-1], peer+" ")
	})
}

func TestAnAcceptedInvitationOpensAPrivateTabForBoth(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice")
	bob := testkit.Join(t, ts.Addr, "bob")
	carol := testkit.Join(t, ts.Addr, "carol")

	testkit.Say(t, alice, "/invite bob")
	testkit.WaitText(t, bob, "alice "+dialogText+" [ OK ] [ Cancel ]")
	testkit.Send(t, bob, testkit.KeyAltY)
	// Both have the new tab, marked, and neither was moved to it.
	testkit.WaitRow(t, alice, 1, `^ main  bob 1 `)
	testkit.WaitRow(t, bob, 1, `^ main  alice 1 `)
	testkit.WaitRow(t, bob, 23, `^main ›$`)
	testkit.WaitFor(t, bob, "the banner to go", func(s string) bool { return !strings.Contains(s, "[ OK ]") })

	showTab(t, bob, "alice")
	testkit.WaitRow(t, bob, 23, `^alice ›$`)
	showTab(t, alice, "bob")
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

// Issue 13, defect 1: alice types a sentence while bob invites her. Every
// letter goes to her input line (y, n and Enter too), and the sentence goes
// to the main room, where its prompt said it would.
func TestAnInvitationNeverTakesTyping(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice")
	bob := testkit.Join(t, ts.Addr, "bob")
	testkit.Send(t, alice, "hey ")
	testkit.WaitRow(t, alice, 23, `^main › hey$`)
	testkit.Say(t, bob, "/invite alice")
	testkit.WaitText(t, alice, "bob "+dialogText)
	testkit.Say(t, alice, "yes, everyone: no news")
	testkit.WaitText(t, bob, "alice: hey yes, everyone: no news")
	if s := alice.Screen(); !strings.Contains(s, "bob "+dialogText+" [ OK ]") || strings.Contains(bob.Screen(), "accepted") {
		t.Errorf("typing answered the invitation:\n%s", s)
	}
	testkit.Send(t, alice, testkit.KeyAltN)
	testkit.WaitText(t, bob, "alice declined your invitation")
}

// Issue 13, defect 2: alice invites dave and starts a line for the main
// room; dave accepts; her Enter still sends it to the main room.
func TestAcceptingMovesNobodysCursor(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice")
	dave := testkit.Join(t, ts.Addr, "dave")
	testkit.Say(t, alice, "/invite dave")
	testkit.WaitText(t, dave, "alice "+dialogText)
	testkit.Send(t, alice, "for everyone")
	testkit.WaitRow(t, alice, 23, `^main › for everyone$`)
	testkit.Say(t, dave, "/accept")
	testkit.WaitRow(t, alice, 1, `^ main  dave 1 `)
	testkit.WaitRow(t, alice, 23, `^main › for everyone$`)
	testkit.Send(t, alice, testkit.KeyEnter)
	testkit.WaitText(t, dave, "alice: for everyone")
	testkit.WaitRow(t, dave, 23, `^main ›$`)
	showTab(t, dave, "alice")
	if strings.Contains(dave.Screen(), "for everyone") {
		t.Errorf("the line went to the private chat:\n%s", dave.Screen())
	}
}

func TestADeclinedInvitationTellsTheInviter(t *testing.T) {
	// No wait after a decline (TestADeclinedInviterWaits has it): alice
	// invites twice.
	ts := testserver.Start(t, testserver.Options{Room: room.Options{DeclineWait: time.Nanosecond}})
	alice := testkit.Join(t, ts.Addr, "alice")
	bob := testkit.Join(t, ts.Addr, "bob")
	for _, answer := range []string{testkit.KeyAltN, "/decline alice\r"} {
		testkit.Say(t, alice, "/invite bob")
		testkit.WaitText(t, bob, "alice "+dialogText+" [ OK ]")
		testkit.Send(t, bob, answer)
		testkit.WaitFor(t, bob, "the banner to go", func(s string) bool { return !strings.Contains(s, "[ OK ]") })
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
	testkit.WaitText(t, bob, "Private chat with alice opened")
	testkit.WaitText(t, alice, "Private chat with bob opened")
	if strings.Contains(alice.Screen(), "cannot invite yourself") || strings.Contains(alice.Screen(), "Invitation sent to alice") {
		t.Error("clicking my own name did something")
	}
	// A click on a tab switches to it.
	showTab(t, bob, "alice")
	bob.Click(testkit.Find(t, bob, 1, "main"), 1)
	testkit.WaitRow(t, bob, 23, `^main ›$`)
}

func TestClickingCancelDeclines(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice")
	bob := testkit.Join(t, ts.Addr, "bob")
	testkit.Say(t, alice, "/invite bob")
	testkit.WaitText(t, bob, "[ Cancel ]")
	testkit.ClickText(t, bob, "[ Cancel ]")
	testkit.WaitFor(t, bob, "the banner to go", func(s string) bool { return !strings.Contains(s, "[ Cancel ]") })
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
	testkit.WaitRow(t, alice, 23, `^carol ›$`)

	// Ctrl+N wraps around: carol -> main -> bob.
	testkit.Send(t, alice, testkit.KeyCtrlN)
	testkit.WaitText(t, alice, "Welcome, alice.")
	testkit.Send(t, alice, testkit.KeyCtrlN)
	testkit.WaitText(t, alice, "Private chat with bob")

	// A message in a tab that is not showing marks it.
	testkit.Say(t, carol, "ping")
	testkit.WaitRow(t, alice, 1, `^ main  bob  carol 1 `)
	if strings.Contains(alice.Screen(), "carol: ping") {
		t.Error("a message for the carol tab shows in the bob tab")
	}
	testkit.Send(t, alice, testkit.KeyCtrlP) // bob -> main
	testkit.Send(t, alice, testkit.KeyCtrlP) // main -> carol
	testkit.WaitText(t, alice, "carol: ping")
	testkit.WaitRow(t, alice, 1, `^ main  bob  carol `)
	if strings.Contains(alice.Row(1), "carol 1") {
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
	testkit.WaitRow(t, bob, 23, `^alice \(ended\) ›`)
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
	testkit.WaitText(t, bob, "alice "+dialogText+" [ OK ]")
	testkit.WaitText(t, alice, "Your invitation to bob expired unanswered")
	testkit.WaitText(t, bob, "The invitation from alice expired")
	testkit.WaitFor(t, bob, "the banner to go", func(s string) bool { return !strings.Contains(s, "[ OK ]") })
	testkit.Send(t, bob, testkit.KeyAltY) // nothing to answer
	testkit.WaitText(t, bob, "There is no invitation to answer.")
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
	testkit.WaitText(t, bob, "alice "+dialogText+" [ OK ]")
	testkit.Say(t, alice, "/invite bob")
	testkit.WaitText(t, alice, "You already invited bob; waiting for an answer.")
	testkit.Say(t, bob, "/accept nobody")
	testkit.WaitText(t, bob, "No invitation from nobody is waiting.")
	testkit.Say(t, bob, "/accept alice")
	testkit.WaitText(t, alice, "Private chat with bob opened")

	// A second invitation to a partner just shows the tab.
	testkit.WaitRow(t, alice, 1, `^ main  bob `)
	testkit.Say(t, alice, "/invite bob")
	testkit.WaitText(t, alice, "Private chat with bob: only the two of you")
	testkit.WaitRow(t, alice, 23, `^bob ›$`)
	if strings.Contains(bob.Screen(), "[ OK ]") {
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
