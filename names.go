package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"chatroom/cluster"
	"chatroom/names"
)

// namesCommand is "chatroom names list" and "chatroom names release NAME":
// the operator's view of who owns which name. It is safe while a server
// runs: the database takes one writer at a time, and the server reads it
// on every lookup. With --nats it works on the cluster's names.
func namesCommand(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var c config
	fs := flag.NewFlagSet("chatroom names", flag.ContinueOnError)
	fs.SetOutput(stderr)
	for _, s := range settings(&c, getenv) {
		if s.name == "data-dir" || strings.HasPrefix(s.name, "nats") {
			if v := getenv(s.env()); v != "" {
				s.value.Set(v)
			}
			fs.Var(s.value, s.name, s.help)
		}
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage:\n  chatroom names list [--data-dir DIR | --nats URLS]\n  chatroom names release NAME [--data-dir DIR | --nats URLS]\n")
	}
	if len(args) == 0 {
		fs.Usage()
		return 2
	}
	verb := args[0]
	// Flags may come before or after the name.
	var pos []string
	for rest := args[1:]; ; {
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		pos, rest = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	var st names.Store
	var err error
	if c.nats.URLs != "" {
		st, err = cluster.DialNames(c.nats, c.natsReplicas)
	} else {
		st, err = names.Open(filepath.Clean(c.dataDir))
	}
	if err != nil {
		fmt.Fprintln(stderr, "chatroom names:", err)
		return 1
	}
	defer st.Close()
	switch {
	case verb == "list" && len(pos) == 0:
		list, err := st.List()
		if err != nil {
			fmt.Fprintln(stderr, "chatroom names:", err)
			return 1
		}
		fmt.Fprintf(stdout, "%-24s  %-51s  %-20s  %s\n", "NAME", "KEY", "FIRST SEEN", "LAST SEEN")
		for _, b := range list {
			fmt.Fprintf(stdout, "%-24s  %-51s  %-20s  %s\n", b.Name, b.Fingerprint,
				b.FirstSeen.Format(time.DateTime), b.LastSeen.Format(time.DateTime))
		}
		return 0
	case verb == "release" && len(pos) == 1:
		name := pos[0]
		found, err := st.Release(name)
		switch {
		case err != nil:
			fmt.Fprintln(stderr, "chatroom names:", err)
			return 1
		case !found:
			fmt.Fprintf(stderr, "chatroom names: %q belongs to no key\n", name)
			return 1
		}
		fmt.Fprintf(stdout, "released %s\n", name)
		return 0
	}
	fs.Usage()
	return 2
}
