package sshapp

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"chatroom/internal/reason"
	"chatroom/keys"
	"chatroom/names"
	"chatroom/room"
	"chatroom/tui"

	"log/slog"
)

// directory is who is in the room through this server, for /who, /whois
// and moderation.
type directory struct {
	mu      sync.Mutex
	entries map[string]*entry
}

// entry is one person in the room.
type entry struct {
	name   string
	id     identity
	member room.Member
	since  time.Time
	away   atomic.Pointer[string] // why they are away (/away), or nil
}

func (d *directory) add(e *entry) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.entries == nil {
		d.entries = make(map[string]*entry)
	}
	d.entries[e.name] = e
}

// remove forgets name, unless a newer session (a takeover) holds it.
func (d *directory) remove(name string, m room.Member) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e := d.entries[name]; e != nil && e.member == m {
		delete(d.entries, name)
	}
}

func (d *directory) get(name string) (*entry, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.entries[name]
	return e, ok
}

// seats is every chat session this server runs, in the room or not: a ban
// or a key taken off the allow list reaches each of them.
type seats struct {
	mu  sync.Mutex
	all map[*seat]struct{}
}

func (s *seats) add(st *seat) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.all == nil {
		s.all = make(map[*seat]struct{})
	}
	s.all[st] = struct{}{}
}

func (s *seats) remove(st *seat) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.all, st)
}

// matching lists the sessions of the people match picks.
func (s *seats) matching(match func(*seat) bool) []*seat {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*seat
	for st := range s.all {
		if match(st) {
			out = append(out, st)
		}
	}
	return out
}

// seat is one session's place: it is the tui.Directory the session sees,
// and it remembers whom it let into the room so that it can take them out.
type seat struct {
	h    *Host
	id   identity
	log  *slog.Logger
	stop *tui.Stopper // ends the session, wherever it is
	read *ownerRead   // the owner of the name asked for, read at authentication; for the first join

	mu     sync.Mutex // name and member are read by moderators' sessions
	name   string
	member room.Member
}

// end ends the session with why, for the log and metrics, and a line for
// the person; the first reason given wins.
func (st *seat) end(why reason.Reason, text string) {
	st.stop.Stop(tui.Stop{Why: why, Text: text})
}

// joined is the name and member the session has in the room, if any.
func (st *seat) joined() (string, room.Member) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.name, st.member
}

var (
	errSaving  = errors.New("The server could not save your name; try again in a moment.")
	errReading = errors.New("The server cannot read its names just now; try again in a moment.")
)

// owner is the binding of name: as read at authentication, if that was a
// moment ago and this is the first join, else from the store. Joining
// goes on to claim a free name, which the store decides afresh.
func (st *seat) owner(name string) (names.Binding, bool, error) {
	r := st.read
	st.read = nil
	if r != nil && r.name == name && time.Since(r.at) < ownerReadFor {
		return r.b, r.bound, nil
	}
	return st.h.names.Owner(name)
}

// Join enters the room as name. A name owned by a key is only for that key;
// a key that joins with a free name comes to own it, saved before the
// person is let in (unless its address has bound its share of names this
// hour: then it joins with the name unbound, and notice says so). Bans and
// the allow list are checked again first: they may have changed since the
// session began.
func (st *seat) Join(name string) (mem room.Member, notice string, err error) {
	h := st.h
	if err := st.mayStay(); err != nil {
		return nil, "", err
	}
	b, bound, err := st.owner(name)
	if err != nil {
		st.log.Error("reading a name's owner", "name", name, "err", err)
		return nil, "", errReading
	}
	if bound && !keys.SameKey(b.Key, st.id.key) {
		return nil, "", ownedError(name)
	}
	// The binding is saved before anyone sees the join, so that one that
	// fails to save shows nobody a join and a leave.
	created := false
	if !st.id.guest() && !bound {
		if !h.newNames.take(st.id.addr) {
			notice = fmt.Sprintf("%s is yours for this visit only: this address has bound %d new names in the last hour, the most it may. Come back later to keep the name.", name, h.newNames.per)
		} else if created, err = h.names.Claim(name, st.id.key); err != nil || !created {
			h.newNames.giveBack(st.id.addr)
			switch {
			case errors.Is(err, names.ErrOwned):
				return nil, "", ownedError(name)
			case err != nil:
				st.log.Error("saving a name", "name", name, "err", err)
				return nil, "", errSaving
			}
		}
	}
	mem, err = h.room.Join(name, st.id.fp)
	if err != nil {
		if created { // the room said no (someone else online has it): unbind
			if _, err := h.names.Release(name); err != nil {
				st.log.Error("releasing a name the room refused", "name", name, "err", err)
			}
			h.newNames.giveBack(st.id.addr)
		}
		return nil, "", err
	}
	if bound {
		h.names.Seen(name)
	}
	st.mu.Lock()
	st.name, st.member = name, mem
	st.mu.Unlock()
	h.directory.add(&entry{name: name, id: st.id, member: mem, since: time.Now()})
	// A ban given while this person was joining went to every session it
	// found; this one may have been too early to be found, so look again.
	if err := st.mayStay(); err != nil {
		st.leave()
		return nil, "", err
	}
	st.log.Info("joined", "name", name, "took_over", mem.Replaced(), "bound", created || bound)
	return mem, notice, nil
}

// mayStay checks the session against the allow list and the bans as they
// are now, and ends it if it may not stay.
func (st *seat) mayStay() error {
	if !st.h.allowedKey(st.id) {
		st.end(reason.NotAllowed, "You were "+reason.NotAllowed.Text()+".")
		return errors.New("This key is no longer allowed here.")
	}
	if why, banned := st.h.banned(st.id); banned {
		st.end(reason.Banned, "Disconnected: "+why+".")
		return errors.New("You are banned.")
	}
	return nil
}

// leave takes the person out of the room and the directory, and notes when
// their name was last used.
func (st *seat) leave() {
	name, member := st.joined()
	if member == nil {
		return
	}
	member.Leave()
	st.h.directory.remove(name, member)
	if !st.id.guest() {
		st.h.names.Seen(name)
	}
}

// Moderator reports whether this person may moderate, now.
func (st *seat) Moderator() bool { return st.h.moderator(st.id) }

// Identify says who the person online as name is: their key, or, for a
// guest, their name and address.
func (st *seat) Identify(name string) (tui.Ignored, bool) {
	e, ok := st.h.directory.get(name)
	if !ok {
		return tui.Ignored{}, false
	}
	if e.id.guest() {
		return tui.Ignored{Name: name, Addr: banAddr(e.id.addr)}, true
	}
	return tui.Ignored{Key: e.id.fp, Name: name}, true
}

// Ignores is whom this person ignores, as saved with their key.
func (st *seat) Ignores() []tui.Ignored {
	if st.id.guest() {
		return nil
	}
	list, err := st.h.names.Ignores(st.id.fp)
	if err != nil {
		st.log.Error("reading an ignore list", "err", err)
		return nil
	}
	out := make([]tui.Ignored, len(list))
	for i, ig := range list {
		out[i] = tui.Ignored{Key: ig.Fingerprint, Name: ig.Name, Addr: ig.Addr}
	}
	return out
}

// SaveIgnores keeps a key-holder's list with their key; a guest's lasts
// for the visit.
func (st *seat) SaveIgnores(list []tui.Ignored) error {
	if st.id.guest() {
		return nil
	}
	out := make([]names.Ignore, len(list))
	for i, ig := range list {
		out[i] = names.Ignore{Fingerprint: ig.Key, Name: ig.Name, Addr: ig.Addr}
	}
	return st.h.names.SetIgnores(st.id.fp, out)
}

// Status is what the people list marks beside name: a guest, someone away.
func (st *seat) Status(name string) tui.Status {
	e, ok := st.h.directory.get(name)
	if !ok {
		// On another node of a cluster, which says so.
		if loc, cluster := st.h.room.(room.Locator); cluster {
			if l, on := loc.Locate(name); on {
				return tui.Status{Guest: l.ID == "", Away: l.Away != nil}
			}
		}
		return tui.Status{}
	}
	s := tui.Status{Guest: e.id.guest()}
	if e.away.Load() != nil {
		s.Away = true
	}
	return s
}

// SetAway marks this person away, with why, or back (away false).
func (st *seat) SetAway(away bool, why string) {
	name, _ := st.joined()
	e, ok := st.h.directory.get(name)
	if !ok {
		return
	}
	if away {
		e.away.Store(&why)
	} else {
		e.away.Store(nil)
	}
	if loc, cluster := st.h.room.(room.Locator); cluster {
		loc.SetAway(name, away, why)
	}
}
