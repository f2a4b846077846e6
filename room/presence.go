package room

import (
	"cmp"
	"slices"
	"strings"
	"time"
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
	list
	seq           uint64    // changes so far
	joins, leaves int       // of which joins and leaves
	at            time.Time // of the last change
}

// Changed is when who is online last changed (zero if nobody ever came).
func (p *Presence) Changed() time.Time {
	if p == nil {
		return time.Time{}
	}
	return p.at
}

// Len is the number of people online.
func (p *Presence) Len() int {
	if p == nil {
		return 0
	}
	return p.n
}

// At is the i-th name in order.
func (p *Presence) At(i int) string {
	k, _ := slices.BinarySearch(p.starts, i+1) // the first chunk starting after i
	k--
	return p.chunks[k][i-p.starts[k]]
}

// Has reports whether name is online.
func (p *Presence) Has(name string) bool {
	if p == nil {
		return false
	}
	return p.has(name)
}

// list is a sorted list of names kept in chunks that are never changed
// once made: a change copies one chunk, so a snapshot copies only the
// chunks' headers. Every join asks for a snapshot; when it copied every
// name, 5,000 people arriving copied 200 MB and fed the collector as much.
type list struct {
	chunks [][]string // each sorted, none empty, in order
	starts []int      // the index of each chunk's first name
	n      int
}

// chunkMax is the most names a chunk holds: a change copies one chunk,
// a snapshot copies n/chunkMax headers.
const chunkMax = 128

// find is the chunk name belongs in, and its place there.
func (l *list) find(name string) (k, i int, found bool) {
	if len(l.chunks) == 0 {
		return 0, 0, false
	}
	// The first chunk whose last name is not before name; past the end,
	// the last chunk.
	k, _ = slices.BinarySearchFunc(l.chunks, name, func(c []string, name string) int {
		return compareNames(c[len(c)-1], name)
	})
	k = min(k, len(l.chunks)-1)
	i, found = slices.BinarySearchFunc(l.chunks[k], name, compareNames)
	return k, i, found
}

func (l *list) has(name string) bool {
	_, _, found := l.find(name)
	return found
}

// insert adds name, reporting whether it was not there yet.
func (l *list) insert(name string) bool {
	if len(l.chunks) == 0 {
		l.chunks, l.n = [][]string{{name}}, 1
		l.index()
		return true
	}
	k, i, found := l.find(name)
	if found {
		return false
	}
	c := l.chunks[k]
	next := slices.Concat(c[:i:i], []string{name}, c[i:])
	repl := [][]string{next}
	if len(next) > chunkMax {
		half := len(next) / 2
		repl = [][]string{next[:half:half], next[half:]}
	}
	l.replace(k, 1, repl)
	l.n++
	return true
}

// remove takes name out, reporting whether it was there.
func (l *list) remove(name string) bool {
	k, i, found := l.find(name)
	if !found {
		return false
	}
	c := l.chunks[k]
	next := slices.Concat(c[:i:i], c[i+1:])
	from, count := k, 1
	// A chunk that shrank joins a neighbour, so that the chunks stay few
	// after many leave.
	switch {
	case len(next) >= chunkMax/4:
	case k+1 < len(l.chunks) && len(next)+len(l.chunks[k+1]) <= chunkMax/2:
		next, count = slices.Concat(next, l.chunks[k+1]), 2
	case k > 0 && len(next)+len(l.chunks[k-1]) <= chunkMax/2:
		next, from, count = slices.Concat(l.chunks[k-1], next), k-1, 2
	}
	var repl [][]string
	if len(next) > 0 {
		repl = [][]string{next}
	}
	l.replace(from, count, repl)
	l.n--
	return true
}

// replace puts repl in place of count chunks from k, in new slices: a
// snapshot may share the old ones.
func (l *list) replace(k, count int, repl [][]string) {
	l.chunks = slices.Concat(l.chunks[:k:k], repl, l.chunks[k+count:])
	l.index()
}

func (l *list) index() {
	l.starts = make([]int, len(l.chunks))
	n := 0
	for k, c := range l.chunks {
		l.starts[k] = n
		n += len(c)
	}
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
	now           func() time.Time
	at            time.Time // of the last change
	names         list
	seq           uint64 // changes so far
	joins, leaves int
	snapshot      *Presence
	journal       []change // the last journalLen changes, oldest first
	next          chan struct{}
}

func newPresence(now func() time.Time) *presence {
	return &presence{now: now, next: make(chan struct{})}
}

func (p *presence) add(name string) {
	if p.names.insert(name) {
		p.changed(change{name: name, join: true})
	}
}

func (p *presence) has(name string) bool { return p.names.has(name) }

// remove takes name off the list; told says the room announced it itself.
func (p *presence) remove(name string, told bool) {
	if p.names.remove(name) {
		p.changed(change{name: name, told: told})
	}
}

func (p *presence) changed(c change) {
	p.seq++
	c.seq = p.seq
	p.at = p.now()
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

// online is the shared snapshot, made when first asked for after a change:
// it shares the list's chunks, which no change alters.
func (p *presence) online() *Presence {
	if p.snapshot == nil {
		p.snapshot = &Presence{list: p.names, seq: p.seq, joins: p.joins, leaves: p.leaves, at: p.at}
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
