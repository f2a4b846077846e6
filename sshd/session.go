package sshd

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"chatroom/internal/clean"
	"chatroom/internal/reason"
	"chatroom/keys"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// Terminal sizes are clamped before anything is sized by them.
const (
	maxWidth      = 400
	maxHeight     = 200
	defaultWidth  = 80
	defaultHeight = 24
)

// Size is a terminal's size in cells. It is an alias of an unnamed struct
// so that a package that knows nothing of sshd can declare the same type
// and take Session.OnResize as it is.
type Size = struct{ Width, Height int }

// clampSize bounds a client's window: 0 means the default, and anything
// larger than a real screen is cut to the largest we draw.
func clampSize(w ssh.Window) Size {
	clamp := func(v, def, most int) int {
		if v <= 0 {
			return def
		}
		return min(v, most)
	}
	return Size{clamp(w.Width, defaultWidth, maxWidth), clamp(w.Height, defaultHeight, maxHeight)}
}

// Session is one terminal session, as the Handler sees it. What the client
// sent is as it was sent: clean it before showing or logging it (Log is
// already clean).
type Session struct {
	User string          // the SSH user name
	Key  gossh.PublicKey // the key the client proved it holds; nil for a guest
	Addr net.Addr        // the client's address
	Term string          // TERM
	Env  []string        // the environment the client sent, and TERM
	Size Size            // the terminal's size, clamped
	In   io.Reader       // what the person types
	// Out is the terminal, for one writer at a time. A write stuck for the
	// write timeout closes the connection: a client that stopped reading
	// cannot hold its session.
	Out io.Writer
	// Closing is closed when the server begins to shut down.
	Closing <-chan struct{}
	// Log has the address, user, key, terminal and client version on every line.
	Log *slog.Logger
	// KeyMemo is what Config.KeyOK returned with its last yes on this
	// connection, or nil. It is what was looked up for a key the client
	// offered, which need not be Key (a guest may have offered one too):
	// it proves nothing.
	KeyMemo any

	ctx     context.Context
	sess    ssh.Session
	resize  *resizes
	obs     Observer
	refused bool
}

// keyMemoKey holds KeyOK's memo in the connection's context.
type keyMemoKey struct{}

// Context ends when the connection does, or the Handler returns.
func (s *Session) Context() context.Context { return s.ctx }

// Refuse ends the session with why's line (text, if given) on stderr and
// exit status 1, and counts it. The Handler returns after it.
func (s *Session) Refuse(why reason.Reason, text string) {
	if text == "" {
		text = why.Text()
	}
	s.Log.Info("refused", "why", why)
	s.obs.Refused(why)
	s.refused = true
	tell(s.sess, text)
}

// handle runs one SSH session: the Handler for a terminal, a one-line
// refusal for anything else.
func (s *Server) handle(sess ssh.Session) {
	s.sessions.Add(1)
	defer s.sessions.Done()
	defer s.hangUpSoon(sess)
	log := s.log.With("remote", sess.RemoteAddr().String(), "user", clean.Line(sess.User(), 64))
	refuse := func(why reason.Reason) {
		log.Info("refused", "why", why)
		s.obs.Refused(why)
		tell(sess, why.Text())
	}

	pty, _, ok := sess.Pty()
	switch {
	case sess.RawCommand() != "":
		refuse(reason.Exec)
		return
	case !ok:
		refuse(reason.NoTerminal)
		return
	}
	select {
	case <-s.closing:
		refuse(reason.ShuttingDown)
		return
	default:
	}
	if n := s.running.Add(1); n > int64(s.limits.MaxSessions) {
		s.running.Add(-1)
		log.Warn("refused", "why", reason.ServerFull, "sessions", n-1)
		s.obs.Refused(reason.ServerFull)
		tell(sess, reason.ServerFull.Text())
		return
	}
	defer s.running.Add(-1)
	s.obs.Session(true)
	defer s.obs.Session(false)
	st := stateOf(sess.Context())
	st.chatting.Store(true)

	key := sess.PublicKey()
	// What the client says of itself is cleaned before it reaches the log.
	log = log.With("key", keys.Fingerprint(key), "term", clean.Line(pty.Term, 64),
		"client", clean.Line(sess.Context().ClientVersion(), 64))
	ctx, cancel := context.WithCancel(sess.Context())
	defer cancel()
	var term io.Writer = sess
	if ch := st.channel.Load(); ch != nil {
		term = *ch
	}
	out := s.stalls.watch(term, func() {
		log.Warn("closed", "why", reason.WriteStall, "after", s.limits.WriteTimeout)
		s.obs.Closed(reason.WriteStall)
		resetConn(sess)
	})
	defer s.stalls.unwatch(out)
	if conn, ok := sess.Context().Value(ssh.ContextKeyConn).(gossh.Conn); ok {
		keepalive(ctx, conn, s.limits.KeepaliveInterval, s.limits.KeepaliveMax, log, s.obs)
	}
	ss := &Session{
		User:    sess.User(),
		Key:     key,
		Addr:    sess.RemoteAddr(),
		Term:    pty.Term,
		Env:     append(sess.Environ(), "TERM="+pty.Term),
		Size:    clampSize(pty.Window),
		In:      sess,
		Out:     out,
		Closing: s.closing,
		Log:     log,
		KeyMemo: sess.Context().Value(keyMemoKey{}),
		ctx:     ctx,
		sess:    sess,
		resize:  &st.resize, // filterRequests gives it the window changes
		obs:     s.obs,
	}
	s.cfg.Handler(ss)
	if ss.refused {
		return
	}
	_ = sess.Exit(0)
}

// OnResize has f called with each later size of the terminal, clamped,
// from another goroutine, one call at a time, until the session ends.
// Sizes that came before it was called are given to f at once, as their
// latest. It is for one f.
func (s *Session) OnResize(f func(Size)) { s.resize.set(f) }

// resizes passes a session's window sizes on to the Handler's function,
// from filterRequests, which reads them: a storm of window changes costs
// the Handler only what its function does (tui folds them into the
// latest).
type resizes struct {
	mu   sync.Mutex // held while f is called: calls do not overlap
	f    func(Size)
	held *Size // the latest size, until f is set
}

func (r *resizes) set(f func(Size)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.f = f
	if r.held != nil {
		f(*r.held)
		r.held = nil
	}
}

// push passes sz on, or holds it until f is set.
func (r *resizes) push(sz Size) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f != nil {
		r.f(sz)
	} else {
		r.held = &sz
	}
}

// resetConn closes a connection that stopped taking output with a reset,
// so that the kernel drops what it still holds for it at once, rather than
// trying to deliver it for minutes.
func resetConn(sess ssh.Session) {
	if st := stateOf(sess.Context()); st != nil {
		if tc := tcpConn(st.raw); tc != nil {
			_ = tc.SetLinger(0)
		}
	}
	closeConn(sess)
}

func closeConn(sess ssh.Session) {
	if c, ok := sess.Context().Value(ssh.ContextKeyConn).(gossh.Conn); ok {
		_ = c.Close()
	}
}

// stallWriter is a terminal whose writes are watched: one that blocks for
// longer than the write timeout (a client that stopped reading) gets the
// connection closed. It notes when the current write began, and one
// watchdog per server looks at every writer (stalls); a timer per write
// cost more than the rest of the write's bookkeeping. It is written by one
// goroutine at a time (Session.Out says so): a lock of its own here cost a
// tenth of what all else a message costs a session.
type stallWriter struct {
	w       io.Writer
	since   atomic.Int64 // when the current write began (unix ns); 0 when none
	fired   atomic.Bool
	onStall func()
}

func (s *stallWriter) Write(b []byte) (int, error) {
	s.since.Store(time.Now().UnixNano())
	n, err := s.w.Write(b)
	s.since.Store(0)
	return n, err
}

// stalls is every writer a server watches.
type stalls struct {
	mu      sync.Mutex
	writers map[*stallWriter]struct{}
}

// watch makes a writer to w that calls onStall once if a write blocks
// for longer than the timeout; unwatch when done with it.
func (st *stalls) watch(w io.Writer, onStall func()) *stallWriter {
	sw := &stallWriter{w: w, onStall: onStall}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.writers == nil {
		st.writers = make(map[*stallWriter]struct{})
	}
	st.writers[sw] = struct{}{}
	return sw
}

func (st *stalls) unwatch(sw *stallWriter) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.writers, sw)
}

// run checks every writer a few times per timeout until done is closed, so
// that a stuck write is found within a quarter of the timeout after it.
func (st *stalls) run(timeout time.Duration, done <-chan struct{}) {
	t := time.NewTicker(max(timeout/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			cutoff := now.Add(-timeout).UnixNano()
			var stuck []*stallWriter
			st.mu.Lock()
			for sw := range st.writers {
				if since := sw.since.Load(); since != 0 && since < cutoff && !sw.fired.Load() {
					stuck = append(stuck, sw)
				}
			}
			st.mu.Unlock()
			for _, sw := range stuck {
				if sw.fired.CompareAndSwap(false, true) {
					sw.onStall()
				}
			}
		}
	}
}
