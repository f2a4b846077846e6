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
	Width, Height int                // PTY size (default 80x24)
	Term          string             // TERM (default xterm-256color)
	Key           gossh.Signer       // authenticate with this key; nil uses keyboard-interactive
	Auth          []gossh.AuthMethod // if set, exactly these methods, in order
	NoPTY         bool               // ask for no PTY
	Command       string             // exec this instead of a shell
	Timeout       time.Duration
	LocalIP       string    // dial from this address (any 127.0.0.0/8 works on loopback)
	Output        io.Writer // also copy the raw output here
	Blind         bool      // keep no screen (a 4 MiB emulator): Screen is empty
	Preamble      []byte    // written before SSH begins (a PROXY protocol header, as a balancer sends)
}

// Terminal is a screen: what is written to it is drawn by a terminal
// emulator, and what a person does (keys, clicks) comes out of Answers.
type Terminal struct {
	mu    sync.Mutex
	term  *vt.Emulator
	bytes int64
	bells int    // times the bell rang
	title string // the window title
}

// NewTerminal makes a blank w x h screen.
func NewTerminal(w, h int) *Terminal {
	t := &Terminal{term: vt.NewEmulator(w, h)}
	// Called from Write, which holds mu.
	t.term.SetCallbacks(vt.Callbacks{
		Bell:  func() { t.bells++ },
		Title: func(s string) { t.title = s },
	})
	return t
}

// Render is the screen with its colours and styles, as ANSI text.
func (t *Terminal) Render() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.term.Render()
}

// Bells is how many times the bell has rung.
func (t *Terminal) Bells() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.bells
}

// Title is the window title the program set.
func (t *Terminal) Title() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.title
}

// Write draws program output.
func (t *Terminal) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.bytes += int64(len(p))
	if t.term == nil {
		return len(p), nil
	}
	return t.term.Write(p)
}

// Answers is what the terminal sends back to the program: replies to
// queries and mouse reports. Copy it to the program's input.
func (t *Terminal) Answers() io.Reader { return t.term }

// CloseAnswers ends a copy of Answers. (Emulator.Close would race with that
// copy's Read; closing the pipe's writer does not.)
func (t *Terminal) CloseAnswers() {
	if t.term == nil {
		return
	}
	if pw, ok := t.term.InputPipe().(*io.PipeWriter); ok {
		_ = pw.Close()
	}
}

// Client is one SSH session whose output feeds a Terminal.
type Client struct {
	*Terminal
	conn  *gossh.Client
	sess  *gossh.Session
	stdin io.WriteCloser

	mu     sync.Mutex
	stderr strings.Builder
	exit   error // from sess.Wait, once done

	done chan struct{} // closed when the session ended
}

// Dial connects as user and starts a shell (or Options.Command).
func Dial(addr, user string, o Options) (*Client, error) {
	if o.Width == 0 {
		o.Width = 80
	}
	if o.Height == 0 {
		o.Height = 24
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
	if o.Auth != nil {
		auth = o.Auth
	}
	d := net.Dialer{Timeout: o.Timeout}
	if o.LocalIP != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(o.LocalIP)}
	}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	if len(o.Preamble) > 0 {
		if _, err := nc.Write(o.Preamble); err != nil {
			nc.Close()
			return nil, err
		}
	}
	var banner string
	sc, chans, reqs, err := gossh.NewClientConn(nc, addr, &gossh.ClientConfig{
		User:            user,
		Auth:            auth,
		HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		BannerCallback:  func(msg string) error { banner += msg; return nil },
		Timeout:         o.Timeout,
	})
	if err != nil {
		nc.Close()
		if banner != "" {
			err = fmt.Errorf("%w; the server said %q", err, banner)
		}
		return nil, err
	}
	conn := gossh.NewClient(sc, chans, reqs)
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
	c := &Client{Terminal: &Terminal{}, conn: conn, sess: sess, done: make(chan struct{})}
	if !o.Blind {
		c.Terminal = NewTerminal(o.Width, o.Height)
	}
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
				_, _ = c.Terminal.Write(buf[:n])
				if o.Output != nil {
					_, _ = o.Output.Write(buf[:n])
				}
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
	if !o.Blind {
		go func() { _, _ = io.Copy(c.stdin, c.Answers()) }()
	}
	go func() {
		copies.Wait()
		err := sess.Wait()
		c.mu.Lock()
		c.exit = err
		c.mu.Unlock()
		c.CloseAnswers()
		close(c.done)
	}()
	return c, nil
}

// Screen is the terminal's text, one line per row, trailing spaces trimmed.
// A blind client's screen is empty.
func (c *Terminal) Screen() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.term == nil {
		return ""
	}
	return c.term.String()
}

// Row is one row of the screen.
func (c *Terminal) Row(y int) string {
	rows := strings.Split(c.Screen(), "\n")
	if y < 0 || y >= len(rows) {
		return ""
	}
	return rows[y]
}

// Cursor is the cursor's position, zero-based.
func (c *Terminal) Cursor() (x, y int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.term == nil {
		return 0, 0
	}
	p := c.term.CursorPosition()
	return p.X, p.Y
}

// BytesRead is how many bytes the server has sent.
func (c *Terminal) BytesRead() int64 {
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
func (c *Terminal) Click(x, y int) {
	c.mouse(vt.MouseClick{X: x, Y: y, Button: vt.MouseLeft})
	c.mouse(vt.MouseRelease{X: x, Y: y, Button: vt.MouseLeft})
}

// Wheel turns the mouse wheel up or down one notch over the cell (x, y).
func (c *Terminal) Wheel(x, y int, up bool) {
	b := vt.MouseWheelDown
	if up {
		b = vt.MouseWheelUp
	}
	c.mouse(vt.MouseWheel{X: x, Y: y, Button: b})
}

func (c *Terminal) mouse(m vt.Mouse) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.term == nil {
		return
	}
	c.term.SendMouse(m)
}

// Paste pastes text, bracketed if the program asked for bracketed paste.
func (c *Terminal) Paste(text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.term == nil {
		return
	}
	c.term.Paste(text)
}

// Send types s as a person would (raw bytes: "\r" is Enter).
//
// With a screen, keys travel the same path as pastes and clicks (through
// the terminal's answer pipe), so they reach the server in the order sent.
func (c *Client) Send(s string) error {
	if c.term != nil {
		select {
		case <-c.done:
			return io.EOF
		default:
		}
		_, err := io.WriteString(c.term.InputPipe(), s)
		return err
	}
	_, err := io.WriteString(c.stdin, s)
	return err
}

// Resize changes the screen's size.
func (c *Terminal) Resize(w, h int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.term == nil {
		return
	}
	c.term.Resize(w, h)
}

// Resize changes the window size, as a terminal does.
func (c *Client) Resize(w, h int) error {
	c.Terminal.Resize(w, h)
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
func (c *Terminal) WaitFor(timeout time.Duration, cond func(screen string) bool) error {
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
