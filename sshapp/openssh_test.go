package sshapp_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"chatroom/internal/testkit"
	"chatroom/internal/testserver"
	"chatroom/keys"

	"github.com/creack/pty"
)

func TestOpenSSHClientChats(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	o := testkit.NewOpenSSH(t)
	bob := testkit.Join(t, ts.Addr, "bob")

	term, ptmx, exited := testkit.InPTY(t, o.Command(ts.Addr, "alice", nil), 90, 25)
	if err := term.WaitFor(testkit.Wait, func(s string) bool { return strings.Contains(s, "Welcome, alice.") }); err != nil {
		t.Fatal(err)
	}
	if err := term.WaitFor(testkit.Wait, func(s string) bool { return strings.Contains(s, "2 online  alice bob") }); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(ptmx, "hello from openssh\r"); err != nil {
		t.Fatal(err)
	}
	testkit.WaitText(t, bob, "alice: hello from openssh")
	testkit.Say(t, bob, "hello back")
	if err := term.WaitFor(testkit.Wait, func(s string) bool { return strings.Contains(s, "bob: hello back") }); err != nil {
		t.Fatal(err)
	}

	// A resize of the PTY reaches the server through ssh.
	term.Resize(50, 12)
	if err := pty.Setsize(ptmx, &pty.Winsize{Cols: 50, Rows: 12}); err != nil {
		t.Fatal(err)
	}
	if err := term.WaitFor(testkit.Wait, func(s string) bool {
		rows := strings.Split(s, "\n")
		return len(rows) == 12 && strings.HasPrefix(rows[11], "main ›") && strings.Contains(s, "bob: hello back")
	}); err != nil {
		t.Fatal(err)
	}

	// Clicking a name, as a terminal reports it.
	row := strings.Split(term.Screen(), "\n")[0]
	term.Click(strings.Index(row, "bob"), 0)
	testkit.WaitText(t, bob, "alice "+dialogText+" [ OK ]")
	testkit.Send(t, bob, testkit.KeyAltY)
	if err := term.WaitFor(testkit.Wait, func(s string) bool { return strings.Contains(s, "Private chat with bob opened") }); err != nil {
		t.Fatal(err)
	}

	io.WriteString(ptmx, "/quit\r")
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("ssh exited with %v", err)
		}
	case <-time.After(testkit.Wait):
		t.Fatal("ssh did not exit after /quit")
	}
	if s := term.Screen(); !strings.Contains(s, "Bye!") {
		t.Errorf("the terminal was not given back with a goodbye:\n%s", s)
	}
	testkit.WaitRow(t, bob, 1, `alice \(ended\)`)
	showTab(t, bob, "alice")
	testkit.WaitText(t, bob, "alice left. This chat is read-only")
}

func TestOpenSSHFindsTheKeyThatOwnsTheName(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	first, owner := testkit.NewOpenSSH(t), testkit.NewOpenSSH(t)
	// The name goes to the second key...
	term, ptmx, _ := testkit.InPTY(t, owner.Command(ts.Addr, "alice", nil), 80, 24)
	if err := term.WaitFor(testkit.Wait, func(s string) bool { return strings.Contains(s, "Welcome, alice.") }); err != nil {
		t.Fatal(err)
	}
	io.WriteString(ptmx, "/quit\r")
	// ...and a person holding both keys gets in as alice without -i for
	// it: the first key is turned down, so ssh tries the next.
	cmd := first.Command(ts.Addr, "alice", []string{"-i", owner.Key})
	term, ptmx, _ = testkit.InPTY(t, cmd, 80, 24)
	if err := term.WaitFor(testkit.Wait, func(s string) bool { return strings.Contains(s, "Welcome, alice.") }); err != nil {
		t.Fatal(err)
	}
	io.WriteString(ptmx, "/whois alice\r")
	short := keys.Fingerprint(owner.PublicKey(t))[:19]
	if err := term.WaitFor(testkit.Wait, func(s string) bool { return strings.Contains(s, "alice: key "+short) }); err != nil {
		t.Fatal(err)
	}
}
