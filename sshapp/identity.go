package sshapp

import (
	"fmt"
	"net"

	"chatroom/internal/reason"
	"chatroom/keys"
	"chatroom/names"
	"chatroom/sshd"

	gossh "golang.org/x/crypto/ssh"
)

// Who someone is comes from the key the session proved (sshd.Session.Key),
// never from what the public-key handler was offered: a client may offer
// keys it cannot sign with (x/crypto CVE-2024-45337). KeyOK and GuestOK
// only ever say no.

// identity is the person behind a session.
type identity struct {
	key  gossh.PublicKey // nil for a guest
	fp   string          // the key's fingerprint; "" for a guest
	addr net.Addr        // where they connect from
}

func (id identity) guest() bool { return id.key == nil }

// identify reads a session's identity.
func (h *Host) identify(s *sshd.Session) identity {
	id := identity{addr: s.Addr}
	if s.Key != nil {
		id.key, id.fp = s.Key, keys.Fingerprint(s.Key)
	}
	return id
}

// moderator reports whether id is a moderator now: a key removed from the
// admin file stops being one at the next reload, in open sessions too.
func (h *Host) moderator(id identity) bool { return h.admins.Load().Contains(id.key) }

// KeyOK is the public-key check: it turns down keys that are not allowed,
// and a key that does not own the name asked for, so that OpenSSH goes on
// to the person's next key.
func (h *Host) KeyOK(user string, key gossh.PublicKey) bool {
	if set := h.allowed.Load(); set != nil && !set.Contains(key) {
		return false
	}
	if b, ok := h.names.Owner(user); ok && !keys.SameKey(b.Key, key) {
		return false
	}
	return true
}

// GuestOK lets people in without a key, unless only listed keys may connect.
func (h *Host) GuestOK(string) bool { return h.allowed.Load() == nil }

// SetAllowed replaces the keys that may connect (nil: anyone) and closes
// the sessions of keys no longer in it; everyone else stays.
func (h *Host) SetAllowed(set *keys.KeySet) {
	h.allowed.Store(set)
	if set == nil {
		return
	}
	for _, e := range h.directory.all() {
		if !set.Contains(e.id.key) {
			h.log.Info("closed", "name", e.name, "key", e.id.fp, "why", reason.NotAllowed)
			h.obs.Closed(reason.NotAllowed)
			h.room.Kick(e.name, reason.NotAllowed.Text())
		}
	}
}

// SetAdmins replaces the moderators' keys; open sessions see the change at once.
func (h *Host) SetAdmins(set *keys.KeySet) { h.admins.Store(set) }

// banned says why this person may not come in, if they may not: a key by
// its ban, a guest by their address's.
func (h *Host) banned(id identity) (string, bool) {
	fp, addr := id.fp, ""
	if id.guest() {
		addr = banAddr(id.addr)
	}
	b, ok := h.names.Banned(fp, addr)
	if !ok {
		return "", false
	}
	return reason.Banned.Text(banTerms(b)), true
}

// banTerms is how long a ban lasts and why, as the banned person is told.
func banTerms(b names.Ban) string {
	s := ""
	if !b.Until.IsZero() {
		s += " until " + b.Until.UTC().Format("2006-01-02 15:04 MST")
	}
	if b.Reason != "" {
		s += ": " + b.Reason
	}
	return s
}

// banAddr is the address a guest is banned by: IPv4, or the IPv6 /64.
func banAddr(a net.Addr) string {
	key, _ := sshd.AddrKey(a)
	return key
}

// ownedError says a name belongs to another key.
func ownedError(name string) error {
	return fmt.Errorf("%q belongs to another key. If it is yours, connect with that key (ssh -i).", name)
}
