package sshapp_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"chatroom/internal/termtest"
	"chatroom/keys"
	"chatroom/room"
	"chatroom/sshapp"

	gossh "golang.org/x/crypto/ssh"
)

const wait = 10 * time.Second

var (
	hostKeyOnce sync.Once
	hostKey     gossh.Signer
)

func testHostKey(t *testing.T) gossh.Signer {
	hostKeyOnce.Do(func() {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if hostKey, err = gossh.NewSignerFromKey(priv); err != nil {
			t.Fatal(err)
		}
	})
	return hostKey
}

type testServer struct {
	addr string
	room *room.Room
	srv  *sshapp.Server
}

// startServer runs the real server on a loopback port until the test ends.
func startServer(t *testing.T, opts room.Options) *testServer {
	t.Helper()
	return startServerWith(t, serverOptions{Room: opts})
}

type serverOptions struct {
	Room            room.Options
	Limits          sshapp.Limits
	Log             io.Writer // the server's log, if wanted
	Names           *keys.Store
	Admins, Allowed *keys.KeySet
	// SendBuffer, if set, is the TCP send buffer of accepted connections:
	// small, a stalled client blocks the server's writes sooner.
	SendBuffer int
}

type smallBufferListener struct {
	net.Listener
	size int
}

func (l smallBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(l.size)
	}
	return c, err
}

func startServerWith(t *testing.T, o serverOptions) *testServer {
	t.Helper()
	r := room.New(o.Room)
	var logger *slog.Logger
	if o.Log != nil {
		logger = slog.New(slog.NewTextHandler(o.Log, nil))
	}
	srv, err := sshapp.New(sshapp.Config{Room: r, HostKey: testHostKey(t), Limits: o.Limits, Logger: logger,
		Names: o.Names, Admins: o.Admins, Allowed: o.Allowed})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.SendBuffer > 0 {
		l = smallBufferListener{l, o.SendBuffer}
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() {
		r.Close("test over")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-served
	})
	return &testServer{addr: l.Addr().String(), room: r, srv: srv}
}

// connect opens a chat session as user; it hangs up when the test ends.
func connect(t *testing.T, ts *testServer, user string, opts ...termtest.Options) *termtest.Client {
	t.Helper()
	var o termtest.Options
	if len(opts) > 0 {
		o = opts[0]
	}
	c, err := termtest.Dial(ts.addr, user, o)
	if err != nil {
		t.Fatalf("dial as %q: %v", user, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// dialConn opens an SSH connection with no session.
func dialConn(t *testing.T, ts *testServer, user string) *gossh.Client {
	t.Helper()
	conn, err := gossh.Dial("tcp", ts.addr, &gossh.ClientConfig{
		User:            user,
		Auth:            []gossh.AuthMethod{gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) { return nil, nil })},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		Timeout:         wait,
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// join connects as name and waits until they are in the room.
func join(t *testing.T, ts *testServer, name string, opts ...termtest.Options) *termtest.Client {
	t.Helper()
	c := connect(t, ts, name, opts...)
	waitText(t, c, "Welcome, "+name+".")
	return c
}

func waitFor(t *testing.T, c *termtest.Client, what string, cond func(string) bool) {
	t.Helper()
	if err := c.WaitFor(wait, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func waitText(t *testing.T, c *termtest.Client, text string) {
	t.Helper()
	waitFor(t, c, fmt.Sprintf("%q on screen", text), func(s string) bool { return strings.Contains(s, text) })
}

func waitRow(t *testing.T, c *termtest.Client, row int, pattern string) {
	t.Helper()
	re := regexp.MustCompile(pattern)
	waitFor(t, c, fmt.Sprintf("row %d to match %q", row, pattern), func(s string) bool {
		rows := strings.Split(s, "\n")
		return row < len(rows) && re.MatchString(rows[row])
	})
}

func waitDone(t *testing.T, c *termtest.Client) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(wait):
		t.Fatalf("session did not end; screen:\n%s", c.Screen())
	}
}

func send(t *testing.T, c *termtest.Client, s string) {
	t.Helper()
	if err := c.Send(s); err != nil {
		t.Fatalf("send %q: %v", s, err)
	}
}

// say types a line and presses Enter.
func say(t *testing.T, c *termtest.Client, line string) {
	t.Helper()
	send(t, c, line+"\r")
}

// find returns the column of text on row y, or fails.
func find(t *testing.T, c *termtest.Client, y int, text string) int {
	t.Helper()
	row := c.Row(y)
	i := strings.Index(row, text)
	if i < 0 {
		t.Fatalf("%q not on row %d: %q", text, y, row)
	}
	return len([]rune(row[:i]))
}

// eventually polls cond until it holds or the wait is over.
func eventually(cond func() bool) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(wait)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			return cond()
		}
	}
	return true
}

// clickText clicks the middle of text wherever it is on the screen.
func clickText(t *testing.T, c *termtest.Client, text string) {
	t.Helper()
	for y, l := range strings.Split(c.Screen(), "\n") {
		if i := strings.Index(l, text); i >= 0 {
			c.Click(len([]rune(l[:i]))+len([]rune(text))/2, y)
			return
		}
	}
	t.Fatalf("%q is not on the screen:\n%s", text, c.Screen())
}

// logBuffer collects a server's log for a test to read.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func count(s, sub string) int { return strings.Count(s, sub) }

// Keys as a terminal sends them.
const (
	keyEnter  = "\r"
	keyEsc    = "\x1b"
	keyCtrlC  = "\x03"
	keyCtrlN  = "\x0e"
	keyCtrlP  = "\x10"
	keyCtrlU  = "\x15"
	keyPgUp   = "\x1b[5~"
	keyPgDown = "\x1b[6~"
)
