package sshapp_test

import (
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"chatroom/internal/termtest"
	"chatroom/internal/testkit"
	"chatroom/internal/testserver"
	"chatroom/keys"
	"chatroom/names"
	"chatroom/room"
	"chatroom/tui"

	gossh "golang.org/x/crypto/ssh"
)

// namesServer runs a server whose names belong to keys, kept in dir, for
// tests that type commands faster than a person would: the allowance for
// commands and the spacing of lookups are loosened.
func namesServer(t *testing.T, dir string, admins ...gossh.Signer) (*testserver.Server, *names.DB) {
	t.Helper()
	st := testkit.OpenNames(t, dir)
	var set *keys.KeySet
	if len(admins) > 0 {
		set = testkit.KeySet(t, admins...)
	}
	return testserver.Start(t, testserver.Options{Names: st, Admins: set, Room: quick.Room, Session: quick.Session}), st
}

// quick are the limits of a server whose tests type commands quickly.
var quick = testserver.Options{Room: room.Options{MessageBurst: 100}, Session: tui.Limits{LookupEvery: time.Millisecond}}

func TestTheFirstKeyToJoinOwnsTheName(t *testing.T) {
	dir := t.TempDir()
	ts, st := namesServer(t, dir)
	a, b := testkit.NewKey(t), testkit.NewKey(t)
	alice := testkit.Join(t, ts.Addr, "alice", testkit.WithKey(a))
	// On disk, before she was let in: another process reads it.
	if own, bound, _ := testkit.OpenNames(t, dir).Owner("alice"); !bound || own.Fingerprint != keys.Fingerprint(a.PublicKey()) {
		t.Fatalf("alice's binding after she joined: %+v", own)
	}
	testkit.Say(t, alice, "/quit")
	testkit.WaitDone(t, alice)

	for _, o := range []termtest.Options{testkit.WithKey(b), {}} {
		c := testkit.Connect(t, ts.Addr, "alice", o)
		testkit.WaitText(t, c, `"alice" belongs to another key.`)
		testkit.WaitText(t, c, "Name: alice") // offered again, to edit
		testkit.Send(t, c, testkit.KeyCtrlU)
		testkit.Say(t, c, "notalice")
		testkit.WaitText(t, c, "Welcome, notalice.")
		testkit.Say(t, c, "/quit")
		testkit.WaitDone(t, c)
	}
	testkit.Join(t, ts.Addr, "alice", testkit.WithKey(a)) // her key still works
	if own, _, _ := st.Owner("alice"); !keys.SameKey(own.Key, a.PublicKey()) {
		t.Error("alice's binding changed")
	}
}

func TestGuestsTakeFreeNamesButNeverBindThem(t *testing.T) {
	dir := t.TempDir()
	ts, st := namesServer(t, dir)
	gus := testkit.Join(t, ts.Addr, "gus")
	watcher := testkit.Join(t, ts.Addr, "watcher", testkit.WithKey(testkit.NewKey(t)))
	testkit.Say(t, watcher, "/who")
	testkit.WaitText(t, watcher, "2 online: gus (guest), watcher")
	if _, bound, _ := st.Owner("gus"); bound {
		t.Error("a guest's name was bound")
	}
	testkit.Say(t, watcher, "/whois gus")
	testkit.WaitText(t, watcher, "gus: a guest (no key), online for")
	testkit.Say(t, gus, "/quit")
	testkit.WaitDone(t, gus)
	k := testkit.NewKey(t)
	testkit.Join(t, ts.Addr, "gus", testkit.WithKey(k))
	if own, _, _ := st.Owner("gus"); !keys.SameKey(own.Key, k.PublicKey()) {
		t.Error("the first key to join as gus does not own it")
	}
}

func TestTheSameKeyTakesOverItsGhostAndNobodySeesAFlap(t *testing.T) {
	ts, _ := namesServer(t, t.TempDir())
	a := testkit.NewKey(t)
	bob := testkit.Join(t, ts.Addr, "bob", testkit.WithKey(testkit.NewKey(t)))
	ghost := testkit.Join(t, ts.Addr, "alice", testkit.WithKey(a))
	testkit.WaitText(t, bob, "→ alice joined")
	openChat(t, ghost, bob, "alice", "bob")

	fresh := testkit.Join(t, ts.Addr, "alice", testkit.WithKey(a))
	testkit.WaitText(t, fresh, "You were already signed in with this key")
	testkit.WaitDone(t, ghost)
	testkit.WaitText(t, ghost, "You signed in from elsewhere; this session is closed.")
	// The private chat carries on in the new session.
	testkit.WaitRow(t, fresh, 1, ` bob `)
	testkit.Say(t, bob, "still with me?")
	testkit.Send(t, fresh, testkit.KeyCtrlN)
	testkit.WaitText(t, fresh, "bob: still with me?")
	testkit.Send(t, bob, testkit.KeyCtrlP) // to the main room
	testkit.Say(t, bob, "/who")            // a marker after the takeover
	testkit.WaitText(t, bob, "2 online:")
	if s := bob.Screen(); strings.Contains(s, "← alice left") || strings.Count(s, "→ alice joined") != 1 {
		t.Errorf("bob saw alice flap:\n%s", s)
	}

	// Another key can never do it.
	other := testkit.Connect(t, ts.Addr, "alice", testkit.WithKey(testkit.NewKey(t)))
	testkit.WaitText(t, other, `"alice" belongs to another key.`)
	testkit.Send(t, fresh, testkit.KeyCtrlP) // back to the main room
	testkit.Say(t, fresh, "still me")
	testkit.WaitText(t, bob, "alice: still me")
}

func TestWhoisShowsTheKeyAndModeratorsSeeTheAddress(t *testing.T) {
	mod := testkit.NewKey(t)
	ts, _ := namesServer(t, t.TempDir(), mod)
	a := testkit.NewKey(t)
	testkit.Join(t, ts.Addr, "alice", testkit.WithKey(a))
	bob := testkit.Join(t, ts.Addr, "bob", testkit.WithKey(testkit.NewKey(t)))
	m := testkit.Join(t, ts.Addr, "mod", testkit.WithKey(mod))
	short := keys.Fingerprint(a.PublicKey())[:19]
	testkit.Say(t, bob, "/whois alice")
	testkit.WaitText(t, bob, "alice: key "+short+"…, online for")
	if strings.Contains(bob.Screen(), "from 127.0.0.1") {
		t.Error("a non-moderator sees addresses")
	}
	testkit.Say(t, m, "/whois alice")
	testkit.WaitText(t, m, "from 127.0.0.1:")
	testkit.Say(t, bob, "/whois nobody")
	testkit.WaitText(t, bob, "nobody is not online.")
}

func TestOnlyAllowedKeysGetIn(t *testing.T) {
	a, b := testkit.NewKey(t), testkit.NewKey(t)
	ts := testserver.Start(t, testserver.Options{Allowed: testkit.KeySet(t, a)})
	alice := testkit.Join(t, ts.Addr, "alice", testkit.WithKey(a))
	if _, err := termtest.Dial(ts.Addr, "bob", testkit.WithKey(b)); err == nil {
		t.Error("a key not on the list got in")
	}
	if _, err := termtest.Dial(ts.Addr, "guest", termtest.Options{}); err == nil {
		t.Error("a guest got in past the list")
	}
	// The list changes (SIGHUP in main): alice is out, bob is in.
	ts.Host.SetAllowed(testkit.KeySet(t, b))
	testkit.WaitDone(t, alice)
	testkit.WaitText(t, alice, "You were removed: this key is no longer allowed.")
	testkit.Join(t, ts.Addr, "bob", testkit.WithKey(b))
}

func TestModeratorsKickBanAndRelease(t *testing.T) {
	dir := t.TempDir()
	mod := testkit.NewKey(t)
	ts, st := namesServer(t, dir, mod)
	m := testkit.Join(t, ts.Addr, "mod", testkit.WithKey(mod))
	bob := testkit.Join(t, ts.Addr, "bob", testkit.WithKey(testkit.NewKey(t)))
	carolKey := testkit.NewKey(t)
	carol := testkit.Join(t, ts.Addr, "carol", testkit.WithKey(carolKey))
	gus := testkit.Join(t, ts.Addr, "gus", termtest.Options{LocalIP: "127.0.0.2"})

	testkit.Say(t, bob, "/kick carol")
	testkit.WaitText(t, bob, "Not allowed: only moderators may /kick.")

	testkit.Say(t, m, "/kick bob being rude")
	testkit.WaitDone(t, bob)
	testkit.WaitText(t, bob, "You were kicked by mod: being rude.")
	testkit.WaitText(t, carol, "← bob left (kicked by mod: being rude)")

	testkit.Say(t, m, "/ban carol 1h flooding")
	testkit.WaitDone(t, carol)
	testkit.WaitText(t, carol, "You were banned by mod for 1h: flooding.")
	again, err := termtest.Dial(ts.Addr, "carol", testkit.WithKey(carolKey))
	if err != nil {
		t.Fatal(err)
	}
	testkit.WaitDone(t, again)
	if !strings.Contains(again.Stderr(), "chatroom: you are banned until ") || !strings.Contains(again.Stderr(), ": flooding") {
		t.Errorf("banned carol was told %q", again.Stderr())
	}
	// A guest is banned by address; another address still gets in.
	testkit.Say(t, m, "/ban gus")
	testkit.WaitDone(t, gus)
	g2, _ := termtest.Dial(ts.Addr, "gus2", termtest.Options{LocalIP: "127.0.0.2"})
	testkit.WaitDone(t, g2)
	if !strings.Contains(g2.Stderr(), "chatroom: you are banned") {
		t.Errorf("a guest from a banned address: %q", g2.Stderr())
	}
	testkit.Join(t, ts.Addr, "gus3", termtest.Options{LocalIP: "127.0.0.3"})

	// Bans outlive the server.
	if b, _ := testkit.OpenNames(t, dir).Banned(keys.Fingerprint(carolKey.PublicKey()), ""); len(b) != 1 {
		t.Error("carol's ban is not on disk")
	}
	testkit.Say(t, m, "/banned")
	testkit.WaitText(t, m, "2 banned:")
	testkit.WaitText(t, m, "carol (key SHA256:")
	testkit.Say(t, m, "/unban carol")
	testkit.WaitText(t, m, "Lifted 1 ban(s) on carol.")
	testkit.Join(t, ts.Addr, "carol", testkit.WithKey(carolKey))

	testkit.Say(t, m, "/release carol")
	testkit.WaitText(t, m, "carol is free now")
	if _, bound, _ := st.Owner("carol"); bound {
		t.Error("carol still bound after /release")
	}
}

// The security tests (x/crypto CVE-2024-45337): identity is the key a
// session proved, never one it only offered.

// unsigned offers a public key it cannot sign with, as an attacker holding
// only someone's public key would.
type unsigned struct{ pub gossh.PublicKey }

func (u unsigned) PublicKey() gossh.PublicKey { return u.pub }
func (u unsigned) Sign(io.Reader, []byte) (*gossh.Signature, error) {
	return nil, errors.New("no private key")
}

func TestOfferingSomeonesKeyThenUsingAnotherIsNotThem(t *testing.T) {
	ts, _ := namesServer(t, t.TempDir())
	a := testkit.NewKey(t)
	testkit.Join(t, ts.Addr, "alice", testkit.WithKey(a)).Close()
	c := testkit.Connect(t, ts.Addr, "alice", termtest.Options{Auth: []gossh.AuthMethod{
		gossh.PublicKeys(unsigned{a.PublicKey()}), // accepted as a query, never signed
		gossh.PublicKeys(testkit.NewKey(t)),
		testkit.GuestAuth(),
	}})
	testkit.WaitText(t, c, `"alice" belongs to another key.`)
}

func TestOfferingAKeyThenLoggingInWithoutOneIsAGuest(t *testing.T) {
	ts, _ := namesServer(t, t.TempDir())
	a := testkit.NewKey(t)
	testkit.Join(t, ts.Addr, "alice", testkit.WithKey(a)).Close()
	c := testkit.Connect(t, ts.Addr, "someone", termtest.Options{Auth: []gossh.AuthMethod{
		gossh.PublicKeys(unsigned{testkit.NewKey(t).PublicKey()}),
		testkit.GuestAuth(),
	}})
	testkit.WaitText(t, c, "Welcome, someone.")
	testkit.Say(t, c, "/whois someone")
	testkit.WaitText(t, c, "someone: a guest (no key)")
	testkit.Say(t, c, "/quit")
	testkit.WaitDone(t, c)
	c = testkit.Connect(t, ts.Addr, "alice", termtest.Options{Auth: []gossh.AuthMethod{
		gossh.PublicKeys(unsigned{a.PublicKey()}),
		testkit.GuestAuth(),
	}})
	testkit.WaitText(t, c, `"alice" belongs to another key.`)
}

// x/crypto's client keeps one user name for a connection; paramiko lets
// a client fail as one user and succeed as another on the same connection.
func TestFailingAsOneUserThenSucceedingAsAnotherIsTheSecond(t *testing.T) {
	py := "/usr/bin/python3"
	have := exec.Command(py, "-c", "import paramiko").Run() == nil
	testkit.Need(t, have, "python3-paramiko", "apt-get install python3-paramiko")
	var log testkit.LogBuffer
	ts := testserver.Start(t, testserver.Options{Log: &log})
	defer func() {
		if t.Failed() {
			t.Log(log.String())
		}
	}()
	a := testkit.NewKey(t)
	testkit.Join(t, ts.Addr, "alice", testkit.WithKey(a)).Close()

	dir := t.TempDir()
	bobKey := filepath.Join(dir, "bob")
	priv := testkit.NewKeyPair(t)
	block, _ := gossh.MarshalPrivateKey(priv, "")
	os.WriteFile(bobKey, pemEncode(block), 0o600)
	// paramiko's auth_* calls each start over with a new service request,
	// which SSH does not allow twice; the second attempt is sent on the
	// same authentication exchange, as the protocol has it.
	script := `
import sys, threading, time, paramiko
from paramiko.message import Message
from paramiko.common import cMSG_USERAUTH_REQUEST
host, port, keyfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t = paramiko.Transport((host, port))
t.start_client(timeout=10)
key = paramiko.Ed25519Key.from_private_key_file(keyfile)
try:
    t.auth_publickey("alice", key)  # bob's key as alice: turned down
    print("AUTHENTICATED AS ALICE")
except paramiko.AuthenticationException:
    print("refused as alice")
h = t.auth_handler                   # the same connection, now as bob
h.authenticated, h.username, h.auth_method, h.private_key = False, "bob", "publickey", key
h.auth_event = event = threading.Event()
algo = h._finalize_pubkey_algorithm(key.get_name())
m = Message()
m.add_byte(cMSG_USERAUTH_REQUEST)
m.add_string("bob")
m.add_string("ssh-connection")
m.add_string("publickey")
m.add_boolean(True)
m.add_string(algo)
m.add_string(key.asbytes())
m.add_string(key.sign_ssh_data(h._get_session_blob(key, "ssh-connection", "bob", algo), algo))
t._send_message(m)
h.wait_for_response(event)
ch = t.open_session()
ch.get_pty(term="xterm", width=80, height=24)
ch.invoke_shell()
seen, end = b"", time.time() + 10
while time.time() < end and b"Welcome," not in seen:
    if ch.recv_ready():
        seen += ch.recv(65536)
    else:
        time.sleep(0.02)
i = seen.find(b"Welcome,")
print(seen[i:i+20].decode("utf-8", "replace"))
t.close()
`
	host, port, _ := net.SplitHostPort(ts.Addr)
	out, err := exec.Command(py, "-c", script, host, port, bobKey).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := string(out)
	if !strings.Contains(got, "refused as alice") || !strings.Contains(got, "Welcome, bob.") {
		t.Errorf("paramiko saw:\n%s", got)
	}
}

func pemEncode(b *pem.Block) []byte { return pem.EncodeToMemory(b) }

// countingStore counts the owner lookups that reach the store.
type countingStore struct {
	names.Store
	owners atomic.Int32
}

func (s *countingStore) Owner(name string) (names.Binding, bool, error) {
	s.owners.Add(1)
	return s.Store.Owner(name)
}

// The owner read when the key was checked serves the join that follows
// it; a join with another name reads the store.
func TestAJoinReusesTheOwnerReadAtAuthentication(t *testing.T) {
	st := &countingStore{Store: testkit.OpenNames(t, t.TempDir())}
	ts := testserver.Start(t, testserver.Options{Names: st, Room: quick.Room, Session: quick.Session})
	a := testkit.NewKey(t)
	for _, visit := range []string{"first", "again"} {
		st.owners.Store(0)
		alice := testkit.Join(t, ts.Addr, "alice", testkit.WithKey(a))
		if n := st.owners.Load(); n != 1 {
			t.Errorf("%s visit: the owner of alice was read %d times, want 1 (at authentication)", visit, n)
		}
		testkit.Say(t, alice, "/quit")
		testkit.WaitDone(t, alice)
	}
	if own, bound, _ := st.Owner("alice"); !bound || !keys.SameKey(own.Key, a.PublicKey()) {
		t.Fatalf("alice's binding: %+v, %v", own, bound)
	}

	// Bob asks for alice's name with his own key: refused at authentication,
	// he comes in as a guest and is told whose it is, read afresh; then he
	// joins as bob, whose owner nobody read for him yet.
	st.owners.Store(0)
	c := testkit.Connect(t, ts.Addr, "alice", termtest.Options{Auth: []gossh.AuthMethod{
		gossh.PublicKeys(testkit.NewKey(t)), testkit.GuestAuth()}})
	testkit.WaitText(t, c, `"alice" belongs to another key.`)
	testkit.Send(t, c, testkit.KeyCtrlU)
	testkit.Say(t, c, "bob")
	testkit.WaitText(t, c, "Welcome, bob.")
	if n := st.owners.Load(); n != 3 {
		t.Errorf("the owners of alice and bob were read %d times, want 3 (alice at authentication and on joining, bob on joining)", n)
	}
}
