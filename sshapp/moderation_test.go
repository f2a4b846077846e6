package sshapp_test

import (
	"fmt"
	"strings"
	"testing"

	"chatroom/internal/termtest"
	"chatroom/internal/testkit"
	"chatroom/internal/testserver"
	"chatroom/keys"

	gossh "golang.org/x/crypto/ssh"
)

// from is a key or a guest connecting from a loopback address of its own.
func from(ip string, k gossh.Signer) termtest.Options {
	o := termtest.Options{LocalIP: ip}
	if k != nil {
		o.Auth = testkit.WithKey(k).Auth
	}
	return o
}

// refused dials and expects to be turned away with a line on stderr.
func refused(t *testing.T, addr, name string, o termtest.Options, want string) {
	t.Helper()
	c, err := termtest.Dial(addr, name, o)
	if err != nil {
		t.Fatalf("dial as %s: %v", name, err)
	}
	defer c.Close()
	testkit.WaitDone(t, c)
	if !strings.Contains(c.Stderr(), want) {
		t.Errorf("%s was told %q, want %q; screen:\n%s", name, c.Stderr(), want, c.Screen())
	}
}

// onJoinScreen connects with a name that cannot be had, so that the
// session waits on the join screen.
func onJoinScreen(t *testing.T, addr string, o termtest.Options) *termtest.Client {
	t.Helper()
	c := testkit.Connect(t, addr, "-waiting", o)
	testkit.WaitText(t, c, "Name:")
	return c
}

// A ban reaches every session of the banned key at once: in the room under
// another name, and waiting on the join screen, which must not join later.
func TestABanReachesEverySessionOfTheKey(t *testing.T) {
	mod, mk := testkit.NewKey(t), testkit.NewKey(t)
	ts, _ := namesServer(t, t.TempDir(), mod)
	m := testkit.Join(t, ts.Addr, "mod", testkit.WithKey(mod))
	mallory := testkit.Join(t, ts.Addr, "mallory", testkit.WithKey(mk))
	mallory2 := testkit.Join(t, ts.Addr, "mallory2", testkit.WithKey(mk))
	waiting := onJoinScreen(t, ts.Addr, testkit.WithKey(mk))

	testkit.Say(t, m, "/ban mallory spamming")
	testkit.WaitText(t, m, "mallory is banned; 3 session(s) closed.")
	for _, c := range []*termtest.Client{mallory, mallory2, waiting} {
		testkit.WaitDone(t, c)
		testkit.WaitText(t, c, "You were banned by mod: spamming.")
	}
	testkit.WaitText(t, m, "← mallory2 left (banned by mod: spamming)")
	if online(ts.Room, "mallory") || online(ts.Room, "mallory2") {
		t.Error("mallory is still in the room")
	}
	refused(t, ts.Addr, "mallory3", testkit.WithKey(mk), "chatroom: you are banned: spamming")
}

// Taking a key off the allow list closes its sessions everywhere, the join
// screen included.
func TestRemovingAKeyFromTheAllowListClosesItsSessionsEverywhere(t *testing.T) {
	a, b := testkit.NewKey(t), testkit.NewKey(t)
	ts := testserver.Start(t, testserver.Options{Allowed: testkit.KeySet(t, a, b)})
	alice := testkit.Join(t, ts.Addr, "alice", testkit.WithKey(a))
	waiting := onJoinScreen(t, ts.Addr, testkit.WithKey(a))
	bob := testkit.Join(t, ts.Addr, "bob", testkit.WithKey(b))

	ts.Host.SetAllowed(testkit.KeySet(t, b))
	for _, c := range []*termtest.Client{alice, waiting} {
		testkit.WaitDone(t, c)
		testkit.WaitText(t, c, "You were removed: this key is no longer allowed.")
	}
	testkit.Say(t, bob, "still here")
	testkit.WaitText(t, bob, "bob: still here")
}

// A ban on a key also keeps out guests from the address it was banned from,
// and a ban on a guest's address keeps out throwaway keys from it, but not
// a moderator's.
func TestABanCannotBeDodgedBySwitchingBetweenAKeyAndNone(t *testing.T) {
	mod, mk := testkit.NewKey(t), testkit.NewKey(t)
	ts, _ := namesServer(t, t.TempDir(), mod)
	m := testkit.Join(t, ts.Addr, "mod", from("127.0.0.1", mod))
	mallory := testkit.Join(t, ts.Addr, "mallory", from("127.0.0.2", mk))
	sidekick := testkit.Join(t, ts.Addr, "sidekick", from("127.0.0.2", nil))
	bystander := testkit.Join(t, ts.Addr, "bystander", from("127.0.0.3", nil))

	testkit.Say(t, m, "/ban mallory")
	testkit.WaitText(t, m, "mallory is banned; 2 session(s) closed.")
	testkit.WaitDone(t, mallory)
	testkit.WaitDone(t, sidekick) // a guest from the banned key's address
	refused(t, ts.Addr, "mallory", from("127.0.0.2", nil), "chatroom: you are banned")
	refused(t, ts.Addr, "mallory", from("127.0.0.3", mk), "chatroom: you are banned")
	testkit.Join(t, ts.Addr, "someone", from("127.0.0.2", testkit.NewKey(t))) // another key is not banned

	gus := testkit.Join(t, ts.Addr, "gus", from("127.0.0.4", nil))
	testkit.Say(t, m, "/ban gus")
	testkit.WaitText(t, m, "gus is banned; 1 session(s) closed.")
	testkit.WaitDone(t, gus)
	refused(t, ts.Addr, "gus", from("127.0.0.4", nil), "chatroom: you are banned")
	refused(t, ts.Addr, "notgus", from("127.0.0.4", testkit.NewKey(t)), "chatroom: you are banned")
	testkit.Join(t, ts.Addr, "mod2", from("127.0.0.4", mod)) // a moderator's key still gets in
	testkit.Say(t, bystander, "unaffected")
	testkit.WaitText(t, bystander, "bystander: unaffected")
}

// A moderator whose key is taken off the list loses the commands at the
// reload, in the session already open.
func TestAModeratorRemovedAtReloadLosesTheCommandsAtOnce(t *testing.T) {
	mod := testkit.NewKey(t)
	ts, _ := namesServer(t, t.TempDir(), mod)
	m := testkit.Join(t, ts.Addr, "mod", testkit.WithKey(mod))
	bob := testkit.Join(t, ts.Addr, "bob")
	testkit.Say(t, m, "/help")
	testkit.WaitText(t, m, "Moderators:")
	ts.Host.SetAdmins(testkit.KeySet(t, testkit.NewKey(t)))
	testkit.Say(t, m, "/kick bob")
	testkit.WaitText(t, m, "Not allowed: only moderators may /kick.")
	testkit.Say(t, bob, "still here")
	testkit.WaitText(t, bob, "bob: still here")
}

// Ban lengths past what a duration holds do not overflow into nothing.
func TestLongBansAreForGood(t *testing.T) {
	mod, ek := testkit.NewKey(t), testkit.NewKey(t)
	ts, st := namesServer(t, t.TempDir(), mod)
	m := testkit.Join(t, ts.Addr, "mod", testkit.WithKey(mod))
	for _, length := range []string{"106752d", "99999999999999999999d", "1000000h"} {
		eve := testkit.Join(t, ts.Addr, "eve", testkit.WithKey(ek))
		testkit.Say(t, m, "/ban eve "+length+" pest")
		testkit.WaitDone(t, eve)
		testkit.WaitText(t, eve, "You were banned by mod for good: pest.")
		refused(t, ts.Addr, "eve", testkit.WithKey(ek), "chatroom: you are banned: pest")
		bans, _ := st.Banned(keys.Fingerprint(ek.PublicKey()), "")
		if len(bans) != 1 || !bans[0].Until.IsZero() {
			t.Errorf("/ban eve %s saved %+v", length, bans)
		}
		testkit.Say(t, m, "/unban eve")
		testkit.WaitText(t, m, "Lifted 1 ban(s) on eve.")
		m.Send("\x0c") // Ctrl+L: a fresh screen for the next round's texts
	}
	testkit.Say(t, m, "/ban mod 0d")
	testkit.WaitText(t, m, "mod is banned") // "0d" is no length: it is part of the reason
}

// Commands cost what messages cost; looking people up costs more, so it is
// spaced; quitting is always free.
func TestCommandsAreRateLimited(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	for i := range 58 {
		if _, err := ts.Room.Join(fmt.Sprintf("extra%02d", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	alice := testkit.Join(t, ts.Addr, "alice", termtest.Options{Width: 120, Height: 40})
	bob := testkit.Join(t, ts.Addr, "bob")

	testkit.Say(t, alice, "/who") // more than it lists: the list of everyone opens
	testkit.WaitText(t, alice, "60 online · click a name to invite")
	testkit.Send(t, alice, testkit.KeyEsc)
	testkit.WaitText(t, alice, "60 online: alice (guest), bob (guest), extra00, ")
	testkit.WaitText(t, alice, " and 10 more")
	testkit.Say(t, alice, "/who")
	testkit.WaitText(t, alice, "Not done: /who, /whois and /banned may be used once every 3s")
	testkit.WaitRow(t, alice, 39, `^main › /who$`) // kept, to press Enter again
	testkit.Send(t, alice, testkit.KeyCtrlU)
	for range 6 {
		testkit.Say(t, alice, "/mouse")
	}
	testkit.WaitText(t, alice, "Not done: slow down: at most 2 messages a second (commands count too).")
	testkit.Send(t, alice, testkit.KeyCtrlU) // the refused command waits there
	testkit.Say(t, alice, "/quit")
	testkit.WaitDone(t, alice)
	testkit.WaitText(t, bob, "← alice left")
}
