package sshapp

import (
	"errors"
	"sync"
	"time"

	"chatroom/keys"
	"chatroom/names"
	"chatroom/room"

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

func (d *directory) all() []*entry {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*entry, 0, len(d.entries))
	for _, e := range d.entries {
		out = append(out, e)
	}
	return out
}

// seat is one session's place: it is the tui.Directory the session sees,
// and it remembers whom it let into the room so that it can take them out.
type seat struct {
	h      *Host
	id     identity
	log    *slog.Logger
	name   string
	member room.Member
}

var errSaving = errors.New("The server could not save your name; try again in a moment.")

// Join enters the room as name. A name owned by a key is only for that key;
// a key that joins with a free name comes to own it, saved before the
// person is let in.
func (st *seat) Join(name string) (room.Member, error) {
	h := st.h
	if b, ok := h.names.Owner(name); ok && !keys.SameKey(b.Key, st.id.key) {
		return nil, ownedError(name)
	}
	mem, err := h.room.Join(name, st.id.fp)
	if err != nil {
		return nil, err
	}
	if !st.id.guest() {
		if err := h.names.Claim(name, st.id.key); err != nil {
			mem.Leave()
			if errors.Is(err, names.ErrOwned) {
				return nil, ownedError(name)
			}
			st.log.Error("saving a name", "name", name, "err", err)
			return nil, errSaving
		}
	}
	st.name, st.member = name, mem
	h.directory.add(&entry{name: name, id: st.id, member: mem, since: time.Now()})
	st.log.Info("joined", "name", name, "took_over", mem.Replaced())
	return mem, nil
}

// leave takes the person out of the room and the directory, and notes when
// their name was last used.
func (st *seat) leave() {
	if st.member == nil {
		return
	}
	st.member.Leave()
	st.h.directory.remove(st.name, st.member)
	if !st.id.guest() {
		st.h.names.Seen(st.name)
	}
}

// Guest reports whether the person online as name has no key.
func (st *seat) Guest(name string) bool {
	e, ok := st.h.directory.get(name)
	return ok && e.id.guest()
}

// Moderator reports whether this person may moderate, now.
func (st *seat) Moderator() bool { return st.h.moderator(st.id) }
