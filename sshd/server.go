// Package sshd serves SSH for chatroom and knows nothing of chat: it guards
// and limits connections, refuses what is not a terminal session (commands,
// subsystems, forwarding), keeps connections alive, and hands each terminal
// session to a Handler as a small Session value. Who may log in is decided
// by functions in its Config.
package sshd

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"chatroom/internal/clean"
	"chatroom/internal/reason"

	"charm.land/ssh"
	"charm.land/wish/v2"
	gossh "golang.org/x/crypto/ssh"
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = ssh.ErrServerClosed

// Config is what a Server needs.
type Config struct {
	// HostKey is the server's identity; it must stay the same across runs.
	HostKey gossh.Signer
	// Logger receives one line per event; nil logs nothing.
	Logger *slog.Logger
	// Limits bound what clients can do; zero fields take the defaults.
	Limits Limits
	// Observer is told what happens, for metrics; nil observes nothing.
	Observer Observer
	// KeyOK says whether user may log in with key. Clients offer keys
	// before proving they hold them, so it must only check, never record
	// (x/crypto CVE-2024-45337); Session.Key is the key that was proven.
	// What it returns beside a yes reaches the session as KeyMemo: what
	// it looked up, so that the session need not look it up again. Nil
	// accepts every key.
	KeyOK func(user string, key gossh.PublicKey) (ok bool, memo any)
	// GuestOK says whether user may log in with no key at all (keyboard-
	// interactive, asked nothing). Nil turns guests away.
	GuestOK func(user string) bool
	// Handler runs each session that has a terminal, until it returns.
	Handler func(*Session)
	// ProxyFrom lists the load balancers: a connection from one of them
	// must open with a PROXY protocol header (v1 or v2), and the address
	// in it is the client's for limits, bans and logs. Others may not
	// send one.
	ProxyFrom []netip.Prefix
}

// Server is an SSH server that runs one Handler per terminal session.
type Server struct {
	cfg       Config
	log       *slog.Logger
	limits    Limits
	obs       Observer
	guard     *connGuard
	stalls    stalls       // writers watched for stuck writes
	running   atomic.Int64 // sessions in the Handler now
	ssh       *ssh.Server
	closing   chan struct{} // closed when shutdown starts
	closeOnce sync.Once
	sessions  sync.WaitGroup
}

// New makes a server; call Serve to start it.
func New(cfg Config) (*Server, error) {
	if cfg.HostKey == nil || cfg.Handler == nil {
		return nil, errors.New("sshd: Config needs a HostKey and a Handler")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	if cfg.KeyOK == nil {
		cfg.KeyOK = func(string, gossh.PublicKey) (bool, any) { return true, nil }
	}
	if cfg.GuestOK == nil {
		cfg.GuestOK = func(string) bool { return false }
	}
	lim := cfg.Limits.withDefaults()
	s := &Server{cfg: cfg, log: cfg.Logger, limits: lim, obs: cfg.Observer, guard: newConnGuard(lim),
		closing: make(chan struct{})}
	srv, err := wish.NewServer(
		func(srv *ssh.Server) error { srv.AddHostKey(cfg.HostKey); return nil },
		wish.WithVersion("chatroom"),
		// A connection the guard refused is told why in the banner, which
		// every client shows, and then fails authentication.
		wish.WithBannerHandler(func(ctx ssh.Context) string {
			if st := stateOf(ctx); st != nil && st.ticket.refuse.text != "" {
				return "chatroom: " + st.ticket.refuse.text + "\r\n"
			}
			return ""
		}),
		wish.WithPublicKeyAuth(func(ctx ssh.Context, key ssh.PublicKey) bool {
			if !admitted(ctx) || !s.plainKey(key) {
				return false
			}
			ok, memo := cfg.KeyOK(ctx.User(), key)
			if ok {
				ctx.SetValue(keyMemoKey{}, memo)
			}
			return ok
		}),
		wish.WithKeyboardInteractiveAuth(func(ctx ssh.Context, _ gossh.KeyboardInteractiveChallenge) bool {
			return admitted(ctx) && cfg.GuestOK(ctx.User())
		}),
		func(srv *ssh.Server) error {
			srv.HandshakeTimeout = s.limits.HandshakeTimeout
			srv.ConnCallback = s.admit
			srv.ServerConfigCallback = s.serverConfig
			srv.ChannelHandlers = map[string]ssh.ChannelHandler{
				"session":      s.session,
				"direct-tcpip": refuseForwarding,
				"default":      refuseChannel,
			}
			srv.SubsystemHandlers = map[string]ssh.SubsystemHandler{"default": s.refuseSubsystem}
			srv.ConnectionFailedCallback = func(c net.Conn, err error) {
				s.log.Info("handshake failed", "remote", c.RemoteAddr().String(), "err", err)
			}
			return nil
		},
		wish.WithMiddleware(func(ssh.Handler) ssh.Handler { return s.handle }),
	)
	if err != nil {
		return nil, err
	}
	s.ssh = srv
	go s.stalls.run(s.limits.WriteTimeout, s.closing)
	return s, nil
}

// plainKey turns down what is not a plain public key of a sane size: a
// certificate (whose KeyId and extensions are the client's to fill, and
// which no authority of ours signed) or a blob larger than any real key.
func (s *Server) plainKey(key gossh.PublicKey) bool {
	if _, cert := key.(*gossh.Certificate); cert {
		return false
	}
	return len(key.Marshal()) <= s.limits.MaxKeySize
}

// admitted reports whether the guard let this connection in. Every
// connection has a connState (admit sets it or closes the connection);
// one without is refused all the same.
func admitted(ctx ssh.Context) bool {
	st := stateOf(ctx)
	return st != nil && st.ticket.refuse.text == ""
}

// Serve accepts connections on l until Shutdown or Close.
func (s *Server) Serve(l net.Listener) error {
	s.log.Info("listening", "addr", l.Addr().String())
	return s.ssh.Serve(l)
}

// Shutdown stops accepting connections, tells every session that the
// server is going down (Session.Closing), waits for the sessions to end or
// ctx to expire, and then drops every connection.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeOnce.Do(func() { close(s.closing) })
	stopped := make(chan error, 1)
	go func() { stopped <- s.ssh.Shutdown(ctx) }()

	done := make(chan struct{})
	go func() { s.sessions.Wait(); close(done) }()
	var err error
	select {
	case <-done:
		// Sessions have said goodbye. Clients normally hang up now; give
		// them a moment, so they do not see their connection cut.
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
		case serr := <-stopped:
			return serr
		}
	case <-ctx.Done():
		err = ctx.Err()
	}
	// Whoever is still connected has no session left to wait for.
	_ = s.ssh.Close()
	if serr := <-stopped; err == nil && serr != nil && !errors.Is(serr, context.Canceled) && !errors.Is(serr, context.DeadlineExceeded) {
		err = serr
	}
	return err
}

// Close drops every connection at once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.closing) })
	return s.ssh.Close()
}

func refuseForwarding(_ *ssh.Server, _ *gossh.ServerConn, ch gossh.NewChannel, _ ssh.Context) {
	_ = ch.Reject(gossh.Prohibited, "chatroom does not forward ports")
}

func refuseChannel(_ *ssh.Server, _ *gossh.ServerConn, ch gossh.NewChannel, _ ssh.Context) {
	_ = ch.Reject(gossh.UnknownChannelType, "chatroom only offers a chat session")
}

func (s *Server) refuseSubsystem(sess ssh.Session) {
	name := clean.Line(sess.Subsystem(), 32)
	s.log.Info("refused", "remote", sess.RemoteAddr().String(), "user", clean.Line(sess.User(), 64),
		"why", reason.Subsystem, "subsystem", name)
	s.obs.Refused(reason.Subsystem)
	tell(sess, reason.Subsystem.Text(name))
	s.hangUpSoon(sess)
}

// hangUpSoon closes a connection whose one session has ended, if the
// client has not by then: a connection must not outlive its chat.
// A client that hangs up first stops the timer, which would otherwise hold
// the whole connection in memory until it fired.
func (s *Server) hangUpSoon(sess ssh.Session) {
	t := time.AfterFunc(s.limits.ExitGrace, func() { closeConn(sess) })
	context.AfterFunc(sess.Context(), func() { t.Stop() })
}

// tell ends a session with one line on stderr and exit status 1.
func tell(sess ssh.Session, line string) {
	_, _ = sess.Stderr().Write([]byte("chatroom: " + line + "\r\n"))
	_ = sess.Exit(1)
}
