package sshd

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"chatroom/internal/clean"
	"chatroom/internal/reason"

	"charm.land/ssh"
	"github.com/pires/go-proxyproto"
	gossh "golang.org/x/crypto/ssh"
)

// connState is what the server keeps about one connection, from accept to
// close. It lives in the connection's ssh.Context.
type connState struct {
	ticket   *ticket
	raw      net.Conn
	accepted time.Time
	sessions atomic.Int32 // session channels opened
	chatting atomic.Bool  // a chat session started
	timer    *time.Timer  // closes a connection that opens no chat
	version  *time.Timer  // closes a connection that sends no version line
	spoke    atomic.Bool  // the client's version line has arrived
	// channel is the connection's one session channel, as accepted: the
	// terminal is written through it, not through the library's session,
	// whose emulated PTY copies every write twice to turn \n into \r\n
	// (our output has no bare \n).
	channel atomic.Pointer[gossh.Channel]
	once    sync.Once
	// resize takes the session's window changes from filterRequests: the
	// library never sees them (it would write the size Pty() returned
	// without a lock, a data race the race detector found, and pass them
	// on through a goroutine of its own and one of ours).
	resize resizes
}

type connStateKey struct{}

// stateOf is the connection's state. admit sets it or closes the
// connection, and admitted lets none without it authenticate, so after
// authentication (every channel, every session) it is never nil.
func stateOf(ctx ssh.Context) *connState {
	st, _ := ctx.Value(connStateKey{}).(*connState)
	return st
}

// guardedConn tells the guard when the connection ends.
type guardedConn struct {
	net.Conn
	st *connState
	s  *Server
}

// Read watches for the end of the client's version line, the first line
// it sends; until then the version timer runs.
func (c *guardedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if !c.st.spoke.Load() && bytes.IndexByte(p[:n], '\n') >= 0 {
		c.st.spoke.Store(true)
		c.st.version.Stop()
	}
	return n, err
}

func (c *guardedConn) Close() error {
	c.st.once.Do(func() {
		c.st.ticket.closed()
		c.st.version.Stop()
		if c.st.timer != nil {
			c.st.timer.Stop()
		}
		c.s.obs.Connection(false)
		c.s.log.Info("disconnect", "remote", c.RemoteAddr().String(), "after", time.Since(c.st.accepted).Round(time.Millisecond))
	})
	return c.Conn.Close()
}

// admit is the server's ConnCallback: a refused connection gets one line
// saying why (before the SSH version line, where RFC 4253 allows text) and
// is closed.
func (s *Server) admit(ctx ssh.Context, conn net.Conn) net.Conn {
	if s.fromBalancer(conn.RemoteAddr()) {
		if conn = s.unwrapProxy(conn); conn == nil {
			return nil
		}
	}
	t, why := s.guard.admit(conn.RemoteAddr())
	if t == nil {
		s.log.Info("refused", "remote", conn.RemoteAddr().String(), "why", why.why)
		s.obs.Refused(why.why)
		// Say why, then hang up gently: closing with the client's version
		// line unread would reset the connection and lose ours.
		_ = conn.SetDeadline(time.Now().Add(250 * time.Millisecond))
		_, _ = io.WriteString(conn, "chatroom: "+why.text+"\r\n")
		if tc := tcpConn(conn); tc != nil {
			_ = tc.CloseWrite()
			_, _ = io.Copy(io.Discard, io.LimitReader(conn, 4096))
		}
		_ = conn.Close()
		return nil
	}
	if tc := tcpConn(conn); tc != nil {
		_ = tc.SetWriteBuffer(s.limits.SendBuffer)
	}
	st := &connState{ticket: t, raw: conn, accepted: time.Now()}
	// A socket that says nothing costs little, but it holds a place among
	// the handshakes: it must speak first, and soon.
	st.version = time.AfterFunc(s.limits.VersionTimeout, func() {
		if !st.spoke.Load() {
			s.log.Info("closed", "remote", conn.RemoteAddr().String(), "why", reason.VersionTimeout, "after", s.limits.VersionTimeout)
			s.obs.Closed(reason.VersionTimeout)
			_ = conn.Close()
		}
	})
	ctx.SetValue(connStateKey{}, st)
	s.obs.Connection(true)
	if t.refuse.why != 0 {
		s.log.Info("refused", "remote", conn.RemoteAddr().String(), "why", t.refuse.why)
		s.obs.Refused(t.refuse.why)
	} else {
		s.log.Info("connect", "remote", conn.RemoteAddr().String())
	}
	return &guardedConn{Conn: conn, st: st, s: s}
}

// fromBalancer reports whether addr is one of ProxyFrom.
func (s *Server) fromBalancer(addr net.Addr) bool {
	if len(s.cfg.ProxyFrom) == 0 {
		return false
	}
	ta, ok := addr.(*net.TCPAddr)
	if !ok {
		return false
	}
	ip, _ := netip.AddrFromSlice(ta.IP)
	ip = ip.Unmap()
	for _, p := range s.cfg.ProxyFrom {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// unwrapProxy reads the PROXY protocol header a balancer sends first, in
// the connection's own goroutine, and returns the connection as the client
// it speaks for; or closes it and returns nil if no valid header came
// within the version timeout (a balancer sends it at once).
func (s *Server) unwrapProxy(conn net.Conn) net.Conn {
	pc := proxyproto.NewConn(conn, proxyproto.WithPolicy(proxyproto.REQUIRE),
		proxyproto.SetReadHeaderTimeout(s.limits.VersionTimeout))
	if pc.ProxyHeader() == nil {
		s.log.Info("refused", "remote", conn.RemoteAddr().String(), "why", reason.NoProxyHeader)
		s.obs.Refused(reason.NoProxyHeader)
		_ = conn.Close()
		return nil
	}
	return pc
}

// tcpConn is the TCP connection under c, or nil.
func tcpConn(c net.Conn) *net.TCPConn {
	switch c := c.(type) {
	case *net.TCPConn:
		return c
	case *proxyproto.Conn:
		tc, _ := c.TCPConn()
		return tc
	}
	return nil
}

// serverConfig hooks the end of authentication: the connection stops
// counting as unauthenticated and has ShellTimeout to open a chat.
func (s *Server) serverConfig(ctx ssh.Context) *gossh.ServerConfig {
	st := stateOf(ctx)
	return &gossh.ServerConfig{
		AuthLogCallback: func(meta gossh.ConnMetadata, method string, err error) {
			if st == nil {
				return
			}
			remote, user := meta.RemoteAddr().String(), clean.Line(meta.User(), 64)
			if err != nil {
				// Clients try "none" first as a matter of course: not news.
				if method != "none" {
					s.log.Info("auth failed", "remote", remote, "user", user, "method", method)
				}
				return
			}
			s.log.Info("auth", "remote", remote, "user", user, "method", method)
			s.obs.Handshake(time.Since(st.accepted))
			st.ticket.authenticated()
			st.timer = time.AfterFunc(s.limits.ShellTimeout, func() {
				if !st.chatting.Load() {
					s.log.Info("closed", "remote", remote, "why", reason.ShellTimeout, "after", s.limits.ShellTimeout)
					s.obs.Closed(reason.ShellTimeout)
					_ = st.raw.Close()
				}
			})
		},
	}
}

// session is the handler for session channels: one per connection, with
// its requests filtered before the SSH library sees them.
func (s *Server) session(srv *ssh.Server, conn *gossh.ServerConn, ch gossh.NewChannel, ctx ssh.Context) {
	st := stateOf(ctx)
	if st.sessions.Add(1) > 1 {
		s.obs.Refused(reason.SecondSession)
		_ = ch.Reject(gossh.Prohibited, reason.SecondSession.Text())
		return
	}
	ssh.DefaultSessionHandler(srv, conn, &filteredChannel{NewChannel: ch, s: s, remote: conn.RemoteAddr().String(), st: st}, ctx)
}

// filteredChannel screens a session's requests: agent forwarding is
// refused, the environment is bounded, and window changes go to the
// connection's resizes rather than to the library.
type filteredChannel struct {
	gossh.NewChannel
	s      *Server
	remote string
	st     *connState
}

func (c *filteredChannel) Accept() (gossh.Channel, <-chan *gossh.Request, error) {
	ch, in, err := c.NewChannel.Accept()
	if err != nil {
		return ch, in, err
	}
	c.st.channel.Store(&ch)
	out := make(chan *gossh.Request)
	go func() {
		defer recoverConn(c.s.log.With("remote", c.remote), func() { _ = ch.Close() })
		filterRequests(in, out, c.s.limits, &c.st.resize)
	}()
	return ch, out, nil
}

// maxQueuedRequests bounds requests waiting for the session to take them.
const maxQueuedRequests = 64

// filterRequests passes requests on, but for window changes, which go to
// rs once the terminal was asked for.
func filterRequests(in <-chan *gossh.Request, out chan<- *gossh.Request, lim Limits, rs *resizes) {
	defer close(out)
	var queue []*gossh.Request
	envs, pty := 0, false
	refuse := func(r *gossh.Request) {
		if r.WantReply {
			_ = r.Reply(false, nil)
		}
	}
	for {
		var send chan<- *gossh.Request
		var next *gossh.Request
		if len(queue) > 0 {
			send, next = out, queue[0]
		}
		select {
		case r, ok := <-in:
			if !ok {
				for _, r := range queue {
					refuse(r)
				}
				return
			}
			switch {
			case r.Type == "auth-agent-req@openssh.com", r.Type == "x11-req":
				refuse(r)
			case r.Type == "env" && (envs >= lim.MaxEnv || len(r.Payload) > lim.MaxEnvBytes):
				refuse(r)
			case r.Type == "window-change":
				w, ok := parseWindowChange(r.Payload)
				ok = ok && pty
				if r.WantReply {
					_ = r.Reply(ok, nil)
				}
				if ok {
					rs.push(clampSize(w))
				}
			case len(queue) >= maxQueuedRequests:
				refuse(r)
			default:
				switch r.Type {
				case "env":
					envs++
				case "pty-req":
					pty = true
				}
				queue = append(queue, r)
			}
		case send <- next:
			queue = queue[1:]
		}
	}
}

// parseWindowChange reads a window-change request's columns and rows
// (RFC 4254, 6.7).
func parseWindowChange(p []byte) (ssh.Window, bool) {
	if len(p) < 16 {
		return ssh.Window{}, false
	}
	return ssh.Window{Width: int(binary.BigEndian.Uint32(p)), Height: int(binary.BigEndian.Uint32(p[4:]))}, true
}

// keepalive asks the client for a sign of life every interval; after max
// intervals without an answer the connection is closed, which frees its
// name. It stops when ctx ends. It runs on a timer, not a goroutine of its
// own: a goroutine lives only while a question waits for its answer.
func keepalive(ctx context.Context, conn gossh.Conn, interval time.Duration, max int, log *slog.Logger, obs Observer) {
	k := &keepaliveState{conn: conn, interval: interval, max: max, log: log, obs: obs}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.t = time.AfterFunc(interval, k.due)
	context.AfterFunc(ctx, k.stop)
}

type keepaliveState struct {
	conn     gossh.Conn
	interval time.Duration
	max      int
	log      *slog.Logger
	obs      Observer

	mu      sync.Mutex
	t       *time.Timer
	stopped bool
	waiting bool // a question is out, not yet answered
	missed  int  // intervals that ended with it unanswered
}

func (k *keepaliveState) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stopped = true
	k.t.Stop()
}

// due ends an interval: it counts a question left unanswered, or asks one.
func (k *keepaliveState) due() {
	defer recoverConn(k.log, func() { _ = k.conn.Close() })
	k.mu.Lock()
	if k.stopped {
		k.mu.Unlock()
		return
	}
	if k.waiting {
		k.missed++
		if k.missed >= k.max {
			k.stopped = true
			k.mu.Unlock()
			k.log.Info("closed", "why", reason.Keepalive, "missed", k.missed)
			k.obs.Closed(reason.Keepalive)
			_ = k.conn.Close()
			return
		}
		k.t.Reset(k.interval)
		k.mu.Unlock()
		return
	}
	k.waiting = true
	k.t.Reset(k.interval)
	k.mu.Unlock()
	// Any answer, even a refusal, shows the client is there. This waits
	// for it, in the timer's goroutine, which ends with it.
	if _, _, err := k.conn.SendRequest("keepalive@openssh.com", true, nil); err == nil {
		k.mu.Lock()
		k.waiting, k.missed = false, 0
		k.mu.Unlock()
	}
}

// recoverConn is the one recover of sshd's own goroutines: a panic there
// (no middleware sees it) is logged and closes what the goroutine served;
// the server carries on.
func recoverConn(log *slog.Logger, close func()) {
	if r := recover(); r != nil {
		log.Error("panic", "panic", r, "stack", string(debug.Stack()))
		close()
	}
}
