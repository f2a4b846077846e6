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
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"chatroom/keys"
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

// config is everything that can be set from the command line or environment.
type config struct {
	listen  string // address to listen on
	dataDir string // holds the host key and other state
}

// setting is one flag with its environment variable.
type setting struct {
	flag, arg, env, help string
	value                *string
	def, defHelp         string
}

func settings(c *config, getenv func(string) string) []setting {
	dataDef := "./chatroom-data"
	if sd := getenv("STATE_DIRECTORY"); sd != "" {
		// systemd may list several directories; ours is the first.
		dataDef, _, _ = strings.Cut(sd, ":")
	}
	return []setting{
		{"listen", "ADDR", "CHATROOM_LISTEN", "address to listen on", &c.listen, ":2222", ":2222"},
		{"data-dir", "DIR", "CHATROOM_DATA_DIR", "directory for the host key and other state", &c.dataDir, dataDef,
			"$STATE_DIRECTORY (systemd), else ./chatroom-data"},
	}
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var c config
	fs := flag.NewFlagSet("chatroom", flag.ContinueOnError)
	fs.SetOutput(stderr)
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" || a == "--h" {
			fs.SetOutput(stdout) // asked-for help is output, not an error
		}
	}
	showVersion := fs.Bool("version", false, "print the version and exit")
	sets := settings(&c, getenv)
	for _, s := range sets {
		def := s.def
		if v := getenv(s.env); v != "" {
			def = v
		}
		fs.StringVar(s.value, s.flag, def, s.help)
	}
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: chatroom [flags]\n\nA chat server people reach with ssh: ssh -p 2222 alice@host\n\n")
		for _, s := range sets {
			fmt.Fprintf(w, "  --%-16s %s\n  %-18s env %s, default %s\n", s.flag+" "+s.arg, s.help, "", s.env, s.defHelp)
		}
		fmt.Fprintf(w, "  --%-16s %s\n  --%-16s %s\n", "version", "print the version and exit", "help", "print this help and exit")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, "chatroom", versionString())
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "chatroom: unexpected argument %q; see --help\n", fs.Arg(0))
		return 2
	}

	log := slog.New(slog.NewTextHandler(stderr, nil))
	if err := serve(c, log); err != nil {
		log.Error("stopped", "err", err)
		return 1
	}
	return 0
}

func serve(c config, log *slog.Logger) error {
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
	log.Info("host key", "path", filepath.Join(dir, keys.HostKeyFile), "type", hostKey.PublicKey().Type())

	r := room.New(room.Options{})
	srv, err := sshapp.New(sshapp.Config{Room: r, HostKey: hostKey, Logger: log})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	stop() // a second signal kills at once
	log.Info("shutting down")
	// The room first, so that every member hears why, then the sessions.
	r.Close("The server is shutting down.")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	if err := <-served; err != nil && !errors.Is(err, sshapp.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
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
