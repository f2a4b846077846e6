package tui

import (
	"bytes"
	"fmt"
	"strings"

	"chatroom/room"

	"github.com/charmbracelet/x/ansi"
)

// The people list: everyone online, over the stream, so that anyone can be
// invited in two gestures however many are here. It opens from a click on
// the top bar's count or "+k more", or from /who when the names do not fit
// on one line; a click on a name invites, the wheel and PgUp/PgDn scroll,
// Esc closes. It never takes typing: the input line works as ever.

// people is the list's state while it is open.
type people struct {
	top int // first row of names shown
}

// peopleCell is the width of one name in the list: the longest name, a
// mark and a gap.
const peopleCell = room.MaxNameLen + 3

// peopleGrid is how the list is laid out at the current size: columns of
// names, rows of them under the header.
func (m *model) peopleGrid(l layout) (cols, rows int) {
	return max(m.width/peopleCell, 1), max(l.streamRows()-1, 1)
}

// openPeople opens the list at its start.
func (m *model) openPeople() {
	if m.phase != phaseChat || m.lineMode {
		return
	}
	m.people = &people{}
	m.dirty |= dirtyAll
}

// closePeople closes it, and the stream is drawn again.
func (m *model) closePeople() {
	if m.people != nil {
		m.people = nil
		m.dirty |= dirtyAll
	}
}

// scrollPeople moves the list by n rows (n > 0: down).
func (m *model) scrollPeople(n int) {
	cols, rows := m.peopleGrid(m.layout())
	total := (m.online.Len() + cols - 1) / cols
	top := min(max(m.people.top+n, 0), max(total-rows, 0))
	if top != m.people.top {
		m.people.top = top
		m.dirty |= dirtyStream
	}
}

// drawPeople draws the list over the stream's rows.
func (m *model) drawPeople(b *bytes.Buffer, l layout) {
	m.hits = dropHits(m.hits, hitPerson, hitClose)
	cols, rows := m.peopleGrid(l)
	n := m.online.Len()
	total := (n + cols - 1) / cols
	m.people.top = min(m.people.top, max(total-rows, 0))
	header := fmt.Sprintf(" %d online · ", n)
	if total > rows {
		header += fmt.Sprintf("rows %d-%d of %d · ", m.people.top+1, min(m.people.top+rows, total), total)
	}
	header += "click a name to invite · ~ guest · z away · wheel or PgUp/PgDn scrolls "
	const closeLabel = "[ Esc ]"
	hw := max(m.width-len(closeLabel)-1, 0)
	header = ansi.TruncateWc(header, hw, "…")
	line(b, l.streamTop, m.th.bar+header+strings.Repeat(" ", max(hw-ansi.StringWidthWc(header), 0))+m.th.reset+" "+m.th.key+closeLabel)
	m.hits = append(m.hits, hit{kind: hitClose, row: l.streamTop, x0: hw + 1, x1: m.width})
	for r := range rows {
		var s strings.Builder
		y := l.streamTop + 1 + r
		for c := range cols {
			i := (m.people.top+r)*cols + c
			if i >= n {
				break
			}
			name := m.online.At(i)
			mark, style := m.markOf(name)
			x := c * peopleCell
			s.WriteString(mark + style + name + m.th.reset + strings.Repeat(" ", peopleCell-1-len(name)))
			if name != m.name {
				m.hits = append(m.hits, hit{kind: hitPerson, row: y, x0: x, x1: x + 1 + len(name), name: name})
			}
		}
		line(b, y, s.String())
	}
}

// The people panel: on a wide terminal that has left and right margins
// (DECLRMM, which it says it has when asked at the start), everyone online
// is listed down the right, beside the stream. The stream scrolls between
// margins that leave the panel be, so a message costs the panel nothing.
// A terminal without margins keeps the list behind the top bar.

const (
	panelMinWidth = 110
	panelWidth    = peopleCell + 1 // and a rule on its left
	// askMargins asks whether the terminal has left and right margins;
	// the answer (DECRPM) arrives as input: marginsMsg.
	askMargins = "\x1b[?69$p"
)

// marginsMsg says whether the terminal has left and right margins.
type marginsMsg bool

// hasPanel reports whether the people panel is shown at this size.
func (m *model) hasPanel() bool {
	return m.margins && !m.lineMode && m.phase == phaseChat && m.width >= panelMinWidth
}

// streamWidth is the width the stream's lines are laid out for.
func (m *model) streamWidth() int {
	if m.hasPanel() {
		return m.width - panelWidth
	}
	return m.width
}

// scrollPanel moves the panel's list by n names (n > 0: down).
func (m *model) scrollPanel(n int) {
	rows := m.layout().streamRows() - 1
	top := min(max(m.panelTop+n, 0), max(m.online.Len()-rows, 0))
	if top != m.panelTop {
		m.panelTop = top
		m.dirty |= dirtyPanel
	}
}

// drawPanel draws the people panel, if there is one.
func (m *model) drawPanel(b *bytes.Buffer, l layout) {
	m.hits = dropHits(m.hits, hitPanel)
	if l.panelX < 0 || m.people != nil {
		return
	}
	n := m.online.Len()
	rows := l.streamRows() - 1
	m.panelTop = min(m.panelTop, max(n-rows, 0))
	rule := m.th.key + "│" + m.th.reset
	head := fmt.Sprintf(" %d online", n)
	if n > rows {
		head += fmt.Sprintf(" · %d-%d", m.panelTop+1, min(m.panelTop+rows, n))
	}
	moveTo(b, l.streamTop, l.panelX)
	b.WriteString("\x1b[K" + rule + m.th.bar + ansi.TruncateWc(head, panelWidth-1, "…") + m.th.reset)
	for r := range rows {
		y := l.streamTop + 1 + r
		moveTo(b, y, l.panelX)
		b.WriteString("\x1b[K" + rule)
		i := m.panelTop + r
		if i >= n {
			continue
		}
		name := m.online.At(i)
		mark, style := m.markOf(name)
		b.WriteString(mark + style + name + m.th.reset)
		if name != m.name {
			m.hits = append(m.hits, hit{kind: hitPanel, row: y, x0: l.panelX + 1, x1: l.panelX + 2 + len(name), name: name})
		}
	}
}

// markOf is the mark and style a name has in the people list and panel:
// "~" a guest, "z" someone away (dimmed); mine underlined.
func (m *model) markOf(name string) (mark, style string) {
	st := m.dir.Status(name)
	mark, style = " ", m.th.name(name)
	switch {
	case st.Away:
		mark, style = "z", m.th.quiet
	case st.Guest:
		mark = "~"
	}
	if name == m.name {
		style += m.th.self
	}
	return mark, style
}
