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

// Issue 13, defect 3: /ignore hides someone's messages and refuses their
// invitations without telling them; it follows their key through a new
// name, and a key-holder's list is there on their next visit.
func TestIgnoringHidesAndRefusesWithoutTelling(t *testing.T) {
	st := testkit.OpenNames(t, t.TempDir())
	opts := quick
	opts.Names = st
	opts.Room.InviteTTL = 500 * time.Millisecond
	ts := testserver.Start(t, opts)
	aliceKey, bobKey := testkit.NewKey(t), testkit.NewKey(t)
	alice := testkit.Join(t, ts.Addr, "alice", testkit.WithKey(aliceKey))
	bob := testkit.Join(t, ts.Addr, "bob", testkit.WithKey(bobKey))
	carol := testkit.Join(t, ts.Addr, "carol")
	testkit.WaitText(t, alice, "→ 2 people joined: bob, carol")

	testkit.Say(t, alice, "/ignore bob")
	testkit.WaitText(t, alice, "You ignore bob (by their key, whatever name they use)")
	hidden := func(text, marker string) {
		t.Helper()
		testkit.Say(t, carol, marker)
		testkit.WaitText(t, alice, "carol: "+marker)
		if strings.Contains(alice.Screen(), text) {
			t.Errorf("alice sees %q from someone she ignores:\n%s", text, alice.Screen())
		}
	}
	// says has who say text, which carol sees and alice does not.
	says := func(who *termtest.Client, name, text, marker string) {
		t.Helper()
		testkit.Say(t, who, text)
		testkit.WaitText(t, carol, name+": "+text)
		hidden(text, marker)
	}
	says(bob, "bob", "hello alice", "one")

	// An invitation is refused in silence: bob hears only that it expired.
	testkit.Say(t, bob, "/invite alice")
	testkit.WaitText(t, bob, "Invitation sent to alice")
	testkit.WaitText(t, bob, "Your invitation to alice expired unanswered")
	hidden("invites you", "two")

	// A new name does not escape it.
	bob.Close()
	testkit.WaitText(t, alice, "← bob left")
	robert := testkit.Join(t, ts.Addr, "robert", testkit.WithKey(bobKey))
	says(robert, "robert", "it is me again", "three")

	// The list is alice's key's: it is there on her next visit.
	alice.Close()
	alice = testkit.Join(t, ts.Addr, "alice", testkit.WithKey(aliceKey))
	testkit.Say(t, alice, "/ignored")
	testkit.WaitText(t, alice, "You ignore: bob (SHA256:")
	says(robert, "robert", "still hidden", "four")
	testkit.Say(t, alice, "/unignore bob")
	testkit.WaitText(t, alice, "You no longer ignore bob.")
	testkit.Say(t, robert, "shown now")
	testkit.WaitText(t, alice, "robert: shown now")
}

// After a decline the inviter waits before asking the same person again.
func TestADeclinedInviterWaits(t *testing.T) {
	opts := quick
	opts.Room = room.Options{MessageBurst: 100, DeclineWait: 10 * time.Minute}
	ts := testserver.Start(t, opts)
	alice := testkit.Join(t, ts.Addr, "alice")
	bob := testkit.Join(t, ts.Addr, "bob")
	testkit.Say(t, alice, "/invite bob")
	testkit.WaitText(t, bob, "alice invites you to a private chat [ OK ]")
	testkit.Send(t, bob, testkit.KeyAltN)
	testkit.WaitText(t, alice, "bob declined your invitation")
	testkit.Say(t, alice, "/invite bob")
	testkit.WaitText(t, alice, "bob declined your last invitation; you may invite them again in 10 min.")
	testkit.Say(t, bob, "/invite alice") // the other way is open
	testkit.WaitText(t, alice, "bob invites you to a private chat [ OK ]")
}
