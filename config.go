package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"chatroom/cluster"
	"chatroom/room"
	"chatroom/sshd"
	"chatroom/tui"
)

// config is everything an operator can set.
type config struct {
	listen        string         // address to listen on, unless systemd passes a socket
	dataDir       string         // holds the host key and other state
	logFormat     string         // text or json
	metricsListen string         // where to serve /metrics; "" for nowhere
	pprof         bool           // serve /debug/pprof/ beside /metrics
	allowKeys     string         // authorized_keys of the only keys that may connect; "" for anyone
	adminKeys     string         // authorized_keys of the moderators
	newNames      int            // names one address may bind per hour; 0: no limit
	nameTTL       time.Duration  // a name unused this long is released
	proxyFrom     []netip.Prefix // balancers that send a PROXY protocol header
	nats          cluster.Link   // NATS servers of a cluster (no URLs: one node alone), and how to reach them
	natsReplicas  int            // servers that keep what the cluster shares
	nodeName      string         // this node's name in the cluster
	limits        sshd.Limits
	session       tui.Limits
	room          room.Options
}

// setting is one flag and its environment variable.
type setting struct {
	group, name, arg, help string
	value                  flag.Value
	def                    string // shown in --help
}

func (s setting) env() string {
	return "CHATROOM_" + strings.ToUpper(strings.ReplaceAll(s.name, "-", "_"))
}

// settings lists every setting with its default, writing into c.
func settings(c *config, getenv func(string) string) []setting {
	dataDef, dataHelp := "./chatroom-data", "$STATE_DIRECTORY (systemd), else ./chatroom-data"
	if sd := getenv("STATE_DIRECTORY"); sd != "" {
		dataDef, _, _ = strings.Cut(sd, ":") // systemd may list several; ours is the first
	}
	d, t, r := sshd.DefaultLimits, tui.DefaultLimits, room.Defaults
	l, sl, o := &c.limits, &c.session, &c.room
	c.listen, c.dataDir, c.logFormat, *l, *sl, *o = ":2222", dataDef, "text", d, t, r
	c.newNames, c.nameTTL, c.natsReplicas = 10, 365*24*time.Hour, 1
	return []setting{
		{"Server", "listen", "ADDR", "address to listen on (ignored when systemd passes a socket)", (*address)(&c.listen), ":2222"},
		{"Server", "data-dir", "DIR", "directory for the host key and other state", (*text)(&c.dataDir), dataHelp},
		{"Server", "log-format", "FORMAT", "log lines as text or json", (*choice)(&c.logFormat), "text"},
		{"Server", "metrics-listen", "ADDR", "serve Prometheus metrics at http://ADDR/metrics", (*optionalAddress)(&c.metricsListen), "off"},
		{"Server", "pprof", "", "also serve /debug/pprof/ on the metrics address", (*boolean)(&c.pprof), "false"},

		{"Cluster", "nats", "URLS", "NATS servers (comma-separated; tls:// for TLS) that link several nodes into one room; see Scaling out in the README", (*text)(&c.nats.URLs), "none: one node alone"},
		{"Cluster", "nats-creds", "FILE", "NATS credentials file", (*text)(&c.nats.Creds), "none"},
		{"Cluster", "nats-ca", "FILE", "PEM file of the authorities that sign the NATS servers' TLS certificates", (*text)(&c.nats.CA), "the system's"},
		{"Cluster", "nats-cert", "FILE", "this node's TLS certificate (PEM), for NATS servers that ask for one", (*text)(&c.nats.Cert), "none"},
		{"Cluster", "nats-key", "FILE", "the key of --nats-cert (PEM)", (*text)(&c.nats.Key), "none"},
		{"Cluster", "nats-replicas", "N", "NATS servers that keep the room's stream and buckets (3 survives losing one of three)", (*count)(&c.natsReplicas), "1"},
		{"Cluster", "node-name", "NAME", "this node's name, shown to moderators by /whois", (*text)(&c.nodeName), "the host name"},

		{"Keys", "allow-keys", "FILE", "only the keys in this authorized_keys file may connect (reread on SIGHUP)", (*text)(&c.allowKeys), "anyone may connect"},
		{"Keys", "admin-keys", "FILE", "the moderators' keys, an authorized_keys file (reread on SIGHUP)", (*text)(&c.adminKeys), "no moderators"},

		{"Names", "new-names-per-hour", "N", "names one address (IPv6: one /64) may bind per hour; past it a new key joins with its name unbound (off: no limit; loopback exempt unless --limit-loopback)", (*limit)(&c.newNames), "10"},
		{"Names", "name-ttl", "DUR", "a name unused this long is released by an hourly sweep", (*duration)(&c.nameTTL), "365d"},

		{"Connections", "proxy-from", "ADDRS", "load balancers (addresses or CIDRs, comma-separated) whose connections open with a PROXY protocol header (v1 or v2) naming the client", (*prefixes)(&c.proxyFrom), "none"},
		{"Connections", "version-timeout", "DUR", "time a new connection has to send its SSH version line", (*duration)(&l.VersionTimeout), d.VersionTimeout.String()},
		{"Connections", "handshake-timeout", "DUR", "time allowed for the SSH handshake", (*duration)(&l.HandshakeTimeout), d.HandshakeTimeout.String()},
		{"Connections", "max-unauthenticated", "N", "connections in their handshake at once (about 18 KiB each)", (*count)(&l.MaxUnauthenticated), itoa(d.MaxUnauthenticated)},
		{"Connections", "early-drop-from", "N", "from this many, new handshakes are dropped at random", (*count)(&l.EarlyDropFrom), itoa(d.EarlyDropFrom)},
		{"Connections", "per-addr-handshakes", "N", "handshakes at once from one address (IPv6: one /64)", (*count)(&l.PerAddrHandshakes), itoa(d.PerAddrHandshakes)},
		{"Connections", "per-addr-connections", "N", "connections open from one address", (*count)(&l.PerAddrConnections), itoa(d.PerAddrConnections)},
		{"Connections", "per-addr-new", "N", "new connections from one address per window", (*count)(&l.PerAddrNew), itoa(d.PerAddrNew)},
		{"Connections", "per-addr-window", "DUR", "the window for per-addr-new and penalties", (*duration)(&l.PerAddrWindow), d.PerAddrWindow.String()},
		{"Connections", "penalty-failures", "N", "failed handshakes in a window that earn a penalty", (*count)(&l.PenaltyFailures), itoa(d.PenaltyFailures)},
		{"Connections", "penalty", "DUR", "first penalty, doubled on repeat up to ten times", (*duration)(&l.Penalty), d.Penalty.String()},
		{"Connections", "limit-loopback", "", "apply the per-address limits to loopback too", (*boolean)(&l.LimitLoopback), "false"},
		{"Connections", "keepalive", "DUR", "how often a silent client is asked for a sign of life", (*duration)(&l.KeepaliveInterval), d.KeepaliveInterval.String()},
		{"Connections", "keepalive-max", "N", "unanswered keepalives that close a connection", (*count)(&l.KeepaliveMax), itoa(d.KeepaliveMax)},
		{"Connections", "shell-timeout", "DUR", "time a connection has to open the chat", (*duration)(&l.ShellTimeout), d.ShellTimeout.String()},
		{"Connections", "write-timeout", "DUR", "a write stuck this long closes the connection", (*duration)(&l.WriteTimeout), d.WriteTimeout.String()},
		{"Connections", "send-buffer", "SIZE", "the kernel's send buffer for each connection: how much a stuck reader can absorb", (*size)(&l.SendBuffer), sizeString(d.SendBuffer)},
		{"Connections", "exit-grace", "DUR", "a connection still open this long after its chat ended is closed", (*duration)(&l.ExitGrace), d.ExitGrace.String()},
		{"Connections", "max-key-size", "SIZE", "largest public key accepted; certificates are never accepted", (*size)(&l.MaxKeySize), sizeString(d.MaxKeySize)},

		{"Sessions", "max-sessions", "N", "chat sessions at once; past it, \"server full\"", (*count)(&l.MaxSessions), itoa(d.MaxSessions)},
		{"Sessions", "max-env", "N", "environment variables a session may send", (*count)(&l.MaxEnv), itoa(d.MaxEnv)},
		{"Sessions", "max-env-size", "SIZE", "size of one environment variable", (*size)(&l.MaxEnvBytes), sizeString(d.MaxEnvBytes)},
		{"Sessions", "input-rate", "SIZE", "input a session may send per second", (*size)(&sl.InputRate), sizeString(t.InputRate)},
		{"Sessions", "input-burst", "SIZE", "input a session may send at once", (*size)(&sl.InputBurst), sizeString(t.InputBurst)},
		{"Sessions", "max-paste", "SIZE", "largest paste; a larger one is dropped", (*size)(&sl.PasteMax), sizeString(t.PasteMax)},
		{"Sessions", "lookup-interval", "DUR", "time between one person's /who, /whois and /banned", (*duration)(&sl.LookupEvery), t.LookupEvery.String()},

		{"Messages", "message-rate", "N", "messages, invitations and commands a person may send per second", (*rate)(&o.MessageRate), fmt.Sprint(r.MessageRate)},
		{"Messages", "message-burst", "N", "messages a person may send at once", (*count)(&o.MessageBurst), itoa(r.MessageBurst)},
		{"Messages", "max-message-size", "SIZE", "size of one message", (*size)(&o.Text.Bytes), sizeString(r.Text.Bytes)},
		{"Messages", "max-message-lines", "N", "lines in one message", (*count)(&o.Text.Lines), itoa(r.Text.Lines)},
		{"Messages", "queue-events", "N", "events waiting for one person (8 bytes each); past it their oldest messages are skipped", (*count)(&o.QueueLen), itoa(r.QueueLen)},
		{"Messages", "invite-ttl", "DUR", "how long an invitation stays open", (*duration)(&o.InviteTTL), r.InviteTTL.String()},
		{"Messages", "decline-wait", "DUR", "how long someone whose invitation was declined waits before inviting that person again", (*duration)(&o.DeclineWait), r.DeclineWait.String()},
		{"Messages", "max-ignores", "N", "people one person may /ignore", (*count)(&sl.MaxIgnores), itoa(t.MaxIgnores)},
	}
}

// parseConfig reads the environment, then the flags. A bad value is a
// one-line error naming the setting; --help prints the usage to stdout and
// returns flag.ErrHelp.
func parseConfig(args []string, getenv func(string) string, stdout io.Writer) (c config, showVersion bool, err error) {
	fs := flag.NewFlagSet("chatroom", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by the caller
	sets := settings(&c, getenv)
	for _, s := range sets {
		if v := getenv(s.env()); v != "" {
			if err := s.value.Set(v); err != nil {
				return c, false, fmt.Errorf("%s: %q: %w", s.env(), v, err)
			}
		}
		fs.Var(s.value, s.name, s.help)
	}
	fs.BoolVar(&showVersion, "version", false, "print the version and exit")
	fs.Usage = func() {}
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		usage(stdout, sets)
		return c, false, err
	case err != nil:
		return c, false, fmt.Errorf("%w; see --help", err)
	}
	if fs.NArg() > 0 {
		return c, false, fmt.Errorf("unexpected argument %q; see --help", fs.Arg(0))
	}
	return c, showVersion, nil
}

func usage(w io.Writer, sets []setting) {
	fmt.Fprintf(w, "Usage: chatroom [flags]\n\nA chat server people reach with ssh: ssh -p 2222 alice@host\n")
	fmt.Fprintf(w, "Every flag can also be set by its environment variable; flags win.\n")
	group := ""
	for _, s := range sets {
		if s.group != group {
			group = s.group
			fmt.Fprintf(w, "\n%s:\n", group)
		}
		form := s.name + " " + s.arg
		if _, ok := s.value.(*boolean); ok {
			form = s.name + "[=true|false]" // a bool flag takes no separate value
		}
		fmt.Fprintf(w, "  --%-28s %s\n  %-30s env %s, default %s\n", form, s.help, "", s.env(), s.def)
	}
	fmt.Fprintf(w, "\n  --%-28s %s\n  --%-28s %s\n", "version", "print the version and exit", "help", "print this help and exit")
	fmt.Fprintf(w, "\nDUR is a Go duration (90s, 10m); SIZE is bytes with an optional KiB or MiB (64KiB).\n")
}

func itoa(n int) string { return strconv.Itoa(n) }

// The flag.Value types behind the settings.
type (
	text            string
	address         string
	optionalAddress string
	choice          string // text or json
	count           int
	limit           int // a count, or 0 (also "off") for no limit
	size            int
	duration        time.Duration
	boolean         bool
	rate            float64
	prefixes        []netip.Prefix
)

// durationString shows whole days as days.
func durationString(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	return d.String()
}

var errPositive = errors.New("must be more than zero")

func (v *text) String() string     { return string(*v) }
func (v *text) Set(s string) error { *v = text(s); return nil }

func (v *prefixes) String() string {
	var ss []string
	for _, p := range *v {
		ss = append(ss, p.String())
	}
	return strings.Join(ss, ",")
}

// Set takes addresses and CIDRs; an address is a prefix of its full length.
func (v *prefixes) Set(s string) error {
	*v = nil
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" || f == "none" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return fmt.Errorf("%q is not an address or a CIDR (like 10.0.0.5 or 10.0.0.0/24)", f)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		*v = append(*v, p.Masked())
	}
	return nil
}

func (v *address) String() string { return string(*v) }
func (v *address) Set(s string) error {
	if _, _, err := net.SplitHostPort(s); err != nil {
		return errors.New("not an address (like :2222 or 127.0.0.1:2222)")
	}
	*v = address(s)
	return nil
}

func (v *optionalAddress) String() string { return string(*v) }
func (v *optionalAddress) Set(s string) error {
	if s == "" || s == "off" {
		*v = ""
		return nil
	}
	return (*address)(v).Set(s)
}

func (v *choice) String() string { return string(*v) }
func (v *choice) Set(s string) error {
	if s != "text" && s != "json" {
		return errors.New("not text or json")
	}
	*v = choice(s)
	return nil
}

func (v *count) String() string { return strconv.Itoa(int(*v)) }
func (v *count) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("not a whole number")
	}
	if n <= 0 {
		return errPositive
	}
	*v = count(n)
	return nil
}

func (v *limit) String() string {
	if *v == 0 {
		return "off"
	}
	return strconv.Itoa(int(*v))
}
func (v *limit) Set(s string) error {
	n, err := strconv.Atoi(s)
	if s == "off" {
		n, err = 0, nil
	}
	if err != nil || n < 0 {
		return errors.New("not a whole number, or off")
	}
	*v = limit(n)
	return nil
}

func (v *size) String() string { return sizeString(int(*v)) }
func (v *size) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*v = size(n)
	return nil
}

func (v *duration) String() string { return durationString(time.Duration(*v)) }
func (v *duration) Set(s string) error {
	d, err := time.ParseDuration(s)
	if days, ok := strings.CutSuffix(s, "d"); ok { // days, which Go's durations lack
		n, nerr := strconv.Atoi(days)
		d, err = time.Duration(n)*24*time.Hour, nerr
	}
	if err != nil {
		return errors.New("not a duration (like 90s, 10m or 365d)")
	}
	if d <= 0 {
		return errPositive
	}
	*v = duration(d)
	return nil
}

func (v *boolean) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *boolean) IsBoolFlag() bool { return true }
func (v *boolean) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("not true or false")
	}
	*v = boolean(b)
	return nil
}

func (v *rate) String() string { return strconv.FormatFloat(float64(*v), 'g', -1, 64) }
func (v *rate) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return errors.New("not a number")
	}
	if f <= 0 {
		return errPositive
	}
	*v = rate(f)
	return nil
}

// parseSize reads "4096", "64KiB", "1MiB" (also K, KB, M, MB as binary).
func parseSize(s string) (int, error) {
	num, mult := strings.TrimSpace(s), 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"KiB", 1 << 10}, {"KB", 1 << 10}, {"K", 1 << 10}, {"MiB", 1 << 20}, {"MB", 1 << 20}, {"M", 1 << 20}, {"B", 1}} {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return 0, errors.New("not a size (like 4096, 64KiB or 1MiB)")
	}
	if n <= 0 {
		return 0, errPositive
	}
	if n > (1<<31)/mult {
		return 0, errors.New("too large")
	}
	return n * mult, nil
}

func sizeString(n int) string {
	switch {
	case n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + "MiB"
	case n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n)
}
