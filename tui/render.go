package tui

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"chatroom/room"

	"github.com/charmbracelet/x/ansi"
)

// gutter is the width of the time column: "15:04 ".
const gutter = 6

// item is one entry of a tab's stream: an event from the room, shared with
// everyone who saw it, or a note this session wrote for its user alone.
// Every session keeps hundreds of items per tab, so an item is two
// pointers (16 bytes; a note inline would make every item 56).
type item struct {
	ev   *room.Event
	note *note
}

// note is a line a session wrote for its own user; beside an event, it
// marks the event as this person's own or as naming them, drawn apart.
type note struct {
	text  string
	alert bool // it reports a refusal or an error
	quiet bool // it is who came and went
	at    time.Time

	mark  mark
	lines []string // the marked event, drawn for width and th
	width int
	th    *theme
}

// mark says why an event is drawn apart for this person alone.
type mark uint8

const (
	markOwn     mark = iota + 1 // their own message: the name stands out
	markMention                 // a message that names them: in bold
)

// quiet is whether it says who came and went, which marks nothing unread.
func (it item) quiet() bool { return it.note != nil && it.note.quiet }

// lines renders it for a stream width cells wide. Room events come from the
// shared cache; notes are few and rendered each time.
func (it *item) lines(th *theme, width int) []string {
	if it.ev != nil && it.note != nil {
		n := it.note
		if n.th != th || n.width != width {
			n.lines, n.th, n.width = renderMarked(th, it.ev, width, n.mark), th, width
		}
		return n.lines
	}
	if it.ev != nil {
		return sharedLines.get(th, it.ev, width)
	}
	n := it.note
	style := th.notice
	switch {
	case n.alert:
		style = th.alert
	case n.quiet:
		style = th.quiet
	}
	return layoutLines(th, n.at, width, n.text, style, 0, "")
}

// renderMarked draws a message as this person alone sees it: their own
// with the name underlined, one naming them in bold.
func renderMarked(th *theme, ev *room.Event, width int, mk mark) []string {
	if ev.Action {
		return renderEvent(th, ev, width)
	}
	name, text := th.name(ev.From), ""
	switch mk {
	case markOwn:
		name += th.self
	case markMention:
		text = th.tabUnread
	}
	return layoutLines(th, ev.Time, width, ev.From+": "+ev.Text, text, len(ev.From), name)
}

// renderEvent draws a room event as lines of at most width cells.
func renderEvent(th *theme, ev *room.Event, width int) []string {
	switch ev.Kind {
	case room.Message, room.PrivateMessage:
		if ev.Action {
			return layoutLines(th, ev.Time, width, "* "+ev.From+" "+ev.Text, th.notice, 0, "")
		}
		return layoutLines(th, ev.Time, width, ev.From+": "+ev.Text, "", len(ev.From), th.name(ev.From))
	case room.Left:
		text := "← " + ev.From + " left"
		if ev.Reason != "" {
			text += " (" + ev.Reason + ")"
		}
		return layoutLines(th, ev.Time, width, text, th.quiet, 0, "")
	case room.Skipped:
		text := fmt.Sprintf("⋯ %d messages skipped: your connection fell behind", ev.Skipped)
		return layoutLines(th, ev.Time, width, text, th.notice, 0, "")
	default:
		return layoutLines(th, ev.Time, width, ev.Text, th.notice, 0, "")
	}
}

// layoutLines wraps text under a time gutter. Each line of text starts a new
// line; long lines wrap at word boundaries, or anywhere when a word is longer
// than the line. The first nameLen bytes (a name) get nameStyle; style
// applies to the rest.
func layoutLines(th *theme, at time.Time, width int, text, style string, nameLen int, nameStyle string) []string {
	g := gutter
	if th.noTime {
		g = 2 // continuation lines are indented a little
	}
	body := max(width-g, 1)
	var out []string
	for p, para := range strings.Split(text, "\n") {
		orig := para
		para, swapped := protectURLs(para)
		wrapped := strings.Split(ansi.WrapWc(para, body, ""), "\n")
		for i, l := range wrapped {
			if swapped {
				l = strings.ReplaceAll(l, nbHyphen, "-")
			}
			var b strings.Builder
			switch {
			case p == 0 && i == 0 && th.noTime:
			case p == 0 && i == 0:
				b.WriteString(th.time + at.Format("15:04") + th.reset + " ")
			default:
				b.WriteString(strings.Repeat(" ", g))
			}
			l = ansi.TruncateWc(l, body, "")
			if p == 0 && i == 0 && nameLen > 0 {
				n := min(nameLen, len(l))
				b.WriteString(nameStyle + l[:n] + th.reset)
				l = l[n:]
			}
			l = linkify(l, orig)
			if style != "" && l != "" {
				b.WriteString(style + l + th.reset)
			} else {
				b.WriteString(l)
			}
			out = append(out, b.String())
		}
	}
	return out
}

// lineCache holds the rendered lines of recent room events for each width
// and theme, so that a message is laid out once and not once per session.
// It keeps two generations: when the newer fills up the older is dropped,
// which bounds memory without bookkeeping per entry. The few entries
// rendered last are also kept where they are read without the lock: a
// message to a thousand sessions is a thousand lookups of the same few
// keys, from every core at once.
type lineCache struct {
	recent   atomic.Pointer[[recentLines]cached]
	mu       sync.Mutex
	cur, old map[cacheKey][]string
	max      int
}

type cacheKey struct {
	ev    *room.Event
	width int
	th    *theme
}

type cached struct {
	k     cacheKey
	lines []string
}

// recentLines is how many renders are read without the lock: a few
// widths and themes for the last message or two.
const recentLines = 8

var sharedLines = newLineCache(4096)

func newLineCache(max int) *lineCache {
	return &lineCache{cur: make(map[cacheKey][]string), max: max}
}

func (c *lineCache) get(th *theme, ev *room.Event, width int) []string {
	k := cacheKey{ev, width, th}
	if r := c.recent.Load(); r != nil {
		for i := range r {
			if r[i].k == k {
				return r[i].lines
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok := c.cur[k]; ok {
		return l
	}
	l, ok := c.old[k]
	if !ok {
		l = renderEvent(th, ev, width)
		c.remember(cached{k, l})
	}
	if len(c.cur) >= c.max {
		c.old, c.cur = c.cur, make(map[cacheKey][]string, c.max)
	}
	c.cur[k] = l
	return l
}

// remember puts e first among the recent renders. Called with c.mu held.
func (c *lineCache) remember(e cached) {
	var r [recentLines]cached
	if old := c.recent.Load(); old != nil {
		copy(r[1:], old[:])
	}
	r[0] = e
	c.recent.Store(&r)
}
