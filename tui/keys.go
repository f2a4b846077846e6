package tui

import (
	"errors"
	"fmt"
	"strings"

	"chatroom/internal/clean"
	"chatroom/room"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// keyMap is every key the chat answers to, with the help /help prints.
type keyMap struct {
	Send, Quit, NextTab, PrevTab, PageUp, PageDown, Redraw  key.Binding
	Left, Right, WordLeft, WordRight, Home, End             key.Binding
	Backspace, Delete, KillWordBack, KillToStart, KillToEnd key.Binding
	Accept, Decline, Leave, Older, Newer, Complete          key.Binding
}

var bindings = keyMap{
	Send:         key.NewBinding(key.WithKeys("enter"), key.WithHelp("Enter", "send")),
	Quit:         key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("Ctrl+C", "leave")),
	NextTab:      key.NewBinding(key.WithKeys("ctrl+n"), key.WithHelp("Ctrl+N", "next tab")),
	PrevTab:      key.NewBinding(key.WithKeys("ctrl+p"), key.WithHelp("Ctrl+P", "previous tab")),
	PageUp:       key.NewBinding(key.WithKeys("pgup"), key.WithHelp("PgUp", "scroll up")),
	PageDown:     key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("PgDn", "scroll down")),
	Redraw:       key.NewBinding(key.WithKeys("ctrl+l"), key.WithHelp("Ctrl+L", "redraw")),
	Left:         key.NewBinding(key.WithKeys("left", "ctrl+b")),
	Right:        key.NewBinding(key.WithKeys("right", "ctrl+f")),
	WordLeft:     key.NewBinding(key.WithKeys("alt+left", "ctrl+left", "alt+b")),
	WordRight:    key.NewBinding(key.WithKeys("alt+right", "ctrl+right", "alt+f")),
	Home:         key.NewBinding(key.WithKeys("home", "ctrl+a")),
	End:          key.NewBinding(key.WithKeys("end", "ctrl+e")),
	Backspace:    key.NewBinding(key.WithKeys("backspace", "ctrl+h")),
	Delete:       key.NewBinding(key.WithKeys("delete", "ctrl+d")),
	KillWordBack: key.NewBinding(key.WithKeys("ctrl+w", "alt+backspace")),
	KillToStart:  key.NewBinding(key.WithKeys("ctrl+u")),
	KillToEnd:    key.NewBinding(key.WithKeys("ctrl+k")),
	// Invitations are answered with Alt: a plain key is always typing.
	Accept:  key.NewBinding(key.WithKeys("alt+y", "alt+Y"), key.WithHelp("Alt+Y", "accept the invitation")),
	Decline: key.NewBinding(key.WithKeys("alt+n", "alt+N"), key.WithHelp("Alt+N", "decline the invitation")),
	Leave:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("Esc", "leave")),
	// Up and Down walk the lines you sent; Ctrl+P and Ctrl+N stay the tabs'.
	Older:    key.NewBinding(key.WithKeys("up"), key.WithHelp("Up", "a line you sent before")),
	Newer:    key.NewBinding(key.WithKeys("down"), key.WithHelp("Down", "a line you sent after")),
	Complete: key.NewBinding(key.WithKeys("tab"), key.WithHelp("Tab", "complete a name or command")),
}

func (m *model) key(k tea.KeyPressMsg) tea.Cmd {
	if key.Matches(k, bindings.Quit) {
		return m.quit(endMsg{text: goodbyeText})
	}
	switch m.phase {
	case phaseJoin:
		switch {
		case key.Matches(k, bindings.Leave):
			return m.quit(endMsg{text: goodbyeText})
		case key.Matches(k, bindings.Send):
			if m.lineMode {
				m.entered = append(m.entered, m.input.value())
			}
			m.join(strings.TrimSpace(m.input.value()))
			return nil
		}
		m.edit(k)
		return nil
	case phaseChat:
	default:
		return nil
	}
	if !key.Matches(k, bindings.Complete) {
		m.completing = nil
	}
	switch {
	case key.Matches(k, bindings.Send):
		return m.submit()
	case key.Matches(k, bindings.Complete):
		m.complete()
		m.dirty |= dirtyInput
	case key.Matches(k, bindings.Older), key.Matches(k, bindings.Newer):
		d := -1
		if key.Matches(k, bindings.Newer) {
			d = 1
		}
		if s, ok := m.sent.walk(d, m.input.value()); ok {
			m.input.set(s)
			m.dirty |= dirtyInput
		}
	case key.Matches(k, bindings.NextTab):
		m.switchTo((m.active + 1) % len(m.tabs))
	case key.Matches(k, bindings.PrevTab):
		m.switchTo((m.active + len(m.tabs) - 1) % len(m.tabs))
	case m.people != nil && key.Matches(k, bindings.Leave):
		m.closePeople()
	case m.people != nil && key.Matches(k, bindings.PageUp):
		m.scrollPeople(-(m.layout().streamRows() - 2))
	case m.people != nil && key.Matches(k, bindings.PageDown):
		m.scrollPeople(m.layout().streamRows() - 2)
	case key.Matches(k, bindings.PageUp):
		m.scrollBy(m.layout().streamRows() - 1)
	case key.Matches(k, bindings.PageDown):
		m.scrollBy(-(m.layout().streamRows() - 1))
	case key.Matches(k, bindings.Redraw):
		m.dirty |= dirtyAll
	case key.Matches(k, bindings.Accept):
		m.answerOldest(true)
	case key.Matches(k, bindings.Decline):
		m.answerOldest(false)
	default:
		m.edit(k)
	}
	return nil
}

// editing maps keys to what they do to the input line.
var editing = []struct {
	key key.Binding
	do  func(*editor)
}{
	{bindings.Left, (*editor).left},
	{bindings.Right, (*editor).right},
	{bindings.WordLeft, (*editor).wordLeft},
	{bindings.WordRight, (*editor).wordRight},
	{bindings.Home, (*editor).home},
	{bindings.End, (*editor).end},
	{bindings.Backspace, (*editor).backspace},
	{bindings.Delete, (*editor).deleteForward},
	{bindings.KillWordBack, (*editor).killWordBack},
	{bindings.KillToStart, (*editor).killToStart},
	{bindings.KillToEnd, (*editor).killToEnd},
}

// edit applies an editing key, or types the key's text.
func (m *model) edit(k tea.KeyPressMsg) {
	for _, e := range editing {
		if key.Matches(k, e.key) {
			e.do(&m.input)
			m.dirty |= dirtyInput
			return
		}
	}
	if k.Text != "" && k.Mod&^tea.ModShift == 0 {
		m.typeText(k.Text)
		m.dirty |= dirtyInput
	}
}

func (m *model) paste(s string) {
	if m.phase == phaseDone {
		return
	}
	// Terminals send line breaks in a paste as CR.
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	if m.phase == phaseJoin {
		s = strings.ReplaceAll(s, "\n", "")
	}
	m.typeText(clean.Strip(s))
	m.dirty |= dirtyInput
}

func (m *model) typeText(s string) {
	if !m.input.insert(s) && m.phase == phaseChat {
		m.note(m.tabs[m.active], true, fmt.Sprintf("The input line is full (%d characters); the rest was not added.", m.input.limit))
	}
}

// answerOldest answers the invitation the banner shows, if there is one.
func (m *model) answerOldest(accept bool) {
	if len(m.invites) == 0 {
		m.note(m.tabs[m.active], true, "There is no invitation to answer.")
		return
	}
	m.answer(m.invites[0], accept)
}

// answer answers an invitation.
func (m *model) answer(inv *room.Event, accept bool) {
	m.dropInvite(func(d *room.Event) bool { return d == inv })
	here := m.tabs[m.active]
	if err := m.member.Answer(inv.Invite, accept); err != nil {
		m.note(here, true, fmt.Sprintf("Too late: the invitation from %s is no longer open.", inv.From))
		return
	}
	if !accept {
		m.note(here, false, fmt.Sprintf("You declined %s's invitation.", inv.From))
	}
}

// submit handles Enter in the chat: a command or a message.
func (m *model) submit() tea.Cmd {
	text := m.input.value()
	if m.lineMode {
		m.entered = append(m.entered, text)
	}
	if strings.TrimSpace(text) != "" {
		m.sent.remember(text)
	}
	if strings.TrimSpace(text) == "" {
		m.input.reset()
		m.dirty |= dirtyInput
		return nil
	}
	if strings.HasPrefix(text, "/") && !strings.HasPrefix(text, "//") {
		m.input.reset()
		m.dirty |= dirtyInput
		return m.command(text)
	}
	text = strings.TrimPrefix(text, "/") // "//x" sends "/x"
	t := m.tabs[m.active]
	var err error
	switch {
	case t.chat == 0:
		err = m.member.Say(text)
	case t.closed:
		err = room.ErrChatClosed
	default:
		err = m.member.SendPrivate(t.chat, text)
	}
	if err != nil {
		// The text stays in the input line: nothing typed is lost.
		m.note(t, true, sendError(err, t))
		return nil
	}
	m.back()
	m.input.reset()
	m.dirty |= dirtyInput
	m.toBottom()
	return nil
}

func sendError(err error, t *tab) string {
	switch {
	case errors.Is(err, room.ErrChatClosed), errors.Is(err, room.ErrNoSuchChat):
		return fmt.Sprintf("Not sent: the chat with %s has ended. /close closes this tab.", t.peer)
	case errors.Is(err, clean.ErrTooLong), errors.Is(err, clean.ErrTooManyLines):
		return "Not sent: the " + err.Error() + ". Shorten it and press Enter again."
	case errors.Is(err, room.ErrSlowDown):
		return "Not sent: " + err.Error() + ". It is still in the input line; press Enter again in a moment."
	}
	return "Not sent: " + err.Error() + "."
}

func (m *model) click(ms tea.Mouse) tea.Cmd {
	if ms.Button != tea.MouseLeft {
		return nil
	}
	for _, h := range m.hits {
		if ms.Y != h.row || ms.X < h.x0 || ms.X >= h.x1 {
			continue
		}
		switch h.kind {
		case hitName:
			if h.name != m.name {
				m.invite(h.name)
			}
		case hitTab:
			m.switchTo(h.tab)
		case hitOK:
			m.answerOldest(true)
		case hitCancel:
			m.answerOldest(false)
		case hitPeople:
			m.openPeople()
		case hitPerson:
			m.closePeople()
			m.invite(h.name)
		case hitPanel:
			m.invite(h.name)
		case hitClose:
			m.closePeople()
		}
		return nil
	}
	return nil
}

func (m *model) wheel(ms tea.Mouse) {
	if m.phase != phaseChat {
		return
	}
	if l := m.layout(); l.panelX >= 0 && ms.X >= l.panelX && m.people == nil {
		switch ms.Button {
		case tea.MouseWheelUp:
			m.scrollPanel(-wheelLines)
		case tea.MouseWheelDown:
			m.scrollPanel(wheelLines)
		}
		return
	}
	switch {
	case m.people != nil && ms.Button == tea.MouseWheelUp:
		m.scrollPeople(-wheelLines)
	case m.people != nil && ms.Button == tea.MouseWheelDown:
		m.scrollPeople(wheelLines)
	case ms.Button == tea.MouseWheelUp:
		m.scrollBy(wheelLines)
	case ms.Button == tea.MouseWheelDown:
		m.scrollBy(-wheelLines)
	}
}
