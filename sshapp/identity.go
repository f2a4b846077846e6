package sshapp

import (
	"fmt"
	"net"
	"time"

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
// to the person's next key. With a yes it gives the session the name's
// owner as it read it (an *ownerRead), so that joining with that name a
// moment later does not read it again.
func (h *Host) KeyOK(user string, key gossh.PublicKey) (bool, any) {
	if set := h.allowed.Load(); set != nil && !set.Contains(key) {
		return false, nil
	}
	b, ok, err := h.names.Owner(user)
	if err != nil {
		h.log.Error("reading a name's owner", "name", user, "err", err)
		return false, nil
	}
	if ok && !keys.SameKey(b.Key, key) {
		return false, nil
	}
	return true, &ownerRead{name: user, b: b, bound: ok, at: time.Now()}
}

// ownerRead is a name's owner as read at a moment. It says nothing of who
// the session is: only of the name.
type ownerRead struct {
	name  string
	b     names.Binding
	bound bool
	at    time.Time
}

// ownerReadFor is how long after it was read a name's owner is taken for
// the join that follows authentication, rather than read again. A
// release of the name (chatroom names release) within this moment counts
// as if it came just after the join.
const ownerReadFor = 2 * time.Second

// GuestOK lets people in without a key, unless only listed keys may connect.
func (h *Host) GuestOK(string) bool { return h.allowed.Load() == nil }

// allowedKey reports whether id may be here under the allow list as it is now.
func (h *Host) allowedKey(id identity) bool {
	set := h.allowed.Load()
	return set == nil || set.Contains(id.key)
}

// SetAllowed replaces the keys that may connect (nil: anyone) and closes
// every session whose key is no longer in it, in the room or on the join
// screen; everyone else stays.
func (h *Host) SetAllowed(set *keys.KeySet) {
	h.allowed.Store(set)
	if set == nil {
		return
	}
	gone := h.seats.matching(func(st *seat) bool { return !set.Contains(st.id.key) })
	h.close(gone, reason.NotAllowed, reason.NotAllowed.Text())
}

// Enforce closes the sessions here that ban b covers: a ban made on
// another node of a cluster reaches this one through its names store.
func (h *Host) Enforce(b names.Ban) {
	why := "banned"
	if b.By != "" {
		why += " by " + b.By
	}
	if b.Reason != "" {
		why += ": " + b.Reason
	}
	hit := h.seats.matching(func(o *seat) bool { return !h.moderator(o.id) && h.covers(b, o.id) })
	h.close(hit, reason.Banned, why)
}

// SetAdmins replaces the moderators' keys; open sessions see the change at once.
func (h *Host) SetAdmins(set *keys.KeySet) { h.admins.Store(set) }

// close ends these sessions: one in the room is removed from it with why
// (everyone sees it leave, and it is told "You were WHY."), one on the join
// screen is told the same and closed. Each is logged and counted once, as
// it ends (Serve).
func (h *Host) close(sessions []*seat, r reason.Reason, why string) {
	for _, st := range sessions {
		st.end(r, "You were "+why+".")
		if name, m := st.joined(); m != nil {
			h.room.Kick(name, why)
		}
	}
}

// banned says why this person may not come in, if they may not.
func (h *Host) banned(id identity) (string, bool) {
	bans, err := h.names.Banned(id.fp, banAddr(id.addr))
	if err != nil {
		// Fail closed: who is banned cannot be told.
		h.log.Error("reading the bans", "err", err)
		return "The server cannot read its ban list just now; try again in a moment.", true
	}
	for _, b := range bans {
		if h.covers(b, id) {
			return reason.Banned.Text(banTerms(b)), true
		}
	}
	return "", false
}

// covers says whether ban b keeps id out. A ban on a key holds wherever
// the key goes, and also keeps out guests from the address it was banned
// from (so that dropping the key is no way back in). A ban on an address
// keeps out everyone from it, with a key or not, unless the key is on the
// allow list or a moderator's (so that a throwaway key is no way back in
// either). Addresses are IPv4 addresses or IPv6 /64s.
func (h *Host) covers(b names.Ban, id identity) bool {
	addr := banAddr(id.addr)
	switch {
	case b.Fingerprint != "" && b.Fingerprint == id.fp:
		return true
	case b.Fingerprint != "":
		return id.guest() && b.Addr != "" && b.Addr == addr
	case b.Addr == "" || b.Addr != addr:
		return false
	}
	if id.guest() {
		return true
	}
	trusted := h.allowed.Load().Contains(id.key) || h.moderator(id)
	return !trusted
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
