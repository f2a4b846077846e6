package sshapp

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"chatroom/keys"
	"chatroom/room"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// Who someone is comes from the key the session proved, sess.PublicKey(),
// never from what the public-key handler was offered: a client may offer
// keys it cannot sign with (x/crypto CVE-2024-45337). The handlers below
// only ever say no.

// who is the person behind a session.
type who struct {
	key   gossh.PublicKey // nil for a guest
	fp    string          // the key's fingerprint; "" for a guest
	addr  string          // remote address
	admin bool
}

func (w who) guest() bool { return w.key == nil }

// whoOf reads the session's identity.
func (s *Server) whoOf(sess ssh.Session) who {
	w := who{addr: sess.RemoteAddr().String()}
	if k := sess.PublicKey(); k != nil {
		w.key, w.fp = k, keys.Fingerprint(k)
		w.admin = s.admins.Load().Contains(k)
	}
	return w
}

// publicKeyOK is the public-key handler: a pure check. It turns down keys
// that are not allowed, and a key that does not own the name asked for, so
// that OpenSSH goes on to the person's next key.
func (s *Server) publicKeyOK(ctx ssh.Context, key ssh.PublicKey) bool {
	if !admitted(ctx) {
		return false
	}
	if set := s.allowed.Load(); set != nil && !set.Contains(key) {
		return false
	}
	if s.names != nil {
		if b, ok := s.names.Owner(ctx.User()); ok && !keys.SameKey(b.Key, key) {
			return false
		}
	}
	return true
}

// guestOK is the keyboard-interactive handler: guests come in without a
// key, asked nothing, unless only listed keys may connect.
func (s *Server) guestOK(ctx ssh.Context, _ gossh.KeyboardInteractiveChallenge) bool {
	return admitted(ctx) && s.allowed.Load() == nil
}

// SetAllowed replaces the keys that may connect (nil: anyone) and closes
// the sessions of keys no longer in it; everyone else stays.
func (s *Server) SetAllowed(set *keys.KeySet) {
	s.allowed.Store(set)
	if set == nil {
		return
	}
	for _, in := range s.directory.all() {
		if !set.Contains(in.who.key) {
			s.log.Info("closed", "name", in.name, "key", in.who.fp, "why", "key no longer allowed")
			s.room.Kick(in.name, "removed: this key is no longer allowed")
		}
	}
}

// SetAdmins replaces the moderators' keys; sessions that start from now on
// see the change.
func (s *Server) SetAdmins(set *keys.KeySet) { s.admins.Store(set) }

// banned says why this person may not come in, if they may not: a key by
// its ban, a guest by their address's.
func (s *Server) banned(w who) (string, bool) {
	if s.names == nil {
		return "", false
	}
	fp, addr := w.fp, ""
	if w.guest() {
		addr = banAddr(w)
	}
	b, ok := s.names.Banned(fp, addr)
	if !ok {
		return "", false
	}
	why := "chatroom: you are banned"
	if !b.Until.IsZero() {
		why += " until " + b.Until.UTC().Format("2006-01-02 15:04 MST")
	}
	if b.Reason != "" {
		why += ": " + b.Reason
	}
	return why, true
}

// banAddr is the address a guest is banned by: IPv4, or the IPv6 /64.
func banAddr(w who) string {
	host, _, err := net.SplitHostPort(w.addr)
	if err != nil {
		host = w.addr
	}
	key, _ := addrKey(&net.TCPAddr{IP: net.ParseIP(host)})
	return key
}

// directory is who is in the room through this server, for /who, /whois
// and moderation.
type directory struct {
	mu    sync.Mutex
	names map[string]*present
}

type present struct {
	name   string
	who    who
	member *room.Member
	since  time.Time
}

func (d *directory) add(p *present) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.names == nil {
		d.names = make(map[string]*present)
	}
	d.names[p.name] = p
}

// remove forgets name, unless a newer session (a takeover) holds it.
func (d *directory) remove(name string, m *room.Member) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if p := d.names[name]; p != nil && p.member == m {
		delete(d.names, name)
	}
}

func (d *directory) get(name string) (*present, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.names[name]
	return p, ok
}

func (d *directory) all() []*present {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*present, 0, len(d.names))
	for _, p := range d.names {
		out = append(out, p)
	}
	return out
}

// shortFP is a fingerprint cut for showing: enough to tell keys apart.
func shortFP(fp string) string {
	if len(fp) > 19 {
		return fp[:19] + "…"
	}
	return fp
}

// since says how long ago t was, roughly.
func since(t time.Time) string {
	d := time.Since(t).Round(time.Second)
	switch {
	case d < time.Minute:
		return d.String()
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// parseBanTime reads a ban's length: a Go duration or a number of days
// ("7d").
func parseBanTime(s string) (time.Duration, bool) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(days, "%d", &n); err == nil && n > 0 && fmt.Sprint(n) == days {
			return time.Duration(n) * 24 * time.Hour, true
		}
		return 0, false
	}
	d, err := time.ParseDuration(s)
	return d, err == nil && d > 0
}
