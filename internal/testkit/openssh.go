package testkit

import (
	"encoding/pem"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"chatroom/internal/termtest"

	"github.com/creack/pty"
	gossh "golang.org/x/crypto/ssh"
)

// OpenSSH runs the real ssh client, with a fresh key and no user config.
type OpenSSH struct {
	Bin string // the ssh binary
	Key string // the private key file
}

// NewOpenSSH finds ssh and makes it a key.
func NewOpenSSH(t testing.TB) *OpenSSH {
	t.Helper()
	bin, err := exec.LookPath("ssh")
	if err != nil {
		t.Fatal("the OpenSSH client is needed (apt-get install openssh-client; .ci/run does it)")
	}
	block, err := gossh.MarshalPrivateKey(NewKeyPair(t), "test")
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(key, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return &OpenSSH{Bin: bin, Key: key}
}

// Command is ssh [flags] user@host [remote...]. ssh takes the first value
// it sees for an option, so flags can override the defaults here.
func (o *OpenSSH) Command(addr, user string, flags []string, remote ...string) *exec.Cmd {
	host, port, _ := net.SplitHostPort(addr)
	args := append([]string{"-F", "/dev/null"}, flags...)
	args = append(args, "-p", port, "-i", o.Key,
		"-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes",
		user+"@"+host)
	return exec.Command(o.Bin, append(args, remote...)...)
}

// PublicKey is the public half of the client's key.
func (o *OpenSSH) PublicKey(t testing.TB) gossh.PublicKey {
	t.Helper()
	b, err := os.ReadFile(o.Key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return s.PublicKey()
}

// InPTY starts cmd on a PTY of w x h whose output draws a Terminal. The
// channel gets cmd's exit once its output is all drawn.
func InPTY(t testing.TB, cmd *exec.Cmd, w, h int) (*termtest.Terminal, *os.File, chan error) {
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
