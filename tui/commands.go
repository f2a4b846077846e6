package tui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"chatroom/internal/clean"
	"chatroom/room"

	tea "charm.land/bubbletea/v2"
)

// Directory is who people are, as a session needs to know: it lets a
// person into the room under a name, describes people, and runs the
// moderators' commands. sshapp implements it for each SSH session.
type Directory interface {
	// Join enters the room as name, if this person may have it, with a
	// line to show them (or ""). Errors that are not the room's are shown
	// to the person as they are.
	Join(name string) (mem room.Member, notice string, err error)
	// Whois describes the person called name, in one line.
	Whois(name string) string
	// Identify says who the person online as name is, for /ignore.
	Identify(name string) (Ignored, bool)
	// Ignores is whom this person ignores, as saved: a key-holder's list
	// is kept with their key; a guest's lasts for the visit.
	Ignores() []Ignored
	// SaveIgnores keeps this person's list, if they have a key.
	SaveIgnores([]Ignored) error
	// Status is what the people list marks beside the person online as
	// name.
	Status(name string) Status
	// SetAway marks this person away (/away), with why, or back.
	SetAway(away bool, why string)
	// Moderator reports whether this person may moderate, now.
	Moderator() bool
	// Moderate runs a moderator's command (its name without the slash)
	// and says how it went; failed marks the reply as an error.
	Moderate(cmd, args string) (reply string, failed bool)
}

// command is one slash command: what /help says of it, who may run it, and
// what it does.
type command struct {
	name, args, help string
	moderators       bool // only moderators may run it, and only they see it in /help
	// A command costs what a message costs (it draws on the same
	// allowance) unless it is free; a lookup, which costs the server
	// more, may also run only once every lookupEvery.
	free, lookup bool
	run          func(m *model, args string) tea.Cmd
}

// commands is every command, in the order /help lists them. It is filled in
// init because /help's own entry reads it.
var commands []command

func init() {
	commands = []command{
		{name: "/invite", args: "NAME", help: "invite NAME to a private chat (or click a name in the top bar)", run: (*model).inviteCmd},
		{name: "/accept", args: "[NAME]", help: "accept the oldest invitation waiting, or NAME's (or Alt+Y)", free: true, run: (*model).acceptCmd},
		{name: "/decline", args: "[NAME]", help: "decline the oldest invitation waiting, or NAME's (or Alt+N)", free: true, run: (*model).declineCmd},
		{name: "/close", help: "close this private chat", free: true, run: (*model).closeCmd},
		{name: "/ignore", args: "NAME", help: "hide NAME's messages and refuse their invitations, without telling them (by key: a new name does not escape it)", free: true, run: (*model).ignoreCmd},
		{name: "/unignore", args: "NAME", help: "stop ignoring NAME", free: true, run: (*model).unignoreCmd},
		{name: "/ignored", help: "list whom you ignore", free: true, run: (*model).ignoredCmd},
		{name: "/who", help: "list who is online (guests have no key)", lookup: true, run: (*model).whoCmd},
		{name: "/whois", args: "NAME", help: "who NAME is: their key, and how long they have been here", lookup: true, run: (*model).whoisCmd},
		{name: "/bell", args: "off|mentions|all", help: "when the terminal bell rings: mentions (the default) rings for invitations, private messages in another tab and your name; all adds every message", free: true, run: (*model).bellCmd},
		{name: "/me", args: "ACTION", help: "say what you do: /me waves shows \"* you waves\"", free: true, run: (*model).meCmd},
		{name: "/away", args: "[REASON]", help: "mark yourself away in the people list and /whois, until /back or your next message", free: true, run: (*model).awayCmd},
		{name: "/back", help: "you are back", free: true, run: (*model).backCmd},
		{name: "/quiet", help: "hide or show again who joins and leaves", free: true, run: (*model).quietCmd},
		{name: "/timestamp", args: "on|off", help: "show or hide the time of each line", free: true, run: (*model).timestampCmd},
		{name: "/mouse", help: "turn mouse reporting off or on (off lets the terminal select text)", run: (*model).mouseCmd},
		{name: "/help", help: "this help", run: (*model).helpCmd},
		{name: "/quit", help: "leave (or Ctrl+C)", free: true, run: func(m *model, _ string) tea.Cmd { return m.quit(endMsg{text: goodbyeText}) }},
		{name: "/kick", args: "NAME [REASON]", help: "close NAME's session; everyone sees why", moderators: true},
		{name: "/ban", args: "NAME [DURATION] [REASON]", help: "close and keep out NAME's key and address (a guest: the address), for good or 90m, 7d...", moderators: true},
		{name: "/unban", args: "WHAT", help: "lift the bans on a name, a key fingerprint or an address", moderators: true},
		{name: "/banned", help: "list the bans", moderators: true, lookup: true},
		{name: "/release", args: "NAME", help: "free a name from the key that owns it", moderators: true},
	}
	for i, c := range commands {
		if c.moderators {
			commands[i].run = moderateCmd(c.name)
		}
	}
}

// help is /help's text: the commands this person may run, then the keys.
func help(moderator bool) string {
	type entry struct{ use, help string }
	var b strings.Builder
	section := func(title string, entries []entry) {
		width := 0
		for _, e := range entries {
			width = max(width, len(e.use))
		}
		b.WriteString(title)
		for _, e := range entries {
			fmt.Fprintf(&b, "\n  %-*s  %s", width, e.use, e.help)
		}
	}
	var all, mods []entry
	for _, c := range commands {
		e := entry{strings.TrimSpace(c.name + " " + c.args), c.help}
		if c.moderators {
			mods = append(mods, e)
		} else {
			all = append(all, e)
		}
	}
	section("Commands:", append(all, entry{"//text", `send "/text" as a message`}))
	if moderator {
		section("\nModerators:", mods)
	}
	b.WriteString("\nKeys: Enter send · Tab complete a name or command · Up/Down the lines you sent · Ctrl+N/Ctrl+P next/previous tab · Alt+Y/Alt+N accept/decline an invitation · PgUp/PgDn or the wheel scroll · Ctrl+L redraw")
	b.WriteString("\nSelecting text: hold Shift while dragging (most terminals), or turn the mouse off with /mouse.")
	return b.String()
}

// command runs a line that starts with a slash. A command the person may
// not run yet (too fast) is put back in the input line.
func (m *model) command(line string) tea.Cmd {
	name, args, _ := strings.Cut(strings.TrimSpace(line), " ")
	args = strings.TrimSpace(args)
	here := m.tabs[m.active]
	c := findCommand(name)
	if c == nil || !c.free {
		if err := m.member.Spend(); err != nil {
			m.input.set(line)
			m.note(here, true, "Not done: "+err.Error()+" (commands count too). It is still in the input line; press Enter again in a moment.")
			return nil
		}
	}
	switch {
	case c == nil:
		m.note(here, true, fmt.Sprintf("Unknown command %s. /help lists the commands; //%s sends it as a message.",
			clean.Line(name, 32), clean.Line(strings.TrimPrefix(name, "/"), 32)))
		return nil
	case c.moderators && !m.dir.Moderator():
		m.note(here, true, fmt.Sprintf("Not allowed: only moderators may %s.", name))
		return nil
	case c.args != "" && !strings.HasPrefix(c.args, "[") && args == "":
		m.note(here, true, fmt.Sprintf("Usage: %s %s", c.name, c.args))
		return nil
	}
	if c.lookup {
		now := m.clock()
		if wait := m.lastLookup.Add(m.lookupEvery).Sub(now); wait > 0 {
			m.input.set(line)
			m.note(here, true, fmt.Sprintf("Not done: /who, /whois and /banned may be used once every %s; try again in %s.",
				m.lookupEvery, wait.Round(100*time.Millisecond)))
			return nil
		}
		m.lastLookup = now
	}
	return c.run(m, args)
}

func findCommand(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

func (m *model) helpCmd(string) tea.Cmd {
	// The server's own fixed text: not cut to a message's size, as a note
	// that repeats what others said is.
	m.add(m.tabs[m.active], item{note: &note{text: help(m.dir.Moderator()), at: m.clock()}})
	return nil
}

func (m *model) whoisCmd(name string) tea.Cmd {
	m.note(m.tabs[m.active], false, m.dir.Whois(name))
	return nil
}

// whoShows is how many names /who lists; the count says how many more.
const whoShows = 50

func (m *model) whoCmd(string) tea.Cmd {
	online := m.room.Online() // now, not as of the last frame
	names := make([]string, min(online.Len(), whoShows))
	for i := range names {
		names[i] = online.At(i)
		if m.dir.Status(names[i]).Guest {
			names[i] += " (guest)"
		}
	}
	text := fmt.Sprintf("%d online: %s", online.Len(), strings.Join(names, ", "))
	if more := online.Len() - len(names); more > 0 {
		text += fmt.Sprintf(" and %d more", more)
		if !m.lineMode {
			text += " (the list of everyone is open; Esc closes it)"
			m.openPeople()
		}
	}
	m.note(m.tabs[m.active], false, text)
	return nil
}

func (m *model) inviteCmd(name string) tea.Cmd {
	m.invite(name)
	return nil
}

func (m *model) closeCmd(string) tea.Cmd {
	t := m.tabs[m.active]
	if t.chat == 0 {
		m.note(t, true, "The main room cannot be closed; /quit leaves the chat.")
		return nil
	}
	_ = m.member.CloseChat(t.chat)
	m.tabs = append(m.tabs[:m.active], m.tabs[m.active+1:]...)
	m.active = 0
	m.tabs[0].unread = 0
	m.dirty |= dirtyAll
	return nil
}

func (m *model) mouseCmd(string) tea.Cmd {
	m.mouse = !m.mouse
	m.dirty |= dirtyModes
	if m.mouse {
		m.note(m.tabs[m.active], false, "Mouse on: click names and tabs, scroll with the wheel.")
	} else {
		m.note(m.tabs[m.active], false, "Mouse off: your terminal selects text again. /mouse turns it back on.")
	}
	return nil
}

// moderateCmd runs a moderator's command through the Directory, which
// checks again that this person may.
func moderateCmd(name string) func(*model, string) tea.Cmd {
	return func(m *model, args string) tea.Cmd {
		if reply, failed := m.dir.Moderate(strings.TrimPrefix(name, "/"), args); reply != "" {
			m.note(m.tabs[m.active], failed, reply)
		}
		return nil
	}
}

// invite invites name, or shows the chat already open with them.
func (m *model) invite(name string) {
	if i := m.openTab(name); i > 0 {
		m.switchTo(i)
		return
	}
	here := m.tabs[m.active]
	shown := clean.Line(name, 2*room.MaxNameLen)
	switch err := m.member.Invite(name); {
	case err == nil:
		m.note(here, false, fmt.Sprintf("Invitation sent to %s; waiting for an answer.", shown))
	case errors.Is(err, room.ErrOffline):
		m.note(here, true, fmt.Sprintf("%s is not online.", shown))
	case errors.Is(err, room.ErrSelfInvite):
		m.note(here, true, "You cannot invite yourself.")
	case errors.Is(err, room.ErrAlreadyInvited):
		m.note(here, true, fmt.Sprintf("You already invited %s; waiting for an answer.", shown))
	case errors.As(err, new(*room.DeclinedError)):
		m.note(here, true, err.Error()+".")
	default:
		m.note(here, true, err.Error())
	}
}

func (m *model) acceptCmd(args string) tea.Cmd  { return m.answerCmd(args, true) }
func (m *model) declineCmd(args string) tea.Cmd { return m.answerCmd(args, false) }

// answerCmd answers NAME's invitation, or the oldest waiting.
func (m *model) answerCmd(name string, accept bool) tea.Cmd {
	if name == "" {
		m.answerOldest(accept)
		return nil
	}
	for _, inv := range m.invites {
		if inv.From == name {
			m.answer(inv, accept)
			return nil
		}
	}
	m.note(m.tabs[m.active], true, fmt.Sprintf("No invitation from %s is waiting.", name))
	return nil
}

func (m *model) bellCmd(args string) tea.Cmd {
	here := m.tabs[m.active]
	switch args {
	case "off":
		m.bell = bellOff
	case "mentions":
		m.bell = bellMentions
	case "all":
		m.bell = bellAll
	case "":
		m.note(here, false, "The bell rings for "+[]string{"invitations, private messages in another tab and your name", "nothing", "every message, invitations and private messages in another tab"}[m.bell]+". /bell off|mentions|all changes it.")
		return nil
	default:
		m.note(here, true, "Usage: /bell off|mentions|all")
		return nil
	}
	m.note(here, false, "Bell: "+args+".")
	return nil
}

func (m *model) quietCmd(string) tea.Cmd {
	m.quiet = !m.quiet
	if m.quiet {
		m.note(m.tabs[m.active], false, "Joins and leaves are hidden; /quiet shows them again.")
	} else {
		m.note(m.tabs[m.active], false, "Joins and leaves are shown again.")
	}
	return nil
}

func (m *model) timestampCmd(args string) tea.Cmd {
	switch args {
	case "on", "off":
		m.th = m.th.timeless(args == "off")
		m.dirty |= dirtyAll
		m.note(m.tabs[m.active], false, "Timestamps "+args+".")
	default:
		m.note(m.tabs[m.active], true, "Usage: /timestamp on|off")
	}
	return nil
}

func (m *model) meCmd(text string) tea.Cmd {
	t := m.tabs[m.active]
	if text == "" {
		m.note(t, true, "Usage: /me ACTION")
		return nil
	}
	err := room.ErrChatClosed
	if !t.closed {
		err = m.member.Act(t.chat, text)
	}
	if err != nil {
		m.input.set("/me " + text) // nothing typed is lost
		m.note(t, true, sendError(err, t))
		return nil
	}
	m.toBottom()
	return nil
}

// Status is how the people list marks someone.
type Status struct {
	Guest bool // no key
	Away  bool // /away
}

func (m *model) awayCmd(why string) tea.Cmd {
	m.dir.SetAway(true, clean.Line(why, 80))
	m.note(m.tabs[m.active], false, "You are marked away; /back, or your next message, ends it.")
	return nil
}

func (m *model) backCmd(string) tea.Cmd {
	m.back()
	return nil
}

// back ends an /away.
func (m *model) back() {
	if m.dir.Status(m.name).Away {
		m.dir.SetAway(false, "")
		m.note(m.tabs[m.active], false, "You are back.")
	}
}
