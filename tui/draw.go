package tui

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// The screen of a chat session:
//
//	row 0           top bar: who is online (names are clickable)
//	row 1           tabs: main, then private chats
//	rows 2..b       the stream, a scroll region (DECSTBM)
//	row h-2         the invitation banner, while one waits
//	row h-1         the input line, its prompt naming where Enter sends
//
// A new message is one pre-rendered line printed at the bottom of the scroll
// region: the terminal scrolls the rest. Other parts are redrawn only when
// they change, and everything for one update leaves in one write.

// dirty says which parts of the screen must be drawn again.
type dirty uint8

const (
	dirtyAll    dirty = 1 << iota // everything, from a clear screen
	dirtyStream                   // the whole scroll region
	dirtyTop
	dirtyTabs
	dirtyInput
	dirtyModes  // mouse reporting was switched
	dirtyBanner // the invitation banner (its time left, say)
	dirtyPanel  // the people panel
)

// Terminal modes the session sets at its start and undoes at its end.
const (
	// The window title is pushed at the start (XTWINOPS 22) and popped at
	// the end, where terminals support it; others ignore both.
	modesOn   = "\x1b[22;0t\x1b[?1049h\x1b[?2004h\x1b[?25h"
	modesOff  = "\x1b[r\x1b[m\x1b[?1000l\x1b[?1006l\x1b[?2004l\x1b[?25h\x1b[?1049l\x1b[23;0t"
	mouseOn   = "\x1b[?1000h\x1b[?1006h"
	mouseOff  = "\x1b[?1000l\x1b[?1006l"
	syncStart = "\x1b[?2026h"
	syncEnd   = "\x1b[?2026l"
)

type hitKind uint8

const (
	hitName hitKind = iota + 1
	hitTab
	hitOK     // the banner's OK: accept
	hitCancel // and Cancel: decline
	hitPeople // the top bar's count or "+k more": opens the people list
	hitPerson // a name in the people list: invites
	hitClose  // closes the people list
	hitPanel  // a name in the people panel: invites
)

// hit is a clickable span of one row.
type hit struct {
	kind   hitKind
	row    int
	x0, x1 int
	name   string
	tab    int
}

// layout places the parts of the chat screen for the current size.
type layout struct {
	tooSmall                bool
	streamTop, streamBottom int // rows of the scroll region, inclusive
	bannerRow               int // the invitation banner's row, or -1
	inputRow                int
	streamWidth             int // columns of the stream: all but the panel's
	panelX                  int // the people panel's first column, or -1
}

func (l layout) streamRows() int { return max(l.streamBottom-l.streamTop+1, 1) }

func (m *model) layout() layout {
	l := layout{streamTop: 2, streamBottom: m.height - 2, bannerRow: -1, inputRow: m.height - 1, streamWidth: m.width, panelX: -1}
	if m.width < minWidth || m.height < minHeight {
		l.tooSmall = true
		return l
	}
	if m.hasPanel() {
		l.panelX = m.width - panelWidth
		l.streamWidth = l.panelX
	}
	if len(m.invites) > 0 {
		l.bannerRow = m.height - 2
		l.streamBottom = l.bannerRow - 1
	}
	return l
}

// draw writes what changed since the last update in one write.
func (m *model) draw() error {
	defer func() {
		m.dirty = 0
		m.pending = m.pending[:0]
	}()
	if m.phase == phaseDone || m.width <= 0 || m.height <= 0 {
		return nil
	}
	b := &m.frame
	if m.dirty&dirtyModes != 0 && !m.lineMode {
		if m.mouse {
			b.WriteString(mouseOn)
		} else {
			b.WriteString(mouseOff)
		}
	}
	switch {
	case m.lineMode:
		m.drawAlerts(b) // the bell before the lines, not in the echo
		m.drawLines(b)
	case m.phase == phaseJoin:
		m.drawJoin(b)
	default:
		m.drawChat(b)
		m.drawAlerts(b)
	}
	if b.Len() == 0 {
		return nil
	}
	_, err := m.out.Write(b.Bytes())
	b.Reset()
	if b.Cap() > 64<<10 {
		m.frame = bytes.Buffer{} // a big redraw does not pin its buffer
	}
	return err
}

// drawAlerts rings the bell if something asked for it, and puts the count
// of unread messages in the window title when it changes. Both are the
// server's own bytes: a message cannot ring or retitle (clean strips its
// controls).
func (m *model) drawAlerts(b *bytes.Buffer) {
	if m.ring {
		b.WriteByte('\a')
		m.ring = false
	}
	if m.lineMode {
		return
	}
	n := 0
	for i, t := range m.tabs {
		if i != m.active {
			n += t.unread
		} else {
			n += t.unseen
		}
	}
	if n == m.titled {
		return
	}
	m.titled = n
	title := "chatroom"
	if n > 0 {
		title = "(" + strconv.Itoa(n) + ") chatroom"
	}
	b.WriteString("\x1b]2;" + title + "\x1b\\")
}

// tooSmall says the window is too small in the most words that fit in
// width: whole words, never a sentence cut off, down to 10 columns.
func tooSmall(width int) string {
	size := fmt.Sprintf("%dx%d", minWidth, minHeight)
	for _, s := range []string{
		"Window too small: chatroom needs " + size + ".",
		"Too small: needs ≥" + size,
		"Need ≥" + size,
	} {
		if ansi.StringWidth(s) <= width {
			return s
		}
	}
	return "≥" + size
}

// moveTo moves the cursor; a column of 0 goes unsaid (it is CUP's
// default), two bytes fewer on every message.
func moveTo(b *bytes.Buffer, row, col int) {
	b.Write(appendMoveTo(b.AvailableBuffer(), row, col))
}

func appendMoveTo(b []byte, row, col int) []byte {
	b = append(b, "\x1b["...)
	b = strconv.AppendInt(b, int64(row+1), 10)
	if col > 0 {
		b = append(b, ';')
		b = strconv.AppendInt(b, int64(col+1), 10)
	}
	return append(b, 'H')
}

// line writes s on row, clearing whatever was there. The row is cleared
// first: erasing after a line that fills the width would erase its last
// character, where the cursor waits to wrap.
func line(b *bytes.Buffer, row int, s string) {
	moveTo(b, row, 0)
	b.WriteString("\x1b[K")
	b.WriteString(s)
	b.WriteString("\x1b[m")
}

func (m *model) drawChat(b *bytes.Buffer) {
	if m.dirty == 0 && len(m.pending) == 0 {
		return
	}
	l := m.layout()
	if l.tooSmall {
		if m.dirty&dirtyAll != 0 {
			b.WriteString("\x1b[r\x1b[m\x1b[H\x1b[2J")
			b.WriteString(ansi.TruncateWc(tooSmall(m.width), m.width, ""))
		}
		return
	}
	if m.dirty&dirtyAll != 0 {
		b.WriteString(syncStart + "\x1b[?25l\x1b[r\x1b[m\x1b[H\x1b[2J")
		if l.panelX >= 0 {
			// Left and right margins on, at the full width: the stream
			// narrows them only while it scrolls (see below).
			fmt.Fprintf(b, "\x1b[?69h\x1b[1;%ds", m.width)
		} else if m.margins {
			b.WriteString("\x1b[?69l")
		}
		m.drawTop(b)
		m.drawTabs(b)
		m.drawStreamOrPeople(b, l)
		m.drawPanel(b, l)
		m.drawBanner(b, l)
		m.drawInput(b, l)
		fmt.Fprintf(b, "\x1b[%d;%dr", l.streamTop+1, l.streamBottom+1)
		m.placeCursor(b, l)
		b.WriteString("\x1b[?25h" + syncEnd)
		return
	}
	switch {
	case m.dirty&dirtyStream != 0:
		m.drawStreamOrPeople(b, l)
		m.dirty |= dirtyPanel // the rows were cleared across it
	case len(m.pending) > 0 && l.panelX >= 0:
		// The stream scrolls between margins that leave the panel be.
		fmt.Fprintf(b, "\x1b[1;%ds", l.streamWidth)
		moveTo(b, l.streamBottom, 0)
		for _, s := range m.pending {
			b.WriteString("\r\n")
			b.WriteString(s)
		}
		fmt.Fprintf(b, "\x1b[1;%ds", m.width)
	case len(m.pending) > 0:
		moveTo(b, l.streamBottom, 0)
		for _, s := range m.pending {
			b.WriteString("\r\n")
			b.WriteString(s)
		}
	}
	if m.dirty&dirtyPanel != 0 {
		m.drawPanel(b, l)
	}
	if m.dirty&dirtyTop != 0 {
		m.drawTop(b)
	}
	if m.dirty&dirtyTabs != 0 {
		m.drawTabs(b)
	}
	if m.dirty&dirtyBanner != 0 {
		m.drawBanner(b, l)
	}
	if m.dirty&dirtyInput != 0 {
		m.drawInput(b, l)
	}
	m.placeCursor(b, l)
}

// drawTop draws who is online, as many names as fit, then "+k more". Names
// and the label are ASCII, so their length is their width.
func (m *model) drawTop(b *bytes.Buffer) {
	m.hits = dropHits(m.hits, hitName, hitPeople)
	n := m.online.Len()
	moveTo(b, 0, 0)
	b.WriteString("\x1b[K") // first: see line
	label := " " + strconv.Itoa(n) + " online "
	if len(label) > m.width {
		label = label[:m.width]
	}
	b.WriteString(m.th.bar + label + m.th.reset)
	m.hits = append(m.hits, hit{kind: hitPeople, row: 0, x0: 0, x1: len(label)})
	x := len(label)
	for i := range n {
		name := m.online.At(i)
		more := 0 // the width of " +k more" if names are left after this one
		if rest := n - i - 1; rest > 0 {
			more = len(" + more") + digits(rest)
		}
		if x+1+len(name)+more > m.width {
			if tail := " +" + strconv.Itoa(n-i) + " more"; x+len(tail) <= m.width {
				b.WriteString(m.th.key + tail + m.th.reset)
				m.hits = append(m.hits, hit{kind: hitPeople, row: 0, x0: x + 1, x1: x + len(tail)})
			}
			break
		}
		style := m.th.name(name)
		if name == m.name {
			style += m.th.self
		}
		b.WriteByte(' ')
		b.WriteString(style + name + m.th.reset)
		m.hits = append(m.hits, hit{kind: hitName, row: 0, x0: x + 1, x1: x + 1 + len(name), name: name})
		x += 1 + len(name)
	}
	b.WriteString("\x1b[m")
}

func digits(n int) int {
	d := 1
	for ; n >= 10; n /= 10 {
		d++
	}
	return d
}

// drawTabs draws the tab bar, with a hint or the scroll state on the right.
func (m *model) drawTabs(b *bytes.Buffer) {
	m.hits = dropHits(m.hits, hitTab)
	labels := make([]string, len(m.tabs))
	widths := make([]int, len(m.tabs))
	for i, t := range m.tabs {
		label := " " + t.title()
		switch {
		case t.closed:
			label += " (ended)"
		case t.unread > 0 && i != m.active:
			label += " " + strconv.Itoa(min(t.unread, 99))
		}
		labels[i] = label + " "
		widths[i] = ansi.StringWidthWc(labels[i])
	}
	// The tabs shown are a run around the active one, which is always
	// drawn; ‹ and › say there are more either side.
	lo, hi := m.active, m.active+1
	fits := func(lo, hi int) bool {
		w := 0
		for _, x := range widths[lo:hi] {
			w += x
		}
		if lo > 0 {
			w++
		}
		if hi < len(widths) {
			w++
		}
		return w <= m.width
	}
	for grew := true; grew; {
		grew = false
		if hi < len(widths) && fits(lo, hi+1) {
			hi, grew = hi+1, true
		}
		if lo > 0 && fits(lo-1, hi) {
			lo, grew = lo-1, true
		}
	}
	var s strings.Builder
	x := 0
	if lo > 0 {
		s.WriteString(m.th.key + "‹" + m.th.reset)
		m.hits = append(m.hits, hit{kind: hitTab, row: 1, x0: 0, x1: 1, tab: lo - 1})
		x = 1
	}
	for i := lo; i < hi; i++ {
		style := ""
		switch {
		case i == m.active:
			style = m.th.tabActive
		case m.tabs[i].unread > 0:
			style = m.th.tabUnread
		}
		label, w := labels[i], widths[i]
		space := m.width - x
		if hi < len(m.tabs) {
			space-- // for ›
		}
		if w > space { // the active tab alone is wider than the window
			label, w = ansi.TruncateWc(label, space, "…"), space
		}
		s.WriteString(style + label + m.th.reset)
		m.hits = append(m.hits, hit{kind: hitTab, row: 1, x0: x, x1: x + w, tab: i})
		x += w
	}
	if hi < len(m.tabs) {
		s.WriteString(m.th.key + "›" + m.th.reset)
		m.hits = append(m.hits, hit{kind: hitTab, row: 1, x0: x, x1: x + 1, tab: hi})
		x++
	}
	hint := " Ctrl+N/P tabs · /help "
	if t := m.tabs[m.active]; t.scroll > 0 {
		hint = " scrolled up · PgDn "
		if t.unseen > 0 {
			hint = fmt.Sprintf(" ↓ %d new · PgDn ", t.unseen)
		}
	}
	if w := ansi.StringWidthWc(hint); x+w <= m.width {
		s.WriteString(strings.Repeat(" ", m.width-x-w) + m.th.key + hint + m.th.reset)
	}
	line(b, 1, s.String())
}

// drawStreamOrPeople draws the people list if it is open, else the stream.
func (m *model) drawStreamOrPeople(b *bytes.Buffer, l layout) {
	if m.people != nil {
		m.drawPeople(b, l)
		return
	}
	m.hits = dropHits(m.hits, hitPerson, hitClose)
	m.drawStream(b, l)
}

// drawStream fills the scroll region from the active tab's history.
func (m *model) drawStream(b *bytes.Buffer, l layout) {
	rows := l.streamRows()
	lines := m.visibleLines(m.tabs[m.active], rows)
	for i := range rows {
		s := ""
		if j := i - (rows - len(lines)); j >= 0 {
			s = lines[j]
		}
		line(b, l.streamTop+i, s)
	}
}

// visibleLines returns up to rows lines ending t.scroll lines above the bottom.
func (m *model) visibleLines(t *tab, rows int) []string {
	need := rows + t.scroll
	var rev [][]string
	total := 0
	for i := len(t.items) - 1; i >= 0 && total < need; i-- {
		ls := t.items[i].lines(m.th, m.streamWidth())
		rev = append(rev, ls)
		total += len(ls)
	}
	all := make([]string, 0, total)
	for i := len(rev) - 1; i >= 0; i-- {
		all = append(all, rev[i]...)
	}
	end := max(len(all)-t.scroll, 0)
	return all[max(end-rows, 0):end]
}

// drawBanner draws the oldest invitation waiting, in one row above the
// input line: who, the buttons, and as much of the rest (time left, keys,
// how many wait) as fits.
func (m *model) drawBanner(b *bytes.Buffer, l layout) {
	m.hits = dropHits(m.hits, hitOK, hitCancel)
	if l.bannerRow < 0 {
		return
	}
	inv := m.invites[0]
	extras := []string{"Alt+Y/Alt+N"} // dropped from the end while the row is too narrow
	if n := len(m.invites); n > 1 {
		extras = append(extras, fmt.Sprintf("1 of %d", n))
	}
	if !inv.Until.IsZero() {
		extras = append(extras, fmt.Sprintf("%ds left", max(int(math.Ceil(inv.Until.Sub(m.clock()).Seconds())), 0)))
	}
	const ok, cancel = "[ OK ]", "[ Cancel ]"
	texts := []string{" " + inv.From + " invites you to a private chat ", " " + inv.From + " invites you ", " " + inv.From + " "}
	for _, text := range texts {
		for n := len(extras); n >= 0; n-- {
			tail := ""
			if n > 0 {
				tail = "  " + strings.Join(extras[:n], " · ")
			}
			tw := ansi.StringWidthWc(text)
			if tw+len(ok)+1+len(cancel)+ansi.StringWidth(tail) > m.width {
				continue
			}
			x := tw
			m.hits = append(m.hits,
				hit{kind: hitOK, row: l.bannerRow, x0: x, x1: x + len(ok)},
				hit{kind: hitCancel, row: l.bannerRow, x0: x + len(ok) + 1, x1: x + len(ok) + 1 + len(cancel)},
			)
			bg := m.th.banner
			pad := strings.Repeat(" ", max(m.width-tw-len(ok)-1-len(cancel)-ansi.StringWidth(tail), 0))
			line(b, l.bannerRow, bg+m.th.tabUnread+text+m.th.reset+m.th.button+ok+m.th.reset+bg+" "+cancel+tail+pad)
			return
		}
	}
	// Narrower than the buttons: the keys still answer.
	line(b, l.bannerRow, m.th.banner+m.th.tabUnread+ansi.TruncateWc(" "+inv.From+" invites you: Alt+Y/Alt+N", m.width, "…"))
}

// promptFor is the input line's prompt: where Enter sends.
func (m *model) promptFor(t *tab) string {
	title := ansi.TruncateWc(t.title(), max(m.width/4, 4), "…")
	if t.closed {
		return title + " (ended) › "
	}
	return title + " › "
}

// drawInput draws the input line, on a background of its own across the
// row, and remembers where the cursor goes.
func (m *model) drawInput(b *bytes.Buffer, l layout) {
	p := m.promptFor(m.tabs[m.active])
	pw := ansi.StringWidthWc(p)
	text, col := m.input.view(max(m.width-pw, 1))
	m.cursorCol = min(pw+col, m.width-1)
	pad := strings.Repeat(" ", max(m.width-pw-ansi.StringWidthWc(text), 0))
	bg := m.th.input
	line(b, l.inputRow, bg+m.th.key+p+m.th.reset+bg+text+pad)
}

func (m *model) placeCursor(b *bytes.Buffer, l layout) {
	moveTo(b, l.inputRow, m.cursorCol)
}

func dropHits(hs []hit, kinds ...hitKind) []hit {
	out := hs[:0]
	for _, h := range hs {
		keep := true
		for _, k := range kinds {
			if h.kind == k {
				keep = false
			}
		}
		if keep {
			out = append(out, h)
		}
	}
	return out
}

// drawJoin draws the join screen: why the name was refused, and a new one.
func (m *model) drawJoin(b *bytes.Buffer) {
	if m.dirty == 0 {
		return
	}
	const label = "  Name: "
	rows := []string{
		m.th.bar + " chatroom " + m.th.reset,
		"",
		"  " + m.th.alert + m.joinErr + m.th.reset,
		"",
	}
	inputRow := min(len(rows), m.height-1)
	if m.dirty&dirtyAll != 0 {
		b.WriteString("\x1b[r\x1b[m\x1b[H\x1b[2J")
		for i, r := range rows[:inputRow] {
			line(b, i, ansi.TruncateWc(r, m.width, ""))
		}
		help := []string{
			"",
			"  " + m.th.key + "1-24 letters, digits, _ - or . starting with a letter or digit." + m.th.reset,
			"  " + m.th.key + "Enter joins · Esc or Ctrl+C leaves" + m.th.reset,
		}
		for i, r := range help {
			if row := inputRow + 1 + i; row < m.height {
				line(b, row, ansi.TruncateWc(r, m.width, ""))
			}
		}
	}
	text, col := m.input.view(max(m.width-len(label), 2))
	line(b, inputRow, label+text)
	moveTo(b, inputRow, min(len(label)+col, m.width-1))
}
