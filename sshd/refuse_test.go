package sshd_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"chatroom/internal/termtest"
	"chatroom/internal/testkit"
	"chatroom/sshd"

	gossh "golang.org/x/crypto/ssh"
)

func TestWhatIsNotAChatIsRefusedWithAReason(t *testing.T) {
	ts := start(t, sshd.Limits{})
	for _, tc := range []struct {
		name string
		opts termtest.Options
		want string
	}{
		{"a command", termtest.Options{NoPTY: true, Command: "ls -la"}, "chatroom: commands are not supported"},
		{"a command with a terminal", termtest.Options{Command: "cat /etc/passwd"}, "chatroom: commands are not supported"},
		{"a shell without a terminal", termtest.Options{NoPTY: true}, "chatroom: a terminal is needed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testkit.Connect(t, ts.Addr, "alice", tc.opts)
			testkit.WaitDone(t, c)
			if st := c.ExitStatus(); st != 1 {
				t.Errorf("exit status %d, want 1", st)
			}
			got := c.Stderr() + c.Screen()
			if !strings.Contains(got, tc.want) || strings.Count(strings.TrimSpace(got), "\n") > 0 {
				t.Errorf("got %q, want the one line %q", got, tc.want)
			}
		})
	}
	if n := ts.handled.Load(); n != 0 {
		t.Errorf("%d refused sessions reached the handler", n)
	}
}

func TestSubsystemsAreRefusedWithAReason(t *testing.T) {
	ts := start(t, sshd.Limits{})
	// What sftp does: open a session and ask for the subsystem.
	ch, reqs, err := testkit.DialConn(t, ts.Addr, "alice").OpenChannel("session", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if _, err := ch.SendRequest("subsystem", true, gossh.Marshal(struct{ Name string }{"sftp"})); err != nil {
		t.Fatal(err)
	}
	status := make(chan uint32, 1)
	go func() {
		for r := range reqs {
			if r.Type == "exit-status" && len(r.Payload) == 4 {
				status <- uint32(r.Payload[0])<<24 | uint32(r.Payload[1])<<16 | uint32(r.Payload[2])<<8 | uint32(r.Payload[3])
			}
		}
	}()
	stderr, _ := io.ReadAll(ch.Stderr())
	if want := "chatroom: the sftp subsystem is not available"; !strings.Contains(string(stderr), want) {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	select {
	case st := <-status:
		if st != 1 {
			t.Errorf("exit status %d, want 1", st)
		}
	case <-time.After(testkit.Wait):
		t.Error("no exit status")
	}
}

func TestPortForwardingIsRefused(t *testing.T) {
	ts := start(t, sshd.Limits{})
	c := testkit.Join(t, ts.Addr, "alice")
	_, err := c.Conn().Dial("tcp", "127.0.0.1:22")
	if err == nil || !strings.Contains(err.Error(), "chatroom does not forward ports") {
		t.Errorf("local forwarding: %v", err)
	}
	if l, err := c.Conn().Listen("tcp", "127.0.0.1:0"); err == nil {
		l.Close()
		t.Error("remote forwarding was allowed")
	}
	// The chat carries on.
	testkit.Say(t, c, "still here")
	testkit.WaitText(t, c, "alice: still here")
}

func TestOpenSSHWithoutATerminalIsRefused(t *testing.T) {
	ts := start(t, sshd.Limits{})
	o := testkit.NewOpenSSH(t)
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
			cmd := o.Command(ts.Addr, "alice", tc.flags, tc.remote...)
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
	ts := start(t, sshd.Limits{})
	o := testkit.NewOpenSSH(t)
	_, port, _ := net.SplitHostPort(ts.Addr)
	cmd := exec.Command(bin, "-F", "/dev/null", "-P", port, "-i", o.Key, "-o", "IdentitiesOnly=yes",
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
	ts := start(t, sshd.Limits{})
	o := testkit.NewOpenSSH(t)

	// Remote forwarding is refused at once.
	cmd := o.Command(ts.Addr, "alice", []string{"-N", "-o", "ExitOnForwardFailure=yes", "-R", "0:127.0.0.1:9"})
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
	cmd = o.Command(ts.Addr, "alice", []string{"-o", "LogLevel=INFO", "-N", "-L", local + ":127.0.0.1:22"})
	var lerr testkit.LogBuffer
	cmd.Stderr = &lerr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	ok := testkit.Eventually(func() bool {
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
	ts := start(t, sshd.Limits{LimitLoopback: true, PerAddrNew: 1})
	o := testkit.NewOpenSSH(t)
	first := o.Command(ts.Addr, "alice", []string{"-T"})
	first.Run() // uses up the address's one new connection
	cmd := o.Command(ts.Addr, "alice", []string{"-o", "LogLevel=INFO", "-T"})
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
