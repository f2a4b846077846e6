package tui

import (
	"fmt"
	"slices"
	"strings"

	"chatroom/room"

	tea "charm.land/bubbletea/v2"
)

// Ignored is someone a person ignores: a key (its fingerprint, with the
// name it had), or a guest by name and address. Their messages are hidden
// and their invitations refused without telling them.
type Ignored struct{ Key, Name, Addr string }

// ignoring reports whether ev comes from someone this person ignores. A
// key is matched by its fingerprint, whatever name it has now; a guest by
// name and, while they are online, address.
func (m *model) ignoring(ev *room.Event) bool {
	if len(m.ignores) == 0 || ev.From == m.name {
		return false
	}
	for _, ig := range m.ignores {
		switch {
		case ig.Key != "":
			if ig.Key == ev.FromID {
				return true
			}
		case ev.FromID == "" && ig.Name == ev.From:
			if who, ok := m.dir.Identify(ev.From); ok && who.Key == "" && who.Addr == ig.Addr {
				return true
			}
		}
	}
	return false
}

func (m *model) ignoreCmd(name string) tea.Cmd {
	here := m.tabs[m.active]
	switch {
	case name == "":
		m.note(here, true, "Usage: /ignore NAME")
		return nil
	case name == m.name:
		m.note(here, true, "You cannot ignore yourself.")
		return nil
	}
	who, ok := m.dir.Identify(name)
	switch {
	case !ok:
		m.note(here, true, fmt.Sprintf("%s is not online.", name))
		return nil
	case slices.Contains(m.ignores, who):
		m.note(here, false, fmt.Sprintf("You already ignore %s.", name))
		return nil
	case len(m.ignores) >= m.maxIgnores:
		m.note(here, true, fmt.Sprintf("You ignore %d people, the most you may; /unignore someone first.", m.maxIgnores))
		return nil
	}
	m.ignores = append(m.ignores, who)
	m.dropInvite(func(inv *room.Event) bool { return m.ignoring(inv) })
	how := "by their key, whatever name they use"
	if who.Key == "" {
		how = "a guest: by name and address"
	}
	m.note(here, false, fmt.Sprintf("You ignore %s (%s): their messages are hidden and their invitations refused, without telling them. /unignore %s undoes it.", name, how, name))
	m.saveIgnores()
	return nil
}

func (m *model) unignoreCmd(what string) tea.Cmd {
	here := m.tabs[m.active]
	if what == "" {
		m.note(here, true, "Usage: /unignore NAME")
		return nil
	}
	n := len(m.ignores)
	m.ignores = slices.DeleteFunc(m.ignores, func(ig Ignored) bool { return ig.Name == what || ig.Key == what })
	if len(m.ignores) == n {
		m.note(here, true, fmt.Sprintf("You do not ignore %s. /ignored lists whom you do.", what))
		return nil
	}
	m.note(here, false, fmt.Sprintf("You no longer ignore %s.", what))
	m.saveIgnores()
	return nil
}

func (m *model) ignoredCmd(string) tea.Cmd {
	here := m.tabs[m.active]
	if len(m.ignores) == 0 {
		m.note(here, false, "You ignore nobody.")
		return nil
	}
	var list []string
	for _, ig := range m.ignores {
		if ig.Key != "" {
			list = append(list, ig.Name+" ("+ig.Key+")")
		} else {
			list = append(list, ig.Name+" (guest, "+ig.Addr+")")
		}
	}
	m.note(here, false, "You ignore: "+strings.Join(list, ", ")+".")
	return nil
}

// saveIgnores keeps the list for a key-holder's next visit.
func (m *model) saveIgnores() {
	if err := m.dir.SaveIgnores(m.ignores); err != nil {
		m.log.Error("saving an ignore list", "err", err)
		m.note(m.tabs[m.active], true, "The server could not save your ignore list; it holds for this visit.")
	}
}
