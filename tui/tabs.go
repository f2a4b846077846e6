package tui

import (
	"fmt"
	"slices"
	"strings"

	"chatroom/internal/clean"
	"chatroom/room"
)

// The main room and the private chats are tabs; each keeps its own
// history, scroll position and unread mark.

// tab is the main room or one private chat.
type tab struct {
	chat   room.ChatID // 0 for the main room
	peer   string
	items  []item
	closed bool // the chat ended: read-only
	unread int  // items that arrived while another tab showed
	scroll int  // lines scrolled up from the bottom
	unseen int  // items that arrived while scrolled up
}

func (t *tab) push(it item) {
	if len(t.items) >= 2*historyLen {
		t.items = append(t.items[:0], t.items[len(t.items)-historyLen:]...)
	}
	t.items = append(t.items, it)
}

func (t *tab) title() string {
	if t.chat == 0 {
		return "main"
	}
	return t.peer
}

func (m *model) chatTab(id room.ChatID) *tab {
	for _, t := range m.tabs[1:] {
		if t.chat == id {
			return t
		}
	}
	return nil
}

// openTab finds the open private tab with peer.
func (m *model) openTab(peer string) int {
	for i, t := range m.tabs {
		if i > 0 && t.peer == peer && !t.closed {
			return i
		}
	}
	return -1
}

// dropInvite takes the matching invitations off the banner.
func (m *model) dropInvite(match func(*room.Event) bool) {
	n := len(m.invites)
	m.invites = slices.DeleteFunc(m.invites, match)
	switch {
	case len(m.invites) == n:
	case len(m.invites) == 0:
		m.dirty |= dirtyAll // the banner's row goes back to the stream
	default:
		m.dirty |= dirtyBanner
	}
}

// note adds a line of our own to t.
func (m *model) note(t *tab, alert bool, text string) {
	m.add(t, item{note: &note{text: boundNote(text), alert: alert, at: m.clock()}})
}

// announce puts who came and went in the main room, a line for the joins
// and one for the leaves however many there were.
func (m *model) announce(n room.News) {
	if m.quiet {
		return
	}
	line := func(arrow string, count int, names []string, verb string) string {
		if count == 1 && len(names) == 1 {
			return fmt.Sprintf("%s %s %s", arrow, names[0], verb)
		}
		s := fmt.Sprintf("%s %d people %s", arrow, count, verb)
		if len(names) == 0 {
			return s
		}
		shown := names[:min(len(names), 3)]
		s += ": " + strings.Join(shown, ", ")
		if more := count - len(shown); more > 0 {
			s += fmt.Sprintf(" and %d more", more)
		}
		return s
	}
	main := m.tabs[0]
	if n.JoinedN > 0 {
		m.add(main, item{note: &note{text: line("→", n.JoinedN, n.Joined, "joined"), quiet: true, at: m.clock()}})
	}
	if n.LeftN > 0 {
		m.add(main, item{note: &note{text: line("←", n.LeftN, n.Left, "left"), quiet: true, at: m.clock()}})
	}
}

// boundNote cuts a note to what a message may hold, so that nothing the
// server says to one person (a long /banned) costs more than a message.
func boundNote(s string) string {
	lim := clean.DefaultLimits
	if lines := strings.Split(s, "\n"); len(lines) > lim.Lines {
		s = strings.Join(lines[:lim.Lines-1], "\n") + fmt.Sprintf("\n… and %d more lines", len(lines)-lim.Lines+1)
	}
	if len(s) > lim.Bytes {
		s = strings.ToValidUTF8(s[:lim.Bytes-len("…")], "") + "…"
	}
	return s
}

// add appends it to t and arranges for it to be seen: printed at the bottom
// of the stream if t is showing and scrolled down, else counted as unread.
func (m *model) add(t *tab, it item) {
	t.push(it)
	if m.lineMode {
		m.printLine(t, it)
		return
	}
	if t != m.tabs[m.active] {
		// Who came and went is not worth a visit.
		if !it.quiet() {
			t.unread++
			m.dirty |= dirtyTabs
		}
		return
	}
	if m.people != nil {
		return // under the people list; drawn when it closes
	}
	if t.scroll > 0 {
		// Keep the view where it is; the tab bar counts what is below.
		t.scroll += len(it.lines(m.th, m.streamWidth()))
		if !it.quiet() {
			t.unseen++
			m.dirty |= dirtyTabs
		}
		return
	}
	if m.dirty&(dirtyAll|dirtyStream) != 0 {
		return
	}
	lines := it.lines(m.th, m.streamWidth())
	m.pending = append(m.pending, lines...)
	if lay := m.layout(); len(m.pending) > lay.streamRows() {
		m.dirty |= dirtyStream
	}
}

func (m *model) switchTo(i int) {
	if i < 0 || i >= len(m.tabs) || i == m.active {
		return
	}
	m.active = i
	m.tabs[i].unread = 0
	m.dirty |= dirtyAll
}

// scrollBy moves the active tab's view up (n > 0) or down, within its history.
func (m *model) scrollBy(n int) {
	t := m.tabs[m.active]
	rows := m.layout().streamRows()
	want := max(t.scroll+n, 0)
	// How far up can we go? Count lines until we have enough.
	total := 0
	for i := len(t.items) - 1; i >= 0 && total < want+rows; i-- {
		total += len(t.items[i].lines(m.th, m.streamWidth()))
	}
	want = min(want, max(total-rows, 0))
	if want == t.scroll {
		return
	}
	t.scroll = want
	if t.scroll == 0 {
		t.unseen = 0
	}
	m.dirty |= dirtyStream | dirtyTabs
}

func (m *model) toBottom() {
	t := m.tabs[m.active]
	if t.scroll != 0 {
		t.scroll, t.unseen = 0, 0
		m.dirty |= dirtyStream | dirtyTabs
	}
}
