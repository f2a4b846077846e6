package tui

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"chatroom/internal/reason"
	"chatroom/room"

	tea "charm.land/bubbletea/v2"
)

// Messages the session's pump sends into the program.
type (
	// resizeMsg is a terminal size, already clamped.
	resizeMsg Size
	// eventsMsg is a batch of room events, oldest first.
	eventsMsg []*room.Event
	// newsMsg is who came and went since the last one.
	newsMsg room.News
)

type phase uint8

const (
	phaseJoin phase = iota // choosing a name
	phaseChat              // in the room
	phaseDone              // leaving; nothing more is drawn
)

const (
	historyLen  = 500 // items kept per tab
	wheelLines  = 3
	minWidth    = 20
	minHeight   = 8
	goodbyeText = "Bye!"
)

// model is one session's state. Bubble Tea's renderer is off: after every
// update the model writes what changed to out itself (see draw.go).
//
// Two goroutines change it: the program's, with input, and the pump's, with
// what the room sends (deliver), which so costs no hand-off to the
// program. mu makes each change and the drawing of it one step, so the
// screen the model believes in is the one the bytes drew.
type model struct {
	mu sync.Mutex
	// What drawing a message reads, first and together: a message to a
	// thousand sessions touches this for each, and every cache line
	// apart costs as much as the rest of the work.
	phase     phase
	lineMode  bool
	margins   bool // the terminal has left and right margins: the panel can be shown
	quiet     bool // join and leave notices are hidden (/quiet)
	ring      bool // ring the bell with the next write
	bell      bellMode
	dirty     dirty
	width     int
	height    int
	active    int
	cursorCol int // where the cursor goes on the input line
	titled    int // the unread count the window title shows, -1 at first
	name      string
	main      tab           // the main room's tab, here rather than apart: a message reaches it
	tabs      []*tab        // tabs[0] is &main
	people    *people       // the people list, while it is open (people.go)
	invites   []*room.Event // invitations waiting for an answer, oldest first
	ignores   []Ignored
	pending   []string // lines to print at the bottom of the stream
	th        *theme
	out       io.Writer
	clock     func() time.Time
	// delivered, if set, is told how long after it was sent each message
	// reached the terminal.
	delivered func(time.Duration)
	frame     bytes.Buffer
	longWay   bool // plain messages too go through handle and draw (tests compare the two)

	room     room.Broker
	dir      Directory
	log      *slog.Logger
	joined   chan joinedMsg // tells the pump which member to follow
	wakePump func()         // after a join; set before the program runs
	send     func(tea.Msg)  // to the program, from other goroutines (timers)
	// release, run once the program is running, stops Bubble Tea's ticker.
	release tea.Cmd

	member  room.Member
	joinErr string        // why the last name was refused
	why     reason.Reason // why the session ended, if the server ended it
	goodbye string        // the line left on the terminal after the session

	input       editor
	online      *room.Presence
	panelTop    int         // the first name the people panel shows
	ticking     bool        // the banner's time left is counting down
	sent        sentLines   // what Up and Down walk
	completing  *completion // a Tab completion in progress
	maxIgnores  int
	mouse       bool          // mouse reporting is on
	lookupEvery time.Duration // spaces the costly commands
	lastLookup  time.Time     // when one last ran

	// Line mode (lines.go): lines to print, lines entered since the last
	// draw, and the line on screen (prompt and echo).
	lines   []lineOut
	entered []string
	shown   string

	// Drawing state.
	hits []hit // clickable areas of the last frame
}

// modelOptions are what a model is made of.
type modelOptions struct {
	room     room.Broker
	dir      Directory
	theme    *theme
	out      io.Writer
	log      *slog.Logger
	size     Size
	inputMax int // runes the input line holds (at least a whole paste)
	lineMode bool
	// lookupEvery spaces /who, /whois and /banned.
	lookupEvery time.Duration
	maxIgnores  int
	delivered   func(time.Duration)
	release     tea.Cmd
}

// newModel makes the model for one session; start joins.
func newModel(o modelOptions) *model {
	return &model{
		room:        o.room,
		dir:         o.dir,
		th:          o.theme,
		out:         o.out,
		log:         o.log,
		joined:      make(chan joinedMsg, 1),
		clock:       time.Now,
		release:     o.release,
		delivered:   o.delivered,
		width:       o.size.Width,
		height:      o.size.Height,
		mouse:       true,
		input:       editor{limit: o.inputMax},
		lookupEvery: o.lookupEvery,
		maxIgnores:  cmp.Or(o.maxIgnores, DefaultLimits.MaxIgnores),
		dirty:       dirtyAll,
		bell:        bellMentions,
		titled:      -1,
		lineMode:    o.lineMode,
	}
}

// bellMode is when the session rings the terminal's bell (/bell).
type bellMode uint8

const (
	bellMentions bellMode = iota // invitations, private messages in a tab not showing, mentions
	bellOff
	bellAll // and every main-room message
)

// alert rings the bell, unless it is off.
func (m *model) alert() {
	if m.bell != bellOff {
		m.ring = true
	}
}

// mentions reports whether text names name as a word of its own.
func mentions(text, name string) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], name)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(name)
		if (j == 0 || !nameByte(text[j-1])) && (end == len(text) || !nameByte(text[end])) {
			return true
		}
		i = j + 1
	}
}

// nameByte reports whether c can be part of a name (room.ValidateName).
func nameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// start tries the name the person connected with.
func (m *model) start(name string) {
	var invalid *room.NameError
	if err := m.join(name); err != nil && !errors.As(err, &invalid) {
		m.input.set(name) // offered again, to edit into a free name
	}
}

// join tries to enter the room as name; on refusal the join screen says why.
func (m *model) join(name string) error {
	mem, notice, err := m.dir.Join(name)
	if err != nil {
		m.phase = phaseJoin
		m.joinErr = joinError(name, err)
		m.dirty |= dirtyAll
		return err
	}
	m.phase = phaseChat
	m.name = mem.Name()
	m.member = mem
	m.ignores = m.dir.Ignores()
	m.online = m.room.Online()
	m.joined <- joinedMsg{mem, m.online}
	if m.wakePump != nil {
		m.wakePump()
	}
	m.main = tab{}
	m.tabs = []*tab{&m.main}
	m.active = 0
	m.input.reset()
	m.note(m.tabs[0], false, fmt.Sprintf("Welcome, %s. Type a message and press Enter; /help lists commands.", m.name))
	if mem.Replaced() {
		m.note(m.tabs[0], false, "You were already signed in with this key: that session is closed, and this one carries on.")
	}
	if notice != "" {
		m.note(m.tabs[0], false, notice)
	}
	m.dirty |= dirtyAll
	return nil
}

func joinError(name string, err error) string {
	var ne *room.NameError
	switch {
	case errors.As(err, &ne):
		return ne.Error()
	case errors.Is(err, room.ErrNameTaken):
		return fmt.Sprintf("%q is taken: someone of that name is online.", name)
	case errors.Is(err, room.ErrClosed):
		return "The server is shutting down."
	}
	return err.Error()
}

func (m *model) Init() tea.Cmd { return m.release }

// View is empty: the renderer is off and draw.go writes the screen.
func (m *model) View() tea.View { return tea.View{} }

func (m *model) Update(msg tea.Msg) (next tea.Model, cmd tea.Cmd) {
	m.mu.Lock()
	defer m.mu.Unlock()
	// A bug in one session ends that session, politely, and is logged.
	defer func() {
		if r := recover(); r != nil {
			m.log.Error("panic in session", "panic", r, "stack", string(debug.Stack()))
			next, cmd = m, m.quit(endMsg{reason.Crash, reason.Crash.Text()})
		}
	}()
	if batch, ok := msg.(inputBatch); ok {
		// A chunk of input is applied whole and drawn once: a script
		// typing 3,000 characters costs one redraw of the input line,
		// not 3,000.
		var cmds []tea.Cmd
		for _, in := range batch {
			if m.phase == phaseDone {
				break
			}
			cmds = append(cmds, m.handle(in))
		}
		cmd = tea.Batch(cmds...)
	} else {
		cmd = m.handle(msg)
	}
	if err := m.draw(); err != nil {
		return m, tea.Quit
	}
	if evs, ok := msg.(eventsMsg); ok {
		m.report(evs)
	}
	return m, cmd
}

// deliver applies what the room sent and draws it, on the pump's
// goroutine. It reports false once the session is over or its terminal is
// gone.
func (m *model) deliver(msg tea.Msg) (ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.phase == phaseDone {
		return false
	}
	if evs, isEvents := msg.(eventsMsg); isEvents && !m.longWay {
		if drawn, err := m.drawPlain(evs); drawn {
			m.report(evs)
			return err == nil
		}
	}
	m.handle(msg)
	if m.draw() != nil {
		return false
	}
	if evs, isEvents := msg.(eventsMsg); isEvents {
		m.report(evs)
	}
	return true
}

// drawPlain draws evs the short way if they are main-room messages that
// this session draws the plainest way, onto the bottom of the main tab as
// everyone sees them, on a screen with nothing else to draw; it reports
// whether it did. That is nearly every message in a busy room, and handle
// and draw, which check for everything else, cost a tenth of the server's
// time for them. It writes what they would, in one write, and leaves the
// main tab as they would; when it declines, it has changed nothing.
func (m *model) drawPlain(evs []*room.Event) (drawn bool, err error) {
	// dirty is set from the join until the first screen is drawn, so the
	// frame is empty here: the modes written before it have gone out.
	if m.phase != phaseChat || m.lineMode || m.active != 0 || m.people != nil || m.dirty != 0 ||
		len(m.pending) != 0 || m.ring || m.bell == bellAll || m.main.scroll != 0 || m.hasPanel() {
		return false, nil
	}
	l := m.layout()
	if l.tooSmall {
		return false, nil
	}
	m.frame.Grow(512) // once: the frame keeps its array from write to write
	b := appendMoveTo(m.frame.AvailableBuffer(), l.streamBottom, 0)
	rows := 0
	for _, ev := range evs {
		if ev.Kind != room.Message || ev.From == m.name || mentions(ev.Text, m.name) || m.ignoring(ev) {
			return false, nil
		}
		lines := sharedLines.get(m.th, ev, l.streamWidth)
		if rows += len(lines); rows > l.streamRows() {
			return false, nil
		}
		for _, s := range lines {
			b = append(b, "\r\n"...)
			b = append(b, s...)
		}
	}
	for _, ev := range evs {
		m.main.push(item{ev: ev})
	}
	b = appendMoveTo(b, l.inputRow, m.cursorCol)
	_, err = m.out.Write(b)
	return true, err
}

// report tells the metrics how long after it was sent each message
// reached the terminal.
func (m *model) report(evs []*room.Event) {
	if m.delivered == nil {
		return
	}
	now := m.clock()
	for _, ev := range evs {
		if ev.Kind == room.Message || ev.Kind == room.PrivateMessage {
			m.delivered(now.Sub(ev.Time))
		}
	}
}

// inputBatch is the input decoded from one read, in order.
type inputBatch []tea.Msg

// handle folds one message into the model; Update draws after.
func (m *model) handle(msg tea.Msg) (cmd tea.Cmd) {
	switch msg := msg.(type) {
	case resizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.dirty |= dirtyAll
	case eventsMsg:
		for _, ev := range msg {
			m.apply(ev)
		}
	case newsMsg:
		// News comes a few times a second at most (presenceEvery), so
		// the top bar it changes is drawn as often.
		if m.phase == phaseChat {
			m.online = msg.Online
			m.announce(room.News(msg))
			m.dirty |= dirtyTop
			if m.people != nil {
				m.dirty |= dirtyStream // the list is who is online
			}
			if m.hasPanel() {
				m.dirty |= dirtyPanel
			}
		}
	case endMsg:
		cmd = m.quit(msg)
	case marginsMsg:
		if m.margins != bool(msg) {
			m.margins = bool(msg)
			m.dirty |= dirtyAll
		}
	case bannerTick:
		m.ticking = false
		if m.phase == phaseChat && len(m.invites) > 0 {
			m.dirty |= dirtyBanner
			m.countDown()
		}
	case inputDroppedMsg:
		if m.phase == phaseChat {
			m.note(m.tabs[m.active], true, fmt.Sprintf("Input is arriving faster than %d KiB/s; some of it was dropped.", msg.rate>>10))
		}
	case pasteDroppedMsg:
		if m.phase == phaseChat {
			m.note(m.tabs[m.active], true, fmt.Sprintf("Your paste of %d KiB was dropped: pastes are limited to %d KiB.", (msg.size+1023)>>10, msg.limit>>10))
		}
	case tea.KeyPressMsg:
		cmd = m.key(msg)
	case tea.PasteMsg:
		m.paste(msg.Content)
	case tea.MouseClickMsg:
		cmd = m.click(msg.Mouse())
	case tea.MouseWheelMsg:
		m.wheel(msg.Mouse())
	}
	return cmd
}

// itemFor is the item of a message: shared with everyone, unless it is
// this person's own or names them, which they see drawn apart.
func (m *model) itemFor(ev *room.Event) item {
	switch {
	case ev.From == m.name:
		return item{ev: ev, note: &note{mark: markOwn}}
	case mentions(ev.Text, m.name):
		return item{ev: ev, note: &note{mark: markMention}}
	}
	return item{ev: ev}
}

// bannerTick redraws the banner's time left.
type bannerTick struct{}

// countDown has the banner's time left drawn again each second while
// invitations wait.
func (m *model) countDown() {
	if m.ticking || m.send == nil || m.lineMode {
		return
	}
	m.ticking = true
	time.AfterFunc(time.Second, func() { m.send(bannerTick{}) })
}

// quit ends the session; Run restores the terminal and prints why.
func (m *model) quit(end endMsg) tea.Cmd {
	if m.phase != phaseDone { // the first reason is the one told
		m.phase = phaseDone
		m.why, m.goodbye = end.why, end.text
	}
	return tea.Quit
}

// apply folds one room event into the model.
func (m *model) apply(ev *room.Event) {
	if m.phase != phaseChat {
		return
	}
	// Room messages go to the main tab; news for me alone goes where I am.
	main, here := m.tabs[0], m.tabs[m.active]
	if m.ignoring(ev) {
		return // their messages and invitations, not a word of it shown
	}
	switch ev.Kind {
	case room.Message:
		it := m.itemFor(ev)
		m.add(main, it)
		if ev.From != m.name && (m.bell == bellAll || it.note != nil && it.note.mark == markMention) {
			m.alert()
		}
	case room.Skipped, room.Notice:
		m.add(main, item{ev: ev})
	case room.Left: // kicked or banned; plain comings and goings are news
		m.add(main, item{ev: ev})
	case room.Invited:
		// A banner above the input line, never a dialog: it takes no
		// typing and moves no one.
		m.invites = append(m.invites, ev)
		if len(m.invites) == 1 {
			m.dirty |= dirtyAll // the stream gives the banner a row
		} else {
			m.dirty |= dirtyBanner
		}
		m.countDown()
		m.alert()
		m.note(here, false, fmt.Sprintf("%s invites you to a private chat: /accept or /decline (Alt+Y / Alt+N).", ev.From))
	case room.Answered:
		if ev.Accepted {
			m.note(here, false, fmt.Sprintf("%s accepted your invitation.", ev.To))
		} else {
			m.note(here, false, fmt.Sprintf("%s declined your invitation.", ev.To))
		}
	case room.InviteEnded:
		m.dropInvite(func(d *room.Event) bool { return d.Invite == ev.Invite })
		switch {
		case ev.To == m.name && ev.Reason == room.ReasonLeft:
			m.note(here, false, fmt.Sprintf("%s left; their invitation is withdrawn.", ev.From))
		case ev.To == m.name:
			m.note(here, false, fmt.Sprintf("The invitation from %s expired.", ev.From))
		case ev.Reason == room.ReasonLeft:
			m.note(here, false, fmt.Sprintf("%s left before answering your invitation.", ev.To))
		default:
			m.note(here, false, fmt.Sprintf("Your invitation to %s expired unanswered.", ev.To))
		}
	case room.ChatOpened:
		peer := ev.Peer(m.name)
		m.dropInvite(func(d *room.Event) bool { return d.From == peer })
		// The tab opens beside the others, marked unread: nobody is moved,
		// so a line being typed still goes where its prompt says.
		t := &tab{chat: ev.Chat, peer: peer}
		m.tabs = append(m.tabs, t)
		m.dirty |= dirtyTabs
		if ev.Reason == room.ReasonResumed {
			m.note(t, false, fmt.Sprintf("Private chat with %s, carried over from your other session.", peer))
			return
		}
		m.note(t, false, fmt.Sprintf("Private chat with %s: only the two of you see it. /close ends it; Ctrl+N/Ctrl+P switch tabs.", peer))
		if m.lineMode {
			m.note(here, false, fmt.Sprintf("Private chat with %s opened: Ctrl+N/Ctrl+P change where Enter sends.", peer))
		} else {
			m.note(here, false, fmt.Sprintf("Private chat with %s opened in the tab %q: Ctrl+N/Ctrl+P or a click goes there.", peer, peer))
		}
		m.alert()
	case room.PrivateMessage:
		if t := m.chatTab(ev.Chat); t != nil {
			m.add(t, m.itemFor(ev))
			if ev.From != m.name && t != here {
				m.alert()
			}
		}
	case room.ChatClosed:
		if t := m.chatTab(ev.Chat); t != nil {
			t.closed = true
			if ev.Reason == room.ReasonLeft {
				m.note(t, true, fmt.Sprintf("%s left. This chat is read-only; /close closes the tab.", ev.From))
			} else {
				m.note(t, true, fmt.Sprintf("%s closed the chat. It is read-only; /close closes the tab.", ev.From))
			}
			m.dirty |= dirtyTabs | dirtyInput
		}
	}
}
