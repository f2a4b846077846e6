// Package sshapp serves the chat over SSH: a Wish server, one Bubble Tea
// program per session, and a screen writer that draws each session's
// terminal itself. It adapts room events to the program and knows nothing of
// how the room works inside.
package sshapp

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"chatroom/keys"
	"chatroom/room"

	"charm.land/ssh"
	"charm.land/wish/v2"
	gossh "golang.org/x/crypto/ssh"
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = ssh.ErrServerClosed

// Config is what a Server needs.
type Config struct {
	// Room is the chat everyone joins.
	Room *room.Room
	// HostKey is the server's identity; it must stay the same across runs.
	HostKey gossh.Signer
	// Logger receives one line per event; nil logs nothing.
	Logger *slog.Logger
	// Limits bound what clients can do; zero fields take the defaults.
	Limits Limits
	// Observer is told what happens, for metrics; nil observes nothing.
	Observer Observer
	// Names, if set, gives each name to the first key that joins with it
	// and keeps bans; without it names are first come, first served.
	Names *keys.Store
	// Admins are the keys of moderators (/kick, /ban, /release ...).
	Admins *keys.KeySet
	// Allowed, if set, are the only keys that may connect (see SetAllowed).
	Allowed *keys.KeySet
}

// Server is the chat's SSH server.
type Server struct {
	room      *room.Room
	log       *slog.Logger
	limits    Limits
	obs       Observer
	guard     *connGuard
	names     *keys.Store
	admins    atomic.Pointer[keys.KeySet]
	allowed   atomic.Pointer[keys.KeySet]
	directory directory
	chats     atomic.Int64 // chat sessions now
	ssh       *ssh.Server
	closing   chan struct{} // closed when shutdown starts
	closeOnce sync.Once
	sessions  sync.WaitGroup
}

// New makes a server; call Serve to start it.
func New(cfg Config) (*Server, error) {
	if cfg.Room == nil || cfg.HostKey == nil {
		return nil, errors.New("sshapp: Config needs a Room and a HostKey")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	lim := cfg.Limits.withDefaults()
	s := &Server{room: cfg.Room, log: cfg.Logger, limits: lim, obs: cfg.Observer, guard: newConnGuard(lim),
		names: cfg.Names, closing: make(chan struct{})}
	s.allowed.Store(cfg.Allowed)
	s.admins.Store(cfg.Admins)
	srv, err := wish.NewServer(
		func(srv *ssh.Server) error { srv.AddHostKey(cfg.HostKey); return nil },
		wish.WithVersion("chatroom"),
		// Anyone may come in (unless only listed keys may): with a key, or
		// with no key at all through keyboard-interactive with no
		// questions. Nothing is recorded here; who someone is comes from
		// the session after authentication (identity.go). A connection the
		// guard refused is told why in the banner.
		wish.WithBannerHandler(func(ctx ssh.Context) string {
			if st := stateOf(ctx); st != nil && st.ticket.refuse.text != "" {
				return "chatroom: " + st.ticket.refuse.text + "\r\n"
			}
			return ""
		}),
		wish.WithPublicKeyAuth(s.publicKeyOK),
		wish.WithKeyboardInteractiveAuth(s.guestOK),
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
	return s, nil
}

// admitted reports whether the guard let this connection in.
func admitted(ctx ssh.Context) bool {
	st := stateOf(ctx)
	return st == nil || st.ticket.refuse.text == ""
}

// Serve accepts connections on l until Shutdown or Close.
func (s *Server) Serve(l net.Listener) error {
	s.log.Info("listening", "addr", l.Addr().String())
	return s.ssh.Serve(l)
}

// Shutdown stops accepting connections, tells every session still on the
// join screen that the server is going down (close the room first, so
// members hear it too), waits for the sessions to end or ctx to expire, and
// then drops every connection.
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
	s.log.Info("refused", "remote", sess.RemoteAddr().String(), "user", room.CleanLine(sess.User(), 64), "why", "subsystem", "subsystem", room.CleanLine(sess.Subsystem(), 64))
	s.obs.Refused("subsystem")
	wish.Errorf(sess, "chatroom: the %s subsystem is not available; connect with plain ssh to chat\n", room.CleanLine(sess.Subsystem(), 32))
	_ = sess.Exit(1)
}
