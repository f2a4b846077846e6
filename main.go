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

	"chatroom/keys"
	"chatroom/metrics"
	"chatroom/room"
	"chatroom/sshapp"
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
	if err := serve(c, log, systemd{getenv}); err != nil {
		log.Error("stopped", "err", err)
		return 1
	}
	return 0
}

func serve(c config, log *slog.Logger, sd systemd) error {
	dir, err := filepath.Abs(c.dataDir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	hostKey, err := keys.HostKeyFileOrCreate(filepath.Join(dir, keys.HostKeyFile))
	if err != nil {
		return err
	}
	log.Info("host key", "path", filepath.Join(dir, keys.HostKeyFile), "fingerprint", keys.Fingerprint(hostKey.PublicKey()))

	names, err := keys.OpenStore(dir)
	if err != nil {
		return fmt.Errorf("names: %w", err)
	}
	allowed, admins, err := loadKeySets(c)
	if err != nil {
		return err
	}
	r := room.New(c.room)
	met := metrics.New(r)
	srv, err := sshapp.New(sshapp.Config{Room: r, HostKey: hostKey, Logger: log, Limits: c.limits, Observer: met,
		Names: names, Allowed: allowed, Admins: admins})
	if err != nil {
		return err
	}
	// A socket from systemd (socket activation) keeps connections queued
	// while the service restarts; otherwise, listen ourselves.
	l, err := sd.listener()
	if err != nil {
		return err
	}
	if l == nil {
		if l, err = net.Listen("tcp", c.listen); err != nil {
			return fmt.Errorf("listen: %w", err)
		}
	} else {
		log.Info("socket from systemd", "addr", l.Addr().String())
	}
	if c.metricsListen != "" {
		ml, err := net.Listen("tcp", c.metricsListen)
		if err != nil {
			l.Close()
			return fmt.Errorf("metrics-listen: %w", err)
		}
		log.Info("metrics", "addr", ml.Addr().String(), "pprof", c.pprof)
		hs := &http.Server{Handler: met.Handler(c.pprof), ReadHeaderTimeout: 10 * time.Second}
		go hs.Serve(ml)
		defer hs.Close()
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	if err := sd.notify("READY=1\nSTATUS=serving on " + l.Addr().String()); err != nil {
		log.Warn("systemd", "err", err)
	}
	if every := sd.watchdogInterval(); every > 0 {
		go watchdog(ctx, sd, every, r)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	flush := time.NewTicker(30 * time.Second)
	defer flush.Stop()

wait:
	for {
		select {
		case err := <-served:
			return err
		case <-ctx.Done():
			break wait
		case <-hup:
			// New key files; sessions whose key is no longer allowed close.
			allowed, admins, err := loadKeySets(c)
			if err != nil {
				log.Error("reload", "err", err)
				continue
			}
			srv.SetAdmins(admins)
			srv.SetAllowed(allowed)
			log.Info("reloaded", "allowed", allowed.Len(), "admins", admins.Len())
		case <-flush.C:
			if err := names.Flush(); err != nil {
				log.Error("names", "err", err)
			}
		}
	}
	stop() // a second signal kills at once
	log.Info("shutting down")
	_ = sd.notify("STOPPING=1")
	// The room first, so that every member hears why, then the sessions.
	r.Close("The server is shutting down.")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	if err := names.Flush(); err != nil {
		log.Error("names", "err", err)
	}
	if err := <-served; err != nil && !errors.Is(err, sshapp.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
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
func watchdog(ctx context.Context, sd systemd, every time.Duration, r *room.Room) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.Online()
			_ = sd.notify("WATCHDOG=1")
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
