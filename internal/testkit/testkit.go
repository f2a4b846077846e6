// Package testkit holds what chatroom's tests share: keys, waiting for a
// condition with a deadline, and a person at an SSH client whose screen is
// a terminal emulator (termtest), typing and reading.
package testkit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"chatroom/internal/termtest"
	"chatroom/keys"
	"chatroom/names"

	gossh "golang.org/x/crypto/ssh"
)

// OpenNames opens the name store in dir, closing it when the test ends.
func OpenNames(t testing.TB, dir string) *names.DB {
	t.Helper()
	st, err := names.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Wait is how long a test waits for something that should happen.
const Wait = 10 * time.Second

var (
	hostKeyOnce sync.Once
	hostKey     gossh.Signer
)

// HostKey is a host key shared by every test server in the process.
func HostKey(t testing.TB) gossh.Signer {
	hostKeyOnce.Do(func() { hostKey = NewKey(t) })
	return hostKey
}

// NewKeyPair makes a fresh ed25519 private key.
func NewKeyPair(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

// NewKey makes a fresh ed25519 key.
func NewKey(t testing.TB) gossh.Signer {
	t.Helper()
	s, err := gossh.NewSignerFromKey(NewKeyPair(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// KeyFor is a key derived from a word: two processes that know the word
// agree on the key.
func KeyFor(t testing.TB, word string) gossh.PublicKey {
	t.Helper()
	seed := sha256.Sum256([]byte(word))
	signer, err := gossh.NewSignerFromKey(ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		t.Fatal(err)
	}
	return signer.PublicKey()
}

// KeySet makes a KeySet of the signers' public keys, as a file would hold.
func KeySet(t testing.TB, signers ...gossh.Signer) *keys.KeySet {
	t.Helper()
	var b strings.Builder
	for _, s := range signers {
		b.Write(gossh.MarshalAuthorizedKey(s.PublicKey()))
	}
	path := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	set, err := keys.LoadAuthorizedKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// WithKey authenticates with k, then, if the server turns k down, as a
// guest: what OpenSSH does for a person with one key.
func WithKey(k gossh.Signer) termtest.Options {
	return termtest.Options{Auth: []gossh.AuthMethod{gossh.PublicKeys(k), GuestAuth()}}
}

// GuestAuth logs in with no key (keyboard-interactive, asked nothing).
func GuestAuth() gossh.AuthMethod {
	return gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) { return nil, nil })
}

// Eventually polls cond until it holds or Wait is over.
func Eventually(cond func() bool) bool { return Within(Wait, cond) }

// Within polls cond until it holds or d is over, and reports whether it held.
func Within(d time.Duration, cond func() bool) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(d)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			return cond()
		}
	}
	return true
}

// LogBuffer collects a server's log for a test to read.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Connect opens a terminal session to addr as user; it hangs up when the
// test ends.
func Connect(t testing.TB, addr, user string, opts ...termtest.Options) *termtest.Client {
	t.Helper()
	var o termtest.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	c, err := termtest.Dial(addr, user, o)
	if err != nil {
		t.Fatalf("dial as %q: %v", user, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// DialConn opens an SSH connection as a guest, with no session.
func DialConn(t testing.TB, addr, user string) *gossh.Client {
	t.Helper()
	conn, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{
		User:            user,
		Auth:            []gossh.AuthMethod{GuestAuth()},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		Timeout:         Wait,
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// Join connects as name and waits until the server welcomes them.
func Join(t testing.TB, addr, name string, opts ...termtest.Options) *termtest.Client {
	t.Helper()
	c := Connect(t, addr, name, opts...)
	WaitText(t, c, "Welcome, "+name+".")
	return c
}

// WaitFor waits until cond holds for the client's screen.
func WaitFor(t testing.TB, c *termtest.Client, what string, cond func(string) bool) {
	t.Helper()
	if err := c.WaitFor(Wait, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// WaitText waits until text is on the client's screen.
func WaitText(t testing.TB, c *termtest.Client, text string) {
	t.Helper()
	WaitFor(t, c, fmt.Sprintf("%q on screen", text), func(s string) bool { return strings.Contains(s, text) })
}

// WaitRow waits until row matches pattern.
func WaitRow(t testing.TB, c *termtest.Client, row int, pattern string) {
	t.Helper()
	re := regexp.MustCompile(pattern)
	WaitFor(t, c, fmt.Sprintf("row %d to match %q", row, pattern), func(s string) bool {
		rows := strings.Split(s, "\n")
		return row < len(rows) && re.MatchString(rows[row])
	})
}

// WaitDone waits until the session ends.
func WaitDone(t testing.TB, c *termtest.Client) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(Wait):
		t.Fatalf("session did not end; screen:\n%s", c.Screen())
	}
}

// Send types s.
func Send(t testing.TB, c *termtest.Client, s string) {
	t.Helper()
	if err := c.Send(s); err != nil {
		t.Fatalf("send %q: %v", s, err)
	}
}

// Say types a line and presses Enter.
func Say(t testing.TB, c *termtest.Client, line string) {
	t.Helper()
	Send(t, c, line+"\r")
}

// Find returns the column of text on row y, or fails.
func Find(t testing.TB, c *termtest.Client, y int, text string) int {
	t.Helper()
	row := c.Row(y)
	i := strings.Index(row, text)
	if i < 0 {
		t.Fatalf("%q not on row %d: %q", text, y, row)
	}
	return len([]rune(row[:i]))
}

// ClickText clicks the middle of text wherever it is on the screen.
func ClickText(t testing.TB, c *termtest.Client, text string) {
	t.Helper()
	for y, l := range strings.Split(c.Screen(), "\n") {
		if i := strings.Index(l, text); i >= 0 {
			c.Click(len([]rune(l[:i]))+len([]rune(text))/2, y)
			return
		}
	}
	t.Fatalf("%q is not on the screen:\n%s", text, c.Screen())
}

// Keys as a terminal sends them.
const (
	KeyEnter  = "\r"
	KeyEsc    = "\x1b"
	KeyUp     = "\x1b[A"
	KeyDown   = "\x1b[B"
	KeyAltY   = "\x1by"
	KeyAltN   = "\x1bn"
	KeyCtrlC  = "\x03"
	KeyCtrlN  = "\x0e"
	KeyCtrlP  = "\x10"
	KeyCtrlU  = "\x15"
	KeyPgUp   = "\x1b[5~"
	KeyPgDown = "\x1b[6~"
)

// Need skips the test with one line saying what is missing and how to get
// it, unless CHATROOM_TEST_ALL=1 (which CI sets): then a missing tool fails
// the test, so that CI runs every one.
func Need(t testing.TB, have bool, what, install string) {
	t.Helper()
	if have {
		return
	}
	if os.Getenv("CHATROOM_TEST_ALL") == "1" {
		t.Fatalf("%s is needed (%s; .ci/run does it)", what, install)
	}
	t.Skipf("skipped: %s is not installed (%s, or set CHATROOM_TEST_ALL=1 to fail instead)", what, install)
}

// NeedTool is Need for a program on the PATH, from a Debian package.
func NeedTool(t testing.TB, tool, pkg string) {
	t.Helper()
	_, err := exec.LookPath(tool)
	Need(t, err == nil, tool, "apt-get install "+pkg)
}
