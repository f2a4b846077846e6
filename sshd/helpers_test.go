package sshd_test

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"

	"chatroom/internal/clean"
	"chatroom/internal/testkit"
	"chatroom/keys"
	"chatroom/sshd"
)

// server is an sshd.Server whose Handler stands in for the chat: it greets
// the person the way the chat does ("Welcome, NAME."), then prints each
// line they type as "NAME: line" until "/quit". That is all these tests
// need of a session: a sign it started, and that it still works.
type server struct {
	Addr    string
	SSH     *sshd.Server
	handled atomic.Int32 // sessions that reached the Handler
}

func start(t *testing.T, lim sshd.Limits, log ...io.Writer) *server {
	t.Helper()
	return startWith(t, func(c *sshd.Config) { c.Limits = lim }, log...)
}

// startWith starts a server whose Config tweak has set up.
func startWith(t *testing.T, tweak func(*sshd.Config), log ...io.Writer) *server {
	t.Helper()
	s := &server{}
	cfg := sshd.Config{
		HostKey: testkit.HostKey(t),
		GuestOK: func(string) bool { return true },
		Handler: func(ss *sshd.Session) {
			s.handled.Add(1)
			echo(ss)
		},
	}
	tweak(&cfg)
	if len(log) > 0 {
		cfg.Logger = slog.New(slog.NewTextHandler(log[0], nil))
	}
	srv, err := sshd.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	s.Addr, s.SSH = l.Addr().String(), srv
	return s
}

func echo(s *sshd.Session) {
	name := clean.Line(s.User, 64)
	who := "guest"
	if s.Key != nil {
		who = "key " + keys.Fingerprint(s.Key)
	}
	fmt.Fprintf(s.Out, "Welcome, %s. (%s)\r\n", name, who)
	r := bufio.NewReader(s.In)
	var line []byte
	for {
		b, err := r.ReadByte()
		if err != nil {
			return
		}
		if b != '\r' {
			line = append(line, b)
			continue
		}
		if string(line) == "/quit" {
			fmt.Fprint(s.Out, "Bye!\r\n")
			return
		}
		fmt.Fprintf(s.Out, "%s: %s\r\n", name, clean.Line(string(line), 200))
		line = line[:0]
	}
}
