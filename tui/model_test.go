package tui

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"chatroom/internal/termtest"
	"chatroom/room"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
)

// These tests drive the model with messages, as the program would, and read
// what the screen writer drew through a terminal emulator.

type harness struct {
	t    *testing.T
	m    *model
	term *termtest.Terminal
	r    *room.Room
}

// lobby is a Directory that lets anyone in under any free name and knows
// nothing of anybody.
type lobby struct{ r room.Broker }

func (l lobby) Join(name string) (room.Member, string, error) {
	m, err := l.r.Join(name, "")
	return m, "", err
}
func (lobby) Whois(name string) string { return name + ": nothing known." }
func (lobby) Moderator() bool          { return false }
func (l lobby) Identify(name string) (Ignored, bool) {
	on := l.r.Online()
	for i := range on.Len() {
		if on.At(i) == name {
			return Ignored{Name: name, Addr: "127.0.0.1"}, true // everyone is a guest here
		}
	}
	return Ignored{}, false
}
func (lobby) Ignores() []Ignored                     { return nil }
func (lobby) SaveIgnores([]Ignored) error            { return nil }
func (lobby) Status(string) Status                   { return Status{} }
func (lobby) SetAway(bool, string)                   {}
func (lobby) Moderate(string, string) (string, bool) { return "", true }

// testModel makes a model as Run would, writing to out.
func testModel(r *room.Room, out io.Writer, w, h int) *model {
	return newModel(modelOptions{room: r, dir: lobby{r}, theme: themeFor(colorprofile.ANSI256), out: out,
		log: slog.New(slog.DiscardHandler), size: Size{w, h}, inputMax: 64 << 10})
}

func newHarness(t *testing.T, r *room.Room, name string, w, h int) *harness {
	t.Helper()
	term := termtest.NewTerminal(w, h)
	m := testModel(r, term, w, h)
	m.start(name)
	hs := &harness{t: t, m: m, term: term, r: r}
	hs.update(resizeMsg{w, h})
	return hs
}

func (h *harness) update(msg tea.Msg) {
	h.t.Helper()
	h.m.Update(msg)
}

// sync hands the model what the room sent it, as the pump would.
func (h *harness) sync() {
	if h.m.member != nil {
		if evs := h.m.member.Take(nil); len(evs) > 0 {
			h.update(eventsMsg(evs))
		}
	}
}

func (h *harness) typeText(s string) {
	for _, r := range s {
		h.update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func (h *harness) key(code rune, mod tea.KeyMod) {
	h.update(tea.KeyPressMsg{Code: code, Mod: mod})
}

func (h *harness) row(y int) string {
	return strings.Split(h.term.Screen(), "\n")[y]
}

func TestTheCursorFollowsWideCharacters(t *testing.T) {
	h := newHarness(t, room.New(room.Options{}), "alice", 40, 10)
	h.typeText("日本 👍 e\u0301")
	if got := h.row(9); got != "main › 日本 👍 e\u0301" {
		t.Fatalf("input row %q", got)
	}
	// "main › " 7 + 日本 4 + space 1 + 👍 2 + space 1 + é 1 = 16
	if x, y := h.term.Cursor(); x != 16 || y != 9 {
		t.Errorf("cursor at %d,%d, want 16,9", x, y)
	}
	h.key(tea.KeyLeft, 0) // over é, combining mark and all
	h.key(tea.KeyLeft, 0) // over the space
	h.key(tea.KeyLeft, 0) // over 👍
	if x, _ := h.term.Cursor(); x != 12 {
		t.Errorf("after three lefts the cursor is at %d, want 12", x)
	}
	h.key(tea.KeyBackspace, 0) // deletes the space after 本
	if got := h.row(9); got != "main › 日本👍 e\u0301" {
		t.Errorf("after backspace %q", got)
	}
}

func TestTheInputScrollsSidewaysToKeepTheCursorInView(t *testing.T) {
	h := newHarness(t, room.New(room.Options{}), "alice", 20, 10)
	h.typeText("abcdefghijklmnopqrstuvwxyz0123456789")
	got := h.row(9)
	if !strings.HasSuffix(got, "0123456789") || ansi.StringWidthWc(got) > 20 {
		t.Errorf("input row %q", got)
	}
	if x, _ := h.term.Cursor(); x != 19 {
		t.Errorf("cursor at %d, want the last column", x)
	}
	h.key('a', tea.ModCtrl) // home
	if got := h.row(9); !strings.HasPrefix(got, "main › abcdefghijkl") {
		t.Errorf("after Home %q", got)
	}
	if x, _ := h.term.Cursor(); x != 7 {
		t.Errorf("after Home the cursor is at %d", x)
	}
	h.key('k', tea.ModCtrl) // kill to end
	if got := h.row(9); got != "main ›" {
		t.Errorf("after Ctrl+K %q", got)
	}
}

func TestATinyWindowSaysSoAndRecovers(t *testing.T) {
	h := newHarness(t, room.New(room.Options{}), "alice", 80, 24)
	h.update(resizeMsg{12, 3})
	h.term.Resize(12, 3)
	h.update(resizeMsg{12, 3})
	if got := h.row(0); got != "Need ≥20x8" {
		t.Errorf("row 0 %q", got)
	}
	h.typeText("still typing")
	h.term.Resize(60, 12)
	h.update(resizeMsg{60, 12})
	if got := h.row(11); got != "main › still typing" {
		t.Errorf("input after growing back %q", got)
	}
	if !strings.Contains(h.row(0), "1 online") {
		t.Errorf("top bar %q", h.row(0))
	}
}

// "Window too small" is said in whole words at every size it appears, down
// to 10x3, never cut off.
func TestTooSmallIsSaidInWordsThatFit(t *testing.T) {
	whole := map[string]bool{"Window too small: chatroom needs 20x8.": true, "Too small: needs ≥20x8": true, "Need ≥20x8": true}
	h := newHarness(t, room.New(room.Options{}), "alice", 80, 24)
	for _, sz := range [][2]int{{10, 3}, {19, 30}, {21, 5}, {30, 7}, {37, 7}, {60, 4}} {
		h.term.Resize(sz[0], sz[1])
		h.update(resizeMsg{sz[0], sz[1]})
		if got := h.row(0); !whole[got] {
			t.Errorf("at %dx%d row 0 says %q", sz[0], sz[1], got)
		}
	}
}

// An invitation is a banner: typing goes on to the input line, y, n and
// Enter included; Alt+N declines.
func TestAnInvitationIsABannerThatTakesNoTyping(t *testing.T) {
	r := room.New(room.Options{})
	h := newHarness(t, r, "bob", 80, 12)
	alice, _ := r.Join("alice", "")
	h.typeText("yes, n")
	alice.Invite("bob")
	h.sync()
	if got := h.row(10); !strings.Contains(got, "alice invites you to a private chat [ OK ] [ Cancel ]  Alt+Y/Alt+N · 60s left") {
		t.Fatalf("banner row %q\n%s", got, h.term.Screen())
	}
	h.typeText("y to everyone")
	h.key(tea.KeyEnter, 0)
	evs := alice.Take(nil)
	for _, ev := range evs {
		if ev.Kind == room.Answered {
			t.Fatalf("typing answered the invitation: %+v", ev)
		}
	}
	if len(evs) == 0 || evs[len(evs)-1].Text != "yes, ny to everyone" {
		t.Fatalf("alice got %v, want bob's whole line", evs)
	}
	h.key('n', tea.ModAlt)
	evs = alice.Take(nil)
	if len(evs) != 1 || evs[0].Kind != room.Answered || evs[0].Accepted {
		t.Fatalf("after Alt+N alice got %+v, want a decline", evs)
	}
	h.sync()
	if strings.Contains(h.term.Screen(), "[ OK ]") {
		t.Error("banner still shown")
	}
	if got := h.row(11); got != "main ›" {
		t.Errorf("input row %q", got)
	}
}

// With two invitations waiting the banner says so; /accept NAME picks one,
// and the tab it opens moves nobody.
func TestAcceptingByNameOpensATabWithoutMovingAnyone(t *testing.T) {
	r := room.New(room.Options{})
	h := newHarness(t, r, "bob", 100, 12)
	alice, _ := r.Join("alice", "")
	carol, _ := r.Join("carol", "")
	alice.Invite("bob")
	carol.Invite("bob")
	h.sync()
	if got := h.row(10); !strings.Contains(got, "alice invites you") || !strings.Contains(got, "1 of 2") {
		t.Fatalf("banner row %q", got)
	}
	h.typeText("/accept carol")
	h.key(tea.KeyEnter, 0)
	h.sync()
	if got := h.row(10); !strings.Contains(got, "alice invites you") || strings.Contains(got, "1 of 2") {
		t.Errorf("after accepting carol, banner row %q", got)
	}
	if got := h.row(1); !strings.HasPrefix(got, " main  carol 1 ") {
		t.Errorf("tab bar %q: want carol's tab beside main, with one unread", got)
	}
	h.typeText("still for main")
	if got := h.row(11); got != "main › still for main" {
		t.Errorf("input row %q", got)
	}
	h.typeText("")
	h.key(tea.KeyEnter, 0)
	h.typeText("/decline")
	h.key(tea.KeyEnter, 0)
	h.sync()
	if strings.Contains(h.term.Screen(), "[ OK ]") {
		t.Error("banner still shown after declining the last")
	}
	var got []room.Kind
	for _, ev := range alice.Take(nil) {
		got = append(got, ev.Kind)
		if ev.Kind == room.Answered && ev.Accepted {
			t.Error("alice's invitation was accepted")
		}
	}
	if !slices.Contains(got, room.Answered) {
		t.Errorf("alice got %v, want an answer", got)
	}
}

func TestAMultiLinePasteIsOneMessage(t *testing.T) {
	r := room.New(room.Options{})
	h := newHarness(t, r, "alice", 60, 12)
	h.sync()
	h.update(tea.PasteMsg{Content: "first line\r\nsecond \x1b[31mline\r"})
	if got := h.row(11); got != "main › first line↵second line↵" {
		t.Errorf("input %q", got)
	}
	h.key(tea.KeyEnter, 0)
	h.sync()
	screen := h.term.Screen()
	if !strings.Contains(screen, "alice: first line\n      second line") {
		t.Errorf("message not shown as a block:\n%s", screen)
	}
}

func TestNameColoursAreStableAndReadable(t *testing.T) {
	th := themeFor(colorprofile.ANSI256)
	// A name gets the same colour from any theme of a profile, every time.
	if th.name("alice") != newTheme(colorprofile.ANSI256).name("alice") || th != themeFor(colorprofile.ANSI256) {
		t.Fatal("a name's colour changed")
	}
	seen := map[string]bool{}
	for _, n := range []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"} {
		seen[th.name(n)] = true
	}
	if len(seen) < 4 {
		t.Errorf("eight names share %d colours", len(seen))
	}
	if n := len(themeFor(colorprofile.ANSI).names); n < 10 {
		t.Errorf("%d name styles on a 16-colour terminal, want at least 10", n)
	}
	for _, c := range palette16 {
		if c == ansi.Yellow || c == ansi.White || c == ansi.Black || c > ansi.White {
			t.Errorf("16-colour palette holds %v, unreadable on one background", c)
		}
	}
	if th := themeFor(colorprofile.ASCII); strings.Contains(th.name("alice"), "38;") {
		t.Error("a colour on a terminal without colours")
	}
}

// A session that fell so far behind that its backlog dropped messages says
// how many, and draws the newest.
func TestASessionFarBehindSaysHowManyWereSkipped(t *testing.T) {
	r := room.New(room.Options{QueueLen: 8, MessageBurst: 100})
	h := newHarness(t, r, "alice", 80, 24)
	h.sync()
	bob, err := r.Join("bob", "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := bob.Say(fmt.Sprintf("message %02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	h.sync()
	screen := h.term.Screen()
	if !strings.Contains(screen, "⋯ 12 messages skipped: your connection fell behind") ||
		!strings.Contains(screen, "bob: message 19") || strings.Contains(screen, "bob: message 11") {
		t.Errorf("after falling 20 messages behind a backlog of 8:\n%s", screen)
	}
}

// The active tab is always drawn and highlighted, however many tabs there
// are; ‹ and › say that more are to either side.
func TestTheActiveTabIsAlwaysDrawn(t *testing.T) {
	h := newHarness(t, room.New(room.Options{}), "alice", 30, 12)
	for i, peer := range []string{"bartholomew", "cassandra", "dorothea"} {
		h.update(eventsMsg{{Kind: room.ChatOpened, Chat: room.ChatID(i + 1), From: "alice", To: peer}})
	}
	// Opening a chat moves nobody; go to the last.
	h.m.switchTo(3)
	h.update(resizeMsg{30, 12})
	if got := h.row(1); !strings.HasPrefix(got, "‹") || !strings.Contains(got, " dorothea") {
		t.Errorf("with the last tab active, row 1 is %q", got)
	}
	h.m.switchTo(0)
	h.update(resizeMsg{30, 12})
	if got := h.row(1); !strings.HasPrefix(got, " main ") || !strings.Contains(got, "›") || strings.Contains(got, "dorothea") {
		t.Errorf("with main active, row 1 is %q", got)
	}
	h.m.switchTo(2)
	h.update(resizeMsg{30, 12})
	if got := h.row(1); !strings.HasPrefix(got, "‹ cassandra ") {
		t.Errorf("with cassandra active, row 1 is %q", got)
	}
}

// A mention is the name as a word of its own: "bob," and "@bob" are, and
// "bobby" is not.
func TestMentionsAreWholeNames(t *testing.T) {
	for _, c := range []struct {
		text, name string
		want       bool
	}{
		{"hey bob, look", "bob", true}, {"@bob", "bob", true}, {"bob", "bob", true}, {"thanks bob.", "bob", true},
		{"bobby", "bob", false}, {"Bob", "bob", false}, {"jimbob and bob_2", "bob", false}, {"bobby and bob", "bob", true},
		{"ask bob. later", "bob.", true}, {"", "bob", false},
	} {
		if got := mentions(c.text, c.name); got != c.want {
			t.Errorf("mentions(%q, %q) = %v, want %v", c.text, c.name, got, c.want)
		}
	}
}

// An ignore list holds maxIgnores people; the next is refused with a reason.
func TestTheIgnoreListIsBounded(t *testing.T) {
	r := room.New(room.Options{})
	h := newHarness(t, r, "alice", 120, 12)
	maxIgnores := DefaultLimits.MaxIgnores
	for i := range maxIgnores + 1 {
		if _, err := r.Join(fmt.Sprintf("p%d", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	for i := range maxIgnores + 1 {
		h.m.ignoreCmd(fmt.Sprintf("p%d", i))
	}
	if len(h.m.ignores) != maxIgnores {
		t.Errorf("%d ignored, want %d", len(h.m.ignores), maxIgnores)
	}
	h.update(resizeMsg{120, 12})
	if !strings.Contains(h.term.Screen(), "You ignore 100 people, the most you may; /unignore someone first.") {
		t.Errorf("no refusal shown:\n%s", h.term.Screen())
	}
}

// With thousands online, the top bar's "+k more" opens a list of everyone:
// it scrolls, a click on a name invites, Esc closes it, and typing goes on
// to the input line meanwhile.
func TestEveryoneCanBeReachedFromTheTopBar(t *testing.T) {
	r := room.New(room.Options{})
	members := map[string]room.Member{}
	for i := range 3000 {
		name := fmt.Sprintf("u%04d", i)
		mem, err := r.Join(name, "")
		if err != nil {
			t.Fatal(err)
		}
		members[name] = mem
	}
	h := newHarness(t, r, "viewer", 80, 24)
	h.update(newsMsg{Online: r.Online()})
	top := h.row(0)
	x := strings.Index(top, "more")
	if !strings.HasPrefix(top, " 3001 online ") || x < 0 {
		t.Fatalf("top bar %q", top)
	}
	h.update(tea.MouseClickMsg{X: x, Y: 0, Button: tea.MouseLeft})
	if got := h.row(2); !strings.HasPrefix(got, " 3001 online · rows 1-20 of 1501 · click a name to invite") || !strings.HasSuffix(got, "[ Esc ]") {
		t.Fatalf("list header %q", got)
	}
	if got := h.row(3); !strings.HasPrefix(got, " u0000") {
		t.Errorf("first row %q", got)
	}
	h.typeText("still typing")
	for range 10 {
		h.key(tea.KeyPgDown, 0)
	}
	row := h.row(10)
	if strings.HasPrefix(h.row(3), " u0000") || !strings.HasPrefix(row, " u") {
		t.Fatalf("after scrolling, row 10 %q:\n%s", row, h.term.Screen())
	}
	name := strings.Fields(row)[1]
	h.update(tea.MouseClickMsg{X: strings.Index(row, name), Y: 10, Button: tea.MouseLeft})
	if evs := members[name].Take(nil); len(evs) == 0 || evs[len(evs)-1].Kind != room.Invited {
		t.Errorf("clicking %s in the list: they got %v", name, evs)
	}
	screen := h.term.Screen()
	if strings.Contains(screen, "click a name to invite") || !strings.Contains(screen, "Invitation sent to "+name) {
		t.Errorf("after the click the list should be closed and the stream say so:\n%s", screen)
	}
	if got := h.row(23); got != "main › still typing" {
		t.Errorf("input row %q", got)
	}
	h.typeText("")
	h.update(tea.MouseClickMsg{X: 1, Y: 0, Button: tea.MouseLeft}) // the count
	h.key(tea.KeyEscape, 0)
	if strings.Contains(h.term.Screen(), "click a name to invite") {
		t.Error("Esc did not close the list")
	}
}

// Up remembers the last historyMax lines sent, and stops at the oldest.
func TestSentLinesAreBounded(t *testing.T) {
	var h sentLines
	for i := range historyMax + 50 {
		h.remember(fmt.Sprintf("line %d", i))
	}
	got := ""
	for n := 0; ; n++ {
		s, ok := h.walk(-1, "draft")
		if !ok {
			if n != historyMax || got != "line 50" {
				t.Errorf("walked back %d lines to %q, want %d to line 50", n, got, historyMax)
			}
			break
		}
		got = s
	}
	for {
		s, ok := h.walk(1, "")
		if !ok {
			break
		}
		got = s
	}
	if got != "draft" {
		t.Errorf("walking forward ends at %q, want the draft", got)
	}
}

// Your own messages and those naming you are drawn apart, for you alone:
// the others' copies are the shared lines.
func TestOwnMessagesAndMentionsAreDrawnApart(t *testing.T) {
	r := room.New(room.Options{MessageBurst: 100})
	var out bytes.Buffer
	m := testModel(r, &out, 80, 24)
	m.start("bob")
	m.Update(resizeMsg{80, 24})
	alice, _ := r.Join("alice", "")
	m.member.Take(nil)
	th := m.th
	for _, c := range []struct {
		say  func() error
		want string
	}{
		{func() error { return alice.Say("plain") }, th.name("alice") + "alice" + th.reset + ": plain"},
		{func() error { return alice.Say("hi bob") }, th.name("alice") + "alice" + th.reset + th.tabUnread + ": hi bob"},
		{func() error { return m.member.Say("mine") }, th.name("bob") + th.self + "bob" + th.reset + ": mine"},
	} {
		out.Reset()
		if err := c.say(); err != nil {
			t.Fatal(err)
		}
		m.Update(eventsMsg(m.member.Take(nil)))
		if !strings.Contains(out.String(), c.want) {
			t.Errorf("drew %q, want it to hold %q", out.String(), c.want)
		}
	}
}

// A URL that fits in a line is never broken, even at a hyphen, and is a
// hyperlink; a fragment of one too long for a line is not.
func TestURLsAreWholeAndLinked(t *testing.T) {
	th := themeFor(colorprofile.ANSI256).timeless(true)
	url := "https://ex.com/abc-defghijk"
	lines := layoutLines(th, time.Now(), 42, "see this and that "+url+" ok", "", 0, "")
	if len(lines) != 2 || !strings.HasPrefix(strings.TrimLeft(lines[1], " "), "\x1b]8;;"+url+"\x1b\\"+url+"\x1b]8;;\x1b\\") {
		t.Errorf("lines %q", lines)
	}
	long := "https://example.com/" + strings.Repeat("x", 60)
	for _, l := range layoutLines(th, time.Now(), 42, "see "+long, "", 0, "") {
		if strings.Contains(l, "\x1b]8;;") {
			t.Errorf("a fragment was linked: %q", l)
		}
	}
}
