package sshapp_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"chatroom/internal/termtest"
	"chatroom/keys"
	"chatroom/room"
	"chatroom/sshapp"

	"github.com/creack/pty"
	gossh "golang.org/x/crypto/ssh"
)

// openSSH runs the real ssh client, with a fresh key and no user config.
type openSSH struct {
	bin, key string
}

func newOpenSSH(t *testing.T) *openSSH {
	t.Helper()
	bin, err := exec.LookPath("ssh")
	if err != nil {
		t.Fatal("the OpenSSH client is needed (apt-get install openssh-client; .ci/run does it)")
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "test")
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(key, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return &openSSH{bin: bin, key: key}
}

// command is ssh [flags] user@host [remote...]. ssh takes the first value
// it sees for an option, so flags can override the defaults here.
func (o *openSSH) command(addr, user string, flags []string, remote ...string) *exec.Cmd {
	host, port, _ := net.SplitHostPort(addr)
	args := append([]string{"-F", "/dev/null"}, flags...)
	args = append(args, "-p", port, "-i", o.key,
		"-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes",
		user+"@"+host)
	return exec.Command(o.bin, append(args, remote...)...)
}

// inPTY starts cmd on a PTY of w x h whose output draws a Terminal.
func inPTY(t *testing.T, cmd *exec.Cmd, w, h int) (*termtest.Terminal, *os.File, chan error) {
	t.Helper()
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(w), Rows: uint16(h)})
	if err != nil {
		t.Fatal(err)
	}
	term := termtest.NewTerminal(w, h)
	exited := make(chan error, 1)
	copied := make(chan struct{})
	go func() { _, _ = io.Copy(term, ptmx); close(copied) }()
	go func() { _, _ = io.Copy(ptmx, term.Answers()) }()
	go func() {
		err := cmd.Wait()
		<-copied
		exited <- err
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = ptmx.Close()
		term.CloseAnswers()
	})
	return term, ptmx, exited
}

func TestOpenSSHClientChats(t *testing.T) {
	ts := startServer(t, room.Options{})
	o := newOpenSSH(t)
	bob := join(t, ts, "bob")

	term, ptmx, exited := inPTY(t, o.command(ts.addr, "alice", nil), 90, 25)
	if err := term.WaitFor(wait, func(s string) bool { return strings.Contains(s, "Welcome, alice.") }); err != nil {
		t.Fatal(err)
	}
	if err := term.WaitFor(wait, func(s string) bool { return strings.Contains(s, "2 online  alice bob") }); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(ptmx, "hello from openssh\r"); err != nil {
		t.Fatal(err)
	}
	waitText(t, bob, "alice: hello from openssh")
	say(t, bob, "hello back")
	if err := term.WaitFor(wait, func(s string) bool { return strings.Contains(s, "bob: hello back") }); err != nil {
		t.Fatal(err)
	}

	// A resize of the PTY reaches the server through ssh.
	term.Resize(50, 12)
	if err := pty.Setsize(ptmx, &pty.Winsize{Cols: 50, Rows: 12}); err != nil {
		t.Fatal(err)
	}
	if err := term.WaitFor(wait, func(s string) bool {
		rows := strings.Split(s, "\n")
		return len(rows) == 12 && strings.HasPrefix(rows[11], ">") && strings.Contains(s, "bob: hello back")
	}); err != nil {
		t.Fatal(err)
	}

	// Clicking a name, as a terminal reports it.
	row := strings.Split(term.Screen(), "\n")[0]
	term.Click(strings.Index(row, "bob"), 0)
	waitText(t, bob, "alice "+dialogText)
	send(t, bob, keyEnter)
	if err := term.WaitFor(wait, func(s string) bool { return strings.Contains(s, "Private chat with bob") }); err != nil {
		t.Fatal(err)
	}

	io.WriteString(ptmx, "/quit\r")
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("ssh exited with %v", err)
		}
	case <-time.After(wait):
		t.Fatal("ssh did not exit after /quit")
	}
	if s := term.Screen(); !strings.Contains(s, "Bye!") {
		t.Errorf("the terminal was not given back with a goodbye:\n%s", s)
	}
	waitText(t, bob, "alice left. This chat is read-only")
}

func TestOpenSSHWithoutATerminalIsRefused(t *testing.T) {
	ts := startServer(t, room.Options{})
	o := newOpenSSH(t)
	for _, tc := range []struct {
		name   string
		flags  []string
		remote []string
		want   string
	}{
		{"ssh -T", []string{"-T"}, nil, "chatroom: a terminal is needed"},
		{"ssh host command", nil, []string{"uptime"}, "chatroom: commands are not supported"},
		{"ssh -t host command", []string{"-tt"}, []string{"uptime"}, "chatroom: commands are not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := o.command(ts.addr, "alice", tc.flags, tc.remote...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			cmd.Stdin = strings.NewReader("")
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() == 0 {
				t.Errorf("exit: %v, want a non-zero status", err)
			}
			got := strings.TrimSpace(stderr.String())
			if !strings.HasPrefix(got, tc.want) || strings.Contains(got, "\n") {
				t.Errorf("stderr %q, want one line starting %q", got, tc.want)
			}
		})
	}
}

func TestOpenSSHSftpIsRefused(t *testing.T) {
	bin, err := exec.LookPath("sftp")
	if err != nil {
		t.Fatal("the OpenSSH sftp client is needed (openssh-client)")
	}
	ts := startServer(t, room.Options{})
	o := newOpenSSH(t)
	_, port, _ := net.SplitHostPort(ts.addr)
	cmd := exec.Command(bin, "-F", "/dev/null", "-P", port, "-i", o.key, "-o", "IdentitiesOnly=yes",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
		"alice@127.0.0.1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Stdin = strings.NewReader("ls\n")
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Errorf("sftp exit: %v, want a non-zero status", err)
	}
	if !strings.Contains(out.String(), "chatroom: the sftp subsystem is not available") {
		t.Errorf("sftp said %q", out.String())
	}
}

func TestOpenSSHPortForwardingIsRefused(t *testing.T) {
	ts := startServer(t, room.Options{})
	o := newOpenSSH(t)

	// Remote forwarding is refused at once.
	cmd := o.command(ts.addr, "alice", []string{"-N", "-o", "ExitOnForwardFailure=yes", "-R", "0:127.0.0.1:9"})
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Errorf("ssh -R exit: %v, want a non-zero status", err)
	}
	if !strings.Contains(stderr.String(), "remote port forwarding failed") {
		t.Errorf("ssh -R said %q", stderr.String())
	}

	// Local forwarding: each connection through it is refused, with our reason.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	local := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd = o.command(ts.addr, "alice", []string{"-o", "LogLevel=INFO", "-N", "-L", local + ":127.0.0.1:22"})
	var lerr logBuffer
	cmd.Stderr = &lerr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	ok := eventually(func() bool {
		c, err := net.Dial("tcp", local)
		if err == nil {
			io.Copy(io.Discard, c)
			c.Close()
		}
		return strings.Contains(lerr.String(), "chatroom does not forward ports")
	})
	if !ok {
		t.Errorf("ssh -L said %q", lerr.String())
	}
}

func TestOpenSSHShowsWhyAnAddressIsRefused(t *testing.T) {
	ts := startServerWith(t, serverOptions{Limits: sshapp.Limits{LimitLoopback: true, PerAddrNew: 1}})
	o := newOpenSSH(t)
	first := o.command(ts.addr, "alice", []string{"-T"})
	first.Run() // uses up the address's one new connection
	cmd := o.command(ts.addr, "alice", []string{"-o", "LogLevel=INFO", "-T"})
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Errorf("exit: %v, want a failure", err)
	}
	if !strings.Contains(stderr.String(), "chatroom: too many new connections from your address; try again in 10m") {
		t.Errorf("ssh said %q", stderr.String())
	}
}

func TestOpenSSHFindsTheKeyThatOwnsTheName(t *testing.T) {
	st, err := keys.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ts := startServerWith(t, serverOptions{Names: st})
	first, owner := newOpenSSH(t), newOpenSSH(t)
	// The name goes to the second key...
	term, ptmx, _ := inPTY(t, owner.command(ts.addr, "alice", nil), 80, 24)
	if err := term.WaitFor(wait, func(s string) bool { return strings.Contains(s, "Welcome, alice.") }); err != nil {
		t.Fatal(err)
	}
	io.WriteString(ptmx, "/quit\r")
	// ...and a person holding both keys gets in as alice without -i for
	// it: the first key is turned down, so ssh tries the next.
	cmd := first.command(ts.addr, "alice", []string{"-i", owner.key})
	term, ptmx, _ = inPTY(t, cmd, 80, 24)
	if err := term.WaitFor(wait, func(s string) bool { return strings.Contains(s, "Welcome, alice.") }); err != nil {
		t.Fatal(err)
	}
	io.WriteString(ptmx, "/whois alice\r")
	short := keys.Fingerprint(mustParseKeyFile(t, owner.key))[:19]
	if err := term.WaitFor(wait, func(s string) bool { return strings.Contains(s, "alice: key "+short) }); err != nil {
		t.Fatal(err)
	}
}

func mustParseKeyFile(t *testing.T, path string) gossh.PublicKey {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return s.PublicKey()
}
