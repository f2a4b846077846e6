package sshapp_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"chatroom/internal/termtest"
	"chatroom/keys"

	gossh "golang.org/x/crypto/ssh"
)

func newKey(t *testing.T) gossh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// withKey authenticates with k, then, if the server turns k down, as a
// guest: what OpenSSH does for a person with one key.
func withKey(k gossh.Signer) termtest.Options {
	return termtest.Options{Auth: []gossh.AuthMethod{gossh.PublicKeys(k), guestAuth()}}
}

func guestAuth() gossh.AuthMethod {
	return gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) { return nil, nil })
}

// namesServer runs a server whose names belong to keys, kept in dir.
func namesServer(t *testing.T, dir string, admins ...gossh.Signer) (*testServer, *keys.Store) {
	t.Helper()
	st, err := keys.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	var set *keys.KeySet
	if len(admins) > 0 {
		set = keySet(t, admins...)
	}
	return startServerWith(t, serverOptions{Names: st, Admins: set}), st
}

// keySet makes a KeySet of the signers' public keys, as a file would hold.
func keySet(t *testing.T, signers ...gossh.Signer) *keys.KeySet {
	t.Helper()
	var b strings.Builder
	for _, s := range signers {
		b.Write(gossh.MarshalAuthorizedKey(s.PublicKey()))
	}
	path := filepath.Join(t.TempDir(), "keys")
	os.WriteFile(path, []byte(b.String()), 0o600)
	set, err := keys.LoadAuthorizedKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestTheFirstKeyToJoinOwnsTheName(t *testing.T) {
	dir := t.TempDir()
	ts, st := namesServer(t, dir)
	a, b := newKey(t), newKey(t)
	alice := join(t, ts, "alice", withKey(a))
	// On disk, before she was let in.
	data, _ := os.ReadFile(filepath.Join(dir, keys.NamesFile))
	if !strings.Contains(string(data), "alice "+keys.Fingerprint(a.PublicKey())) {
		t.Fatalf("names file after alice joined:\n%s", data)
	}
	say(t, alice, "/quit")
	waitDone(t, alice)

	for _, o := range []termtest.Options{withKey(b), {}} {
		c := connect(t, ts, "alice", o)
		waitText(t, c, `"alice" belongs to another key.`)
		waitText(t, c, "Name: alice") // offered again, to edit
		send(t, c, keyCtrlU)
		say(t, c, "notalice")
		waitText(t, c, "Welcome, notalice.")
		say(t, c, "/quit")
		waitDone(t, c)
	}
	join(t, ts, "alice", withKey(a)) // her key still works
	if own, _ := st.Owner("alice"); !keys.SameKey(own.Key, a.PublicKey()) {
		t.Error("alice's binding changed")
	}
}

func TestGuestsTakeFreeNamesButNeverBindThem(t *testing.T) {
	dir := t.TempDir()
	ts, st := namesServer(t, dir)
	gus := join(t, ts, "gus")
	watcher := join(t, ts, "watcher", withKey(newKey(t)))
	say(t, watcher, "/who")
	waitText(t, watcher, "2 online: gus (guest), watcher")
	if _, bound := st.Owner("gus"); bound {
		t.Error("a guest's name was bound")
	}
	say(t, watcher, "/whois gus")
	waitText(t, watcher, "gus: a guest (no key), online for")
	say(t, gus, "/quit")
	waitDone(t, gus)
	k := newKey(t)
	join(t, ts, "gus", withKey(k))
	if own, _ := st.Owner("gus"); !keys.SameKey(own.Key, k.PublicKey()) {
		t.Error("the first key to join as gus does not own it")
	}
}

func TestTheSameKeyTakesOverItsGhostAndNobodySeesAFlap(t *testing.T) {
	ts, _ := namesServer(t, t.TempDir())
	a := newKey(t)
	bob := join(t, ts, "bob", withKey(newKey(t)))
	ghost := join(t, ts, "alice", withKey(a))
	waitText(t, bob, "→ alice joined")
	openChat(t, ghost, bob, "alice", "bob")

	fresh := join(t, ts, "alice", withKey(a))
	waitText(t, fresh, "You were already signed in with this key")
	waitDone(t, ghost)
	waitText(t, ghost, "You signed in from elsewhere; this session is closed.")
	// The private chat carries on in the new session.
	waitRow(t, fresh, 1, ` bob `)
	say(t, bob, "still with me?")
	send(t, fresh, keyCtrlN)
	waitText(t, fresh, "bob: still with me?")
	send(t, bob, keyCtrlP) // to the main room
	say(t, bob, "/who")    // a marker after the takeover
	waitText(t, bob, "2 online:")
	if s := bob.Screen(); strings.Contains(s, "← alice left") || count(s, "→ alice joined") != 1 {
		t.Errorf("bob saw alice flap:\n%s", s)
	}

	// Another key can never do it.
	other := connect(t, ts, "alice", withKey(newKey(t)))
	waitText(t, other, `"alice" belongs to another key.`)
	send(t, fresh, keyCtrlP) // back to the main room
	say(t, fresh, "still me")
	waitText(t, bob, "alice: still me")
}

func TestWhoisShowsTheKeyAndModeratorsSeeTheAddress(t *testing.T) {
	mod := newKey(t)
	ts, _ := namesServer(t, t.TempDir(), mod)
	a := newKey(t)
	join(t, ts, "alice", withKey(a))
	bob := join(t, ts, "bob", withKey(newKey(t)))
	m := join(t, ts, "mod", withKey(mod))
	short := keys.Fingerprint(a.PublicKey())[:19]
	say(t, bob, "/whois alice")
	waitText(t, bob, "alice: key "+short+"…, online for")
	if strings.Contains(bob.Screen(), "from 127.0.0.1") {
		t.Error("a non-moderator sees addresses")
	}
	say(t, m, "/whois alice")
	waitText(t, m, "from 127.0.0.1:")
	say(t, bob, "/whois nobody")
	waitText(t, bob, "nobody is not online.")
}

func TestOnlyAllowedKeysGetIn(t *testing.T) {
	a, b := newKey(t), newKey(t)
	st, _ := keys.OpenStore(t.TempDir())
	ts := startServerWith(t, serverOptions{Names: st, Allowed: keySet(t, a)})
	alice := join(t, ts, "alice", withKey(a))
	if _, err := termtest.Dial(ts.addr, "bob", withKey(b)); err == nil {
		t.Error("a key not on the list got in")
	}
	if _, err := termtest.Dial(ts.addr, "guest", termtest.Options{}); err == nil {
		t.Error("a guest got in past the list")
	}
	// The list changes (SIGHUP in main): alice is out, bob is in.
	ts.srv.SetAllowed(keySet(t, b))
	waitDone(t, alice)
	waitText(t, alice, "You were removed: this key is no longer allowed.")
	join(t, ts, "bob", withKey(b))
}

func TestModeratorsKickBanAndRelease(t *testing.T) {
	dir := t.TempDir()
	mod := newKey(t)
	ts, st := namesServer(t, dir, mod)
	m := join(t, ts, "mod", withKey(mod))
	bob := join(t, ts, "bob", withKey(newKey(t)))
	carolKey := newKey(t)
	carol := join(t, ts, "carol", withKey(carolKey))
	gus := join(t, ts, "gus")

	say(t, bob, "/kick carol")
	waitText(t, bob, "Not allowed: only moderators may /kick.")

	say(t, m, "/kick bob being rude")
	waitDone(t, bob)
	waitText(t, bob, "You were kicked by mod: being rude.")
	waitText(t, carol, "← bob left (kicked by mod: being rude)")

	say(t, m, "/ban carol 1h flooding")
	waitDone(t, carol)
	waitText(t, carol, "You were banned by mod for 1h: flooding.")
	again, err := termtest.Dial(ts.addr, "carol", withKey(carolKey))
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, again)
	if !strings.Contains(again.Stderr(), "chatroom: you are banned until ") || !strings.Contains(again.Stderr(), ": flooding") {
		t.Errorf("banned carol was told %q", again.Stderr())
	}
	// A guest is banned by address; another address still gets in.
	say(t, m, "/ban gus")
	waitDone(t, gus)
	g2, _ := termtest.Dial(ts.addr, "gus2", termtest.Options{})
	waitDone(t, g2)
	if !strings.Contains(g2.Stderr(), "chatroom: you are banned") {
		t.Errorf("a guest from a banned address: %q", g2.Stderr())
	}
	join(t, ts, "gus3", termtest.Options{LocalIP: "127.0.0.2"})

	// Bans outlive the server.
	fresh, _ := keys.OpenStore(dir)
	if _, ok := fresh.Banned(keys.Fingerprint(carolKey.PublicKey()), ""); !ok {
		t.Error("carol's ban is not on disk")
	}
	say(t, m, "/banned")
	waitText(t, m, "2 banned:")
	waitText(t, m, "carol (key SHA256:")
	say(t, m, "/unban carol")
	waitText(t, m, "Lifted 1 ban(s) on carol.")
	join(t, ts, "carol", withKey(carolKey))

	say(t, m, "/release carol")
	waitText(t, m, "carol is free now")
	if _, bound := st.Owner("carol"); bound {
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
	a := newKey(t)
	join(t, ts, "alice", withKey(a)).Close()
	c := connect(t, ts, "alice", termtest.Options{Auth: []gossh.AuthMethod{
		gossh.PublicKeys(unsigned{a.PublicKey()}), // accepted as a query, never signed
		gossh.PublicKeys(newKey(t)),
		guestAuth(),
	}})
	waitText(t, c, `"alice" belongs to another key.`)
}

func TestOfferingAKeyThenLoggingInWithoutOneIsAGuest(t *testing.T) {
	ts, _ := namesServer(t, t.TempDir())
	a := newKey(t)
	join(t, ts, "alice", withKey(a)).Close()
	c := connect(t, ts, "someone", termtest.Options{Auth: []gossh.AuthMethod{
		gossh.PublicKeys(unsigned{newKey(t).PublicKey()}),
		guestAuth(),
	}})
	waitText(t, c, "Welcome, someone.")
	say(t, c, "/whois someone")
	waitText(t, c, "someone: a guest (no key)")
	say(t, c, "/quit")
	waitDone(t, c)
	c = connect(t, ts, "alice", termtest.Options{Auth: []gossh.AuthMethod{
		gossh.PublicKeys(unsigned{a.PublicKey()}),
		guestAuth(),
	}})
	waitText(t, c, `"alice" belongs to another key.`)
}

// x/crypto's client keeps one user name for a connection; paramiko lets
// a client fail as one user and succeed as another on the same connection.
func TestFailingAsOneUserThenSucceedingAsAnotherIsTheSecond(t *testing.T) {
	py := "/usr/bin/python3"
	if out, err := exec.Command(py, "-c", "import paramiko").CombinedOutput(); err != nil {
		t.Fatalf("python3-paramiko is needed (.ci/run installs it): %v %s", err, out)
	}
	st, err := keys.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var log logBuffer
	ts := startServerWith(t, serverOptions{Names: st, Log: &log})
	defer func() {
		if t.Failed() {
			t.Log(log.String())
		}
	}()
	a := newKey(t)
	join(t, ts, "alice", withKey(a)).Close()

	dir := t.TempDir()
	bobKey := filepath.Join(dir, "bob")
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
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
	host, port, _ := net.SplitHostPort(ts.addr)
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
