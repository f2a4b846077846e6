// Package termtest is an SSH client with a terminal emulator for its screen,
// so tests (and the load generator) read what a person would see.
package termtest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/x/vt"
	gossh "golang.org/x/crypto/ssh"
)

// Options configure a Client. Zero fields take the defaults.
type Options struct {
	Width, Height int          // PTY size (default 80x24)
	Term          string       // TERM (default xterm-256color)
	Key           gossh.Signer // authenticate with this key; nil uses keyboard-interactive
	NoPTY         bool         // ask for no PTY
	Command       string       // exec this instead of a shell
	Timeout       time.Duration
}

// Client is one SSH session whose output feeds a terminal emulator.
type Client struct {
	conn  *gossh.Client
	sess  *gossh.Session
	stdin io.WriteCloser

	mu     sync.Mutex
	term   *vt.Emulator
	bytes  int64
	stderr strings.Builder
	exit   error // from sess.Wait, once done

	done chan struct{} // closed when the session ended
}

// Dial connects as user and starts a shell (or Options.Command).
func Dial(addr, user string, o Options) (*Client, error) {
	if o.Width == 0 {
		o.Width, o.Height = 80, 24
	}
	if o.Term == "" {
		o.Term = "xterm-256color"
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	auth := []gossh.AuthMethod{gossh.KeyboardInteractive(
		func(string, string, []string, []bool) ([]string, error) { return nil, nil })}
	if o.Key != nil {
		auth = []gossh.AuthMethod{gossh.PublicKeys(o.Key)}
	}
	conn, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{
		User:            user,
		Auth:            auth,
		HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		Timeout:         o.Timeout,
	})
	if err != nil {
		return nil, err
	}
	c, err := start(conn, o)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// Conn is the underlying SSH connection, for tests that go around the chat.
func (c *Client) Conn() *gossh.Client { return c.conn }

func start(conn *gossh.Client, o Options) (*Client, error) {
	sess, err := conn.NewSession()
	if err != nil {
		return nil, err
	}
	c := &Client{conn: conn, sess: sess, term: vt.NewEmulator(o.Width, o.Height), done: make(chan struct{})}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := sess.StderrPipe()
	if err != nil {
		return nil, err
	}
	if c.stdin, err = sess.StdinPipe(); err != nil {
		return nil, err
	}
	if !o.NoPTY {
		if err := sess.RequestPty(o.Term, o.Height, o.Width, gossh.TerminalModes{}); err != nil {
			return nil, err
		}
	}
	if o.Command != "" {
		err = sess.Start(o.Command)
	} else {
		err = sess.Shell()
	}
	if err != nil {
		return nil, err
	}
	var copies sync.WaitGroup
	copies.Go(func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := stdout.Read(buf)
			if n > 0 {
				c.mu.Lock()
				c.bytes += int64(n)
				_, _ = c.term.Write(buf[:n])
				c.mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	})
	copies.Go(func() {
		b, _ := io.ReadAll(stderr)
		c.mu.Lock()
		c.stderr.Write(b)
		c.mu.Unlock()
	})
	// What the terminal answers to queries goes back, as a real one's does.
	go func() { _, _ = io.Copy(c.stdin, c.term) }()
	go func() {
		copies.Wait()
		err := sess.Wait()
		c.mu.Lock()
		c.exit = err
		// End the copy of the terminal's answers. Emulator.Close would race
		// with that copy's Read; closing the pipe's writer does not.
		if pw, ok := c.term.InputPipe().(*io.PipeWriter); ok {
			_ = pw.Close()
		}
		c.mu.Unlock()
		close(c.done)
	}()
	return c, nil
}

// Screen is the terminal's text, one line per row, trailing spaces trimmed.
func (c *Client) Screen() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.term.String()
}

// Row is one row of the screen.
func (c *Client) Row(y int) string {
	rows := strings.Split(c.Screen(), "\n")
	if y < 0 || y >= len(rows) {
		return ""
	}
	return rows[y]
}

// Cursor is the cursor's position, zero-based.
func (c *Client) Cursor() (x, y int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.term.CursorPosition()
	return p.X, p.Y
}

// BytesRead is how many bytes the server has sent.
func (c *Client) BytesRead() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// Stderr is what the server wrote to stderr, complete once Done is closed.
func (c *Client) Stderr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.String()
}

// Click clicks the left button at the zero-based cell (x, y). Like a real
// terminal, it sends nothing unless the server turned mouse reporting on.
func (c *Client) Click(x, y int) {
	c.mouse(vt.MouseClick{X: x, Y: y, Button: vt.MouseLeft})
	c.mouse(vt.MouseRelease{X: x, Y: y, Button: vt.MouseLeft})
}

// Wheel turns the mouse wheel up or down one notch over the cell (x, y).
func (c *Client) Wheel(x, y int, up bool) {
	b := vt.MouseWheelDown
	if up {
		b = vt.MouseWheelUp
	}
	c.mouse(vt.MouseWheel{X: x, Y: y, Button: b})
}

func (c *Client) mouse(m vt.Mouse) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.term.SendMouse(m)
}

// Send types s as a person would (raw bytes: "\r" is Enter).
func (c *Client) Send(s string) error {
	_, err := io.WriteString(c.stdin, s)
	return err
}

// Resize changes the window size, as a terminal does.
func (c *Client) Resize(w, h int) error {
	c.mu.Lock()
	c.term.Resize(w, h)
	c.mu.Unlock()
	return c.sess.WindowChange(h, w)
}

// Done is closed when the session has ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// ExitStatus is the session's exit status once Done is closed: 0, the
// status the server sent, or -1 if it sent none.
func (c *Client) ExitStatus() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ee *gossh.ExitError
	switch {
	case c.exit == nil:
		return 0
	case errors.As(c.exit, &ee):
		return ee.ExitStatus()
	}
	return -1
}

// Close hangs up.
func (c *Client) Close() error {
	err := c.conn.Close()
	<-c.done
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// WaitFor polls the screen until cond holds or timeout passes; the error
// shows the screen as it was.
func (c *Client) WaitFor(timeout time.Duration, cond func(screen string) bool) error {
	deadline := time.Now().Add(timeout)
	for {
		s := c.Screen()
		if cond(s) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("condition not met within %v; screen:\n%s", timeout, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
