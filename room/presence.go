package room

import (
	"cmp"
	"slices"
	"strings"
)

// Who is online is not news sent to every member: with N people that is N
// events for every join, N² for a crowd arriving. The room keeps one
// sorted list and a short journal of who came and went; a session reads
// them when it draws. A change raises each member's flag and wakes it
// (Ready) once; the member wakes again only after it has read the news
// (NewsRead), so in a crowd arriving each session wakes a few times a
// second, not once per arrival, and no channel is shared by everyone.

// journalLen is how many joins and leaves the journal keeps by name; a
// session further behind than that is told how many, not who.
const journalLen = 256

// Presence is who is online, sorted. A Presence never changes once made, so
// it is shared by every session that draws it.
type Presence struct {
	names         []string
	seq           uint64 // changes so far
	joins, leaves int    // of which joins and leaves
}

// Len is the number of people online.
func (p *Presence) Len() int {
	if p == nil {
		return 0
	}
	return len(p.names)
}

// At is the i-th name in order.
func (p *Presence) At(i int) string { return p.names[i] }

// Has reports whether name is online.
func (p *Presence) Has(name string) bool {
	if p == nil {
		return false
	}
	_, found := slices.BinarySearch(p.names, name)
	return found
}

// News is what changed in who is online since a point.
type News struct {
	Online *Presence // who is online now
	// Joined and Left name who came and went, oldest first: at most
	// NewsNames of each, from the last journalLen changes. JoinedN and
	// LeftN count them all.
	Joined, Left   []string
	JoinedN, LeftN int
	Next           <-chan struct{} // closed at the next change
}

// change is one entry of the journal.
type change struct {
	seq  uint64
	name string
	join bool
	told bool // told as an event of its own (a kick): not news again
}

// presence is the room's list and journal. Guarded by Room.mu.
type presence struct {
	names         []string // sorted
	seq           uint64   // changes so far
	joins, leaves int
	snapshot      *Presence
	journal       []change // the last journalLen changes, oldest first
	next          chan struct{}
}

func newPresence() *presence { return &presence{next: make(chan struct{})} }

func (p *presence) add(name string) {
	i, _ := slices.BinarySearchFunc(p.names, name, compareNames)
	p.names = slices.Insert(p.names, i, name)
	p.changed(change{name: name, join: true})
}

func (p *presence) has(name string) bool {
	_, ok := slices.BinarySearchFunc(p.names, name, compareNames)
	return ok
}

// remove takes name off the list; told says the room announced it itself.
func (p *presence) remove(name string, told bool) {
	i, ok := slices.BinarySearchFunc(p.names, name, compareNames)
	if !ok {
		return
	}
	p.names = slices.Delete(p.names, i, i+1)
	p.changed(change{name: name, told: told})
}

func (p *presence) changed(c change) {
	p.seq++
	c.seq = p.seq
	switch {
	case c.join:
		p.joins++
	case !c.told:
		p.leaves++
	}
	p.snapshot = nil
	if len(p.journal) == journalLen {
		p.journal = append(p.journal[:0], p.journal[1:]...)
	}
	p.journal = append(p.journal, c)
}

// online is the shared snapshot, made when first asked for after a change.
func (p *presence) online() *Presence {
	if p.snapshot == nil {
		p.snapshot = &Presence{names: slices.Clone(p.names), seq: p.seq, joins: p.joins, leaves: p.leaves}
	}
	return p.snapshot
}

// NewsNames is how many names News gives of those who joined, and of
// those who left: a line says who, and how many more.
const NewsNames = 8

// news is what changed since the snapshot since (nil: since the start).
// Every session reads it after every crowd that comes or goes, so it costs
// a search of the journal and at most NewsNames names of each kind.
func (p *presence) news(since *Presence) News {
	n := News{Online: p.online()}
	if since == nil {
		since = &Presence{}
	}
	n.JoinedN, n.LeftN = p.joins-since.joins, p.leaves-since.leaves
	from, _ := slices.BinarySearchFunc(p.journal, since.seq+1, func(c change, seq uint64) int {
		return cmp.Compare(c.seq, seq)
	})
	for _, c := range p.journal[from:] {
		switch {
		case c.told:
		case c.join && len(n.Joined) < NewsNames:
			n.Joined = append(n.Joined, c.name)
		case !c.join && len(n.Left) < NewsNames:
			n.Left = append(n.Left, c.name)
		}
		if len(n.Joined) == NewsNames && len(n.Left) == NewsNames {
			break
		}
	}
	return n
}

// compareNames orders names as people read them (alice, Bob, carol) and
// still tells alice from Alice.
func compareNames(a, b string) int {
	if c := strings.Compare(strings.ToLower(a), strings.ToLower(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}
