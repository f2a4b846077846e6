// Command chatroom is a chat server people reach with nothing but ssh.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"chatroom/cluster"
	"chatroom/internal/systemd"
	"chatroom/keys"
	"chatroom/metrics"
	"chatroom/names"
	"chatroom/room"
	"chatroom/sshapp"
	"chatroom/sshd"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"; without
// it the module version from the build info is used.
var version = ""

// shutdownGrace bounds how long sessions get to say goodbye on SIGTERM.
const shutdownGrace = 5 * time.Second

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "names" {
		return namesCommand(args[1:], getenv, stdout, stderr)
	}
	c, showVersion, err := parseConfig(args, getenv, stdout)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintln(stderr, "chatroom:", err)
		return 2
	case showVersion:
		fmt.Fprintln(stdout, "chatroom", versionString())
		return 0
	}
	var handler slog.Handler = slog.NewTextHandler(stderr, nil)
	if c.logFormat == "json" {
		handler = slog.NewJSONHandler(stderr, nil)
	}
	log := slog.New(handler)
	if err := serve(c, log, systemd.New(getenv)); err != nil {
		log.Error("stopped", "err", err)
		return 1
	}
	return 0
}

// server is a running chatroom: the room, the name store, the chat host
// and the SSH server in front of it.
type server struct {
	c       config
	log     *slog.Logger
	sd      systemd.Manager
	room    *room.Room
	node    *cluster.Node // nil for one node alone
	names   names.Store
	host    *sshapp.Host
	ssh     *sshd.Server
	metrics *metrics.Metrics
}

// serve runs chatroom until SIGINT or SIGTERM, or until it fails.
func serve(c config, log *slog.Logger, sd systemd.Manager) error {
	s, err := build(c, log, sd)
	if err != nil {
		return err
	}
	// Last-seen times are flushed on every way out, a failing Serve too.
	defer func() {
		if err := s.names.Close(); err != nil {
			log.Error("names", "err", err)
		}
		if s.node != nil {
			s.node.Close("The server is shutting down.") // releases its people's names
		}
	}()
	l, err := s.listen()
	if err != nil {
		return err
	}
	if c.metricsListen != "" {
		stop, err := s.serveMetrics()
		if err != nil {
			l.Close()
			return err
		}
		defer stop()
	}
	return s.run(l)
}

// build opens the data directory and makes the parts, wired together.
func build(c config, log *slog.Logger, sd systemd.Manager) (*server, error) {
	dir, err := filepath.Abs(c.dataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	hostKey, err := keys.HostKeyFileOrCreate(filepath.Join(dir, keys.HostKeyFile))
	if err != nil {
		return nil, err
	}
	log.Info("host key", "path", filepath.Join(dir, keys.HostKeyFile), "fingerprint", keys.Fingerprint(hostKey.PublicKey()))
	allowed, admins, err := loadKeySets(c)
	if err != nil {
		return nil, err
	}
	s := &server{c: c, log: log, sd: sd}
	var broker room.Broker
	if c.nats.URLs != "" {
		if err := s.joinCluster(dir); err != nil {
			return nil, err
		}
		broker = s.node
	} else {
		if s.names, err = names.Open(dir); err != nil {
			return nil, fmt.Errorf("names: %w", err)
		}
		s.room = room.New(c.room)
		broker = s.room
	}
	store := s.names
	s.metrics = metrics.New(s.room)
	if s.node != nil {
		s.node.OnRelay(s.metrics.WatchCluster(s.node))
	}
	s.host = sshapp.New(sshapp.Config{Room: broker, Names: store, Admins: admins, Allowed: allowed,
		Limits: c.session, Logger: log, Observer: s.metrics,
		NewNamesPerHour: c.newNames, LimitLoopback: c.limits.LimitLoopback})
	if cn, ok := store.(*cluster.Names); ok {
		cn.OnBan(s.host.Enforce)
	}
	s.ssh, err = sshd.New(sshd.Config{HostKey: hostKey, Logger: log, Limits: c.limits, Observer: s.metrics,
		KeyOK: s.host.KeyOK, GuestOK: s.host.GuestOK, Handler: s.host.Serve, ProxyFrom: c.proxyFrom})
	if err != nil {
		store.Close()
		if s.node != nil {
			s.node.Close("")
		}
		return nil, err
	}
	return s, nil
}

// joinCluster links this node to the others on NATS: the room is the
// cluster's, and so are the names. On the first start of a cluster (no
// name bound in it yet) the node's own database is copied in.
func (s *server) joinCluster(dir string) error {
	c := s.c
	name := c.nodeName
	if name == "" {
		name, _ = os.Hostname()
	}
	node, err := cluster.Start(cluster.Config{Link: c.nats, Name: name,
		Replicas: c.natsReplicas, Room: c.room, Log: s.log})
	if err != nil {
		return err
	}
	store, err := cluster.OpenNames(node.JetStream(), c.natsReplicas)
	if err != nil {
		node.Close("")
		return err
	}
	node.OnReconnect(store.Rewatch)
	if empty, err := store.Empty(); err == nil && empty {
		if _, statErr := os.Stat(filepath.Join(dir, names.DBFile)); statErr == nil {
			local, err := names.Open(dir)
			if err == nil {
				n, err := store.Import(local)
				local.Close()
				if err != nil {
					s.log.Warn("importing this node's names into the cluster", "err", err)
				} else {
					s.log.Info("imported this node's names into the cluster", "names", n)
				}
			}
		}
	}
	s.log.Info("cluster", "nats", c.nats.URLs, "node", name, "id", node.ID())
	s.node, s.room, s.names = node, node.Room(), store
	return nil
}

// listen takes the socket systemd passed (socket activation keeps
// connections queued while the service restarts), or listens itself.
func (s *server) listen() (net.Listener, error) {
	l, err := s.sd.Listener()
	switch {
	case err != nil:
		return nil, err
	case l != nil:
		s.log.Info("socket from systemd", "addr", l.Addr().String())
		return l, nil
	}
	if l, err = net.Listen("tcp", s.c.listen); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	return l, nil
}

// serveMetrics serves /metrics (and pprof, if asked) until stop is called.
func (s *server) serveMetrics() (stop func(), err error) {
	ml, err := net.Listen("tcp", s.c.metricsListen)
	if err != nil {
		return nil, fmt.Errorf("metrics-listen: %w", err)
	}
	s.log.Info("metrics", "addr", ml.Addr().String(), "pprof", s.c.pprof)
	hs := &http.Server{Handler: s.metrics.Handler(s.c.pprof), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ml)
	return func() { hs.Close() }, nil
}

// run serves on l, answers SIGHUP and the periodic flush, and on SIGINT or
// SIGTERM shuts down.
func (s *server) run(l net.Listener) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- s.ssh.Serve(l) }()
	if err := s.sd.Notify("READY=1\nSTATUS=serving on " + l.Addr().String()); err != nil {
		s.log.Warn("systemd", "err", err)
	}
	if every := s.sd.WatchdogInterval(); every > 0 {
		go watchdog(ctx, s.sd, every, s.room)
	}
	go s.expireNames(ctx)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	flush := time.NewTicker(30 * time.Second)
	defer flush.Stop()
	for {
		select {
		case err := <-served:
			return err
		case <-ctx.Done():
			stop() // a second signal kills at once
			return s.shutdown(served)
		case <-hup:
			s.reload()
		case <-flush.C:
			if err := s.names.Flush(); err != nil {
				s.log.Error("names", "err", err)
			}
		}
	}
}

// expireNames releases the names unused for --name-ttl, a minute after
// start and then every hour, in its own goroutine: the store deletes in
// small batches, so joins wait for one batch at most.
func (s *server) expireNames(ctx context.Context) {
	wait := time.Minute
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = time.Hour
		n, err := s.names.Expire(ctx, time.Now().Add(-s.c.nameTTL))
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error("expiring names", "err", err)
		case n > 0:
			s.log.Info("names expired", "released", n, "unused_for", durationString(s.c.nameTTL))
		}
	}
}

// reload reads the key files again; sessions whose key is no longer
// allowed close, and moderators are who the file now says.
func (s *server) reload() {
	allowed, admins, err := loadKeySets(s.c)
	if err != nil {
		s.log.Error("reload", "err", err)
		return
	}
	s.host.SetAdmins(admins)
	s.host.SetAllowed(allowed)
	s.log.Info("reloaded", "allowed", allowed.Len(), "admins", admins.Len())
}

// shutdown tells everyone, closes the room first so that every member hears
// why, then the sessions, within shutdownGrace.
func (s *server) shutdown(served <-chan error) error {
	s.log.Info("shutting down")
	_ = s.sd.Notify("STOPPING=1")
	s.room.Close("The server is shutting down.")
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := s.ssh.Shutdown(ctx); err != nil {
		s.log.Warn("shutdown", "err", err)
	}
	if err := <-served; err != nil && !errors.Is(err, sshd.ErrServerClosed) {
		return err
	}
	s.log.Info("stopped")
	return nil
}

// loadKeySets reads the allow and admin key files named in c (nil when
// none is named).
func loadKeySets(c config) (allowed, admins *keys.KeySet, err error) {
	if c.allowKeys != "" {
		if allowed, err = keys.LoadAuthorizedKeys(c.allowKeys); err != nil {
			return nil, nil, fmt.Errorf("allow-keys: %w", err)
		}
	}
	if c.adminKeys != "" {
		if admins, err = keys.LoadAuthorizedKeys(c.adminKeys); err != nil {
			return nil, nil, fmt.Errorf("admin-keys: %w", err)
		}
	}
	return allowed, admins, nil
}

// watchdog tells systemd the server is alive, every interval, as long as
// the room answers: a server stuck on its own lock is restarted.
func watchdog(ctx context.Context, sd systemd.Manager, every time.Duration, r *room.Room) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.Online()
			_ = sd.Notify("WATCHDOG=1")
		}
	}
}

// versionString is the version and VCS revision this binary was built from.
func versionString() string {
	v := version
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		if v == "" {
			v = "(unknown)"
		}
		return v
	}
	if v == "" {
		v = bi.Main.Version
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if rev != "" {
		v += " " + rev + modified
	}
	return v + " " + bi.GoVersion
}
