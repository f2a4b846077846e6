// Package testserver runs the whole chat in a test: the SSH server, the
// chat host and the room, in this process, on a loopback port, until the
// test ends.
package testserver

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"chatroom/internal/testkit"
	"chatroom/keys"
	"chatroom/names"
	"chatroom/room"
	"chatroom/sshapp"
	"chatroom/sshd"
	"chatroom/tui"
)

// Options shape a test server. Zero fields take the defaults.
type Options struct {
	Room    room.Options
	Limits  sshd.Limits
	Session tui.Limits
	// Log receives the server's log, if set.
	Log io.Writer
	// Names is the name store; by default a fresh one in a temporary
	// directory.
	Names           names.Store
	Admins, Allowed *keys.KeySet
	// NewNamesPerHour is sshapp's limit (0: none); Limits.LimitLoopback
	// applies it to the test's loopback clients.
	NewNamesPerHour int
	// Broker, if set, wraps the room the sessions see (to break it on
	// purpose, say).
	Broker func(room.Broker) room.Broker
}

// Server is a running test server.
type Server struct {
	Addr  string
	Room  *room.Room
	Host  *sshapp.Host
	SSH   *sshd.Server
	Names names.Store
}

// Start runs a server until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	r := room.New(o.Room)
	var broker room.Broker = r
	if o.Broker != nil {
		broker = o.Broker(r)
	}
	var log *slog.Logger
	if o.Log != nil {
		log = slog.New(slog.NewTextHandler(o.Log, nil))
	}
	if o.Names == nil {
		o.Names = testkit.OpenNames(t, t.TempDir())
	}
	host := sshapp.New(sshapp.Config{Room: broker, Names: o.Names, Admins: o.Admins, Allowed: o.Allowed,
		Limits: o.Session, Logger: log, NewNamesPerHour: o.NewNamesPerHour, LimitLoopback: o.Limits.LimitLoopback})
	srv, err := sshd.New(sshd.Config{HostKey: testkit.HostKey(t), Limits: o.Limits, Logger: log,
		KeyOK: host.KeyOK, GuestOK: host.GuestOK, Handler: host.Serve})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
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
	return &Server{Addr: l.Addr().String(), Room: r, Host: host, SSH: srv, Names: o.Names}
}
