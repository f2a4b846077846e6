package tui

import (
	"slices"
	"strings"

	"chatroom/room"
)

// The habits of terminal chat: Up and Down walk the lines you sent, Tab
// completes names and commands.

// historyMax is how many sent lines Up remembers.
const historyMax = 100

// sentLines is what Up and Down walk: the lines sent, oldest first, and
// where the walk is (len(lines) when at the draft being typed).
type sentLines struct {
	lines []string
	at    int
	draft string // what was being typed when the walk began
}

// remember adds a sent line, and ends any walk.
func (h *sentLines) remember(line string) {
	if n := len(h.lines); n == 0 || h.lines[n-1] != line {
		h.lines = append(h.lines, line)
		if len(h.lines) > historyMax {
			h.lines = slices.Delete(h.lines, 0, len(h.lines)-historyMax)
		}
	}
	h.at, h.draft = len(h.lines), ""
}

// walk moves by d (-1: older) from the input line's value, and returns the
// line to show, or false at either end.
func (h *sentLines) walk(d int, value string) (string, bool) {
	to := h.at + d
	if to < 0 || to > len(h.lines) {
		return "", false
	}
	if h.at == len(h.lines) {
		h.draft = value
	}
	h.at = to
	if to == len(h.lines) {
		return h.draft, true
	}
	return h.lines[to], true
}

// complete completes the word before the cursor: a command at the start of
// the line, else a name, most recently active first; pressed again, the
// next match. A name at the start of the line gets ": " after it.
func (m *model) complete() {
	e := &m.input
	if m.completing == nil {
		start := e.wordStart(e.pos)
		prefix := string(e.buf[start:e.pos])
		if prefix == "" {
			return
		}
		var cands []string
		if start == 0 && strings.HasPrefix(prefix, "/") {
			for _, c := range commands {
				if strings.HasPrefix(c.name, prefix) && (!c.moderators || m.dir.Moderator()) {
					cands = append(cands, c.name+" ")
				}
			}
		} else {
			suffix := " "
			if start == 0 {
				suffix = ": "
			}
			for _, name := range m.namesByActivity() {
				if strings.HasPrefix(name, prefix) && name != m.name {
					cands = append(cands, name+suffix)
				}
			}
		}
		if len(cands) == 0 {
			return
		}
		m.completing = &completion{start: start, cands: cands, i: -1}
	}
	c := m.completing
	c.i = (c.i + 1) % len(c.cands)
	e.cut(c.start, e.pos)
	e.insert(c.cands[c.i])
}

// completion is a Tab completion in progress: where the word starts, the
// candidates, and which is shown.
type completion struct {
	start int
	cands []string
	i     int
}

// namesByActivity is who is online: those who spoke most recently first,
// then everyone else by name.
func (m *model) namesByActivity() []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range m.tabs {
		for i := len(t.items) - 1; i >= 0 && len(seen) < 50; i-- {
			ev := t.items[i].ev
			if ev == nil || ev.Kind != room.Message && ev.Kind != room.PrivateMessage || seen[ev.From] {
				continue
			}
			seen[ev.From] = true
			if m.online.Has(ev.From) {
				out = append(out, ev.From)
			}
		}
	}
	for i := range m.online.Len() {
		if name := m.online.At(i); !seen[name] {
			out = append(out, name)
		}
	}
	return out
}
