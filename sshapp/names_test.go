package sshapp_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"chatroom/internal/termtest"
	"chatroom/internal/testkit"
	"chatroom/internal/testserver"
	"chatroom/keys"
	"chatroom/names"
	"chatroom/sshd"

	gossh "golang.org/x/crypto/ssh"
)

// Past its share of new names in an hour, an address's new keys join with
// their names unbound, and are told so in one line; the key is still the
// person's for takeover and /whois. Another address is not held back.
func TestNewNamesPerAddressAreLimited(t *testing.T) {
	st := testkit.OpenNames(t, t.TempDir())
	ts := testserver.Start(t, testserver.Options{Names: st, NewNamesPerHour: 2,
		Limits: sshd.Limits{LimitLoopback: true}})
	from := func(k gossh.Signer) termtest.Options { // a key, from 127.0.0.2
		o := testkit.WithKey(k)
		o.LocalIP = "127.0.0.2"
		return o
	}
	for _, name := range []string{"ann", "ben"} {
		c := testkit.Join(t, ts.Addr, name, from(testkit.NewKey(t)))
		c.Close()
		if _, bound, _ := st.Owner(name); !bound {
			t.Fatalf("%s, within the limit, is not bound", name)
		}
	}
	k := testkit.NewKey(t)
	cal := testkit.Join(t, ts.Addr, "cal", from(k))
	testkit.WaitText(t, cal, "cal is yours for this visit only: this address has bound 2 new names in")
	if _, bound, _ := st.Owner("cal"); bound {
		t.Error("cal, past the limit, was bound")
	}
	// Still cal's key: /whois says so, and it takes over its own ghost.
	other := testkit.Join(t, ts.Addr, "dee", testkit.WithKey(testkit.NewKey(t)))
	testkit.Say(t, other, "/whois cal")
	testkit.WaitText(t, other, "cal: key "+keys.Fingerprint(k.PublicKey())[:19])
	again := testkit.Join(t, ts.Addr, "cal", from(k))
	testkit.WaitText(t, again, "You were already signed in with this key")
	testkit.WaitDone(t, cal)
	// Another address binds as before (dee, from 127.0.0.1, did).
	if _, bound, _ := st.Owner("dee"); !bound {
		t.Error("another address was held back")
	}
}

// failing is a store whose claims fail, as on a full disk.
type failing struct{ names.Store }

func (failing) Claim(string, gossh.PublicKey) (bool, error) {
	return false, errors.New("disk full")
}

// A name that cannot be saved keeps its person out, says why, and shows
// nobody a join and a leave; trying again fails the same way.
func TestANameThatCannotBeSavedShowsNobodyAnything(t *testing.T) {
	st := testkit.OpenNames(t, t.TempDir())
	ts := testserver.Start(t, testserver.Options{Names: failing{st}})
	watcher := testkit.Join(t, ts.Addr, "watcher")
	k := testkit.NewKey(t)
	for try := range 2 {
		c := testkit.Connect(t, ts.Addr, "alice", testkit.WithKey(k))
		testkit.WaitText(t, c, "The server could not save your name; try again in a moment.")
		c.Close()
		testkit.Say(t, watcher, fmt.Sprintf("marker %d", try))
		testkit.WaitText(t, watcher, fmt.Sprintf("marker %d", try))
	}
	testkit.Say(t, watcher, "/who")
	testkit.WaitText(t, watcher, "1 online: watcher")
	if s := watcher.Screen(); strings.Contains(s, "alice") {
		t.Errorf("the watcher saw alice:\n%s", s)
	}
}
