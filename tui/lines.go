package tui

import (
	"bytes"
	"fmt"
	"strings"

	"chatroom/room"

	"github.com/charmbracelet/x/ansi"
)

// Line mode is the chat for a terminal that cannot draw (TERM=dumb): no
// alternate screen, no cursor moves, no mouse, no colours. What arrives is
// printed a line at a time, private chats tagged "[bob]"; what is typed is
// echoed as a terminal's own line discipline would, after a prompt that
// names where Enter sends. The commands are the same; Ctrl+N and Ctrl+P
// change where Enter sends.

// lineOut is a line waiting to be printed, and whether it is a message.
type lineOut struct {
	text string
	msg  bool
}

// isDumb reports whether env's TERM asks for line mode.
func isDumb(env []string) bool {
	term := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "TERM="); ok {
			term = v
		}
	}
	return term == "dumb"
}

// printLine queues it, from tab t, to be printed.
func (m *model) printLine(t *tab, it item) {
	var text string
	msg := false
	switch {
	case it.ev == nil:
		text = it.note.at.Format("15:04") + " " + it.note.text
	case it.ev.Kind == room.Skipped:
		text = fmt.Sprintf("(%d messages skipped)", it.ev.Skipped)
	default:
		ev := it.ev
		msg = ev.Kind == room.Message || ev.Kind == room.PrivateMessage
		text = ev.Time.Format("15:04") + " " + plainEvent(ev)
	}
	if t.chat != 0 {
		text = "[" + t.peer + "] " + text
	}
	m.lines = append(m.lines, lineOut{strings.ReplaceAll(text, "\n", "\r\n      "), msg})
}

// plainEvent is an event's text without styles.
func plainEvent(ev *room.Event) string {
	switch ev.Kind {
	case room.Message, room.PrivateMessage:
		if ev.Action {
			return "* " + ev.From + " " + ev.Text
		}
		return ev.From + ": " + ev.Text
	case room.Left:
		if ev.Reason != "" {
			return "← " + ev.From + " left (" + ev.Reason + ")"
		}
		return "← " + ev.From + " left"
	}
	return ev.Text
}

// linePrompt is the prompt of the line being typed.
func (m *model) linePrompt() string {
	if m.phase == phaseJoin {
		return "Name: "
	}
	t := m.tabs[m.active]
	if t.closed {
		return t.title() + " (ended)> "
	}
	return t.title() + "> "
}

// drawLines prints what arrived and echoes what was typed. A session
// behind by more than a screenful prints the last screenful and says how
// many messages it skipped: the same rule as the full screen's.
func (m *model) drawLines(b *bytes.Buffer) {
	if m.phase == phaseJoin && m.dirty&dirtyAll != 0 && m.joinErr != "" {
		m.lines = append(m.lines, lineOut{text: m.joinErr})
	}
	// Lines typed and entered since the last draw: finish each on screen.
	for _, v := range m.entered {
		m.echo(b, v)
		b.WriteString("\r\n")
		m.shown = ""
	}
	m.entered = m.entered[:0]
	out := m.lines
	if keep := max(m.height-1, 1); len(out) > keep {
		skipped := 0
		for _, l := range out[:len(out)-keep] {
			if l.msg {
				skipped++
			}
		}
		out = out[len(out)-keep:]
		if skipped > 0 {
			out = append([]lineOut{{text: fmt.Sprintf("(%d messages skipped)", skipped)}}, out...)
		}
	}
	if len(out) > 0 {
		switch {
		case m.shown == "":
		case len(m.shown) <= len(m.linePrompt()) && ansi.StringWidthWc(out[0].text) >= ansi.StringWidthWc(m.shown):
			b.WriteByte('\r') // over a bare prompt
		default:
			b.WriteString("\r\n") // under what is being typed, which is printed again below
		}
		for _, l := range out {
			b.WriteString(l.text)
			b.WriteString("\r\n")
		}
		m.shown = ""
	}
	m.lines = m.lines[:0]
	if m.phase != phaseDone {
		m.echo(b, m.input.value())
	}
}

// echo brings the line on screen to prompt+value with what a terminal
// without cursor moves can do: add to its end, or back over it.
func (m *model) echo(b *bytes.Buffer, value string) {
	want := m.linePrompt() + value
	switch {
	case want == m.shown:
	case strings.HasPrefix(want, m.shown):
		b.WriteString(want[len(m.shown):])
	case strings.HasPrefix(m.shown, want) && len(want) >= len(m.linePrompt()):
		n := ansi.StringWidthWc(m.shown[len(want):])
		b.WriteString(strings.Repeat("\b", n) + strings.Repeat(" ", n) + strings.Repeat("\b", n))
	default:
		if m.shown != "" {
			b.WriteString("\r\n")
		}
		b.WriteString(want)
	}
	m.shown = want
}
