package sshapp_test

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"chatroom/internal/termtest"
	"chatroom/internal/testkit"
	"chatroom/internal/testserver"
	"chatroom/room"
)

func TestJoiningShowsTheRoomAndWhoIsOnline(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice")
	testkit.WaitRow(t, alice, 0, `^ 1 online  alice$`)

	bob := testkit.Join(t, ts.Addr, "Bob")
	testkit.WaitText(t, alice, "→ Bob joined")
	testkit.WaitRow(t, alice, 0, `^ 2 online  alice Bob$`)
	testkit.WaitRow(t, bob, 0, `^ 2 online  alice Bob$`)
	testkit.WaitRow(t, bob, 1, `^ main .*Ctrl\+N/P tabs`)
	if strings.Contains(bob.Screen(), "alice joined") {
		t.Error("bob sees a notice from before he joined")
	}
}

func TestMessagesReachEveryoneWhoJoinedBeforeThem(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice")
	testkit.Say(t, alice, "before bob")
	testkit.WaitText(t, alice, "alice: before bob")

	bob := testkit.Join(t, ts.Addr, "bob")
	testkit.Say(t, alice, "after bob")
	testkit.WaitText(t, bob, "alice: after bob")
	if strings.Contains(bob.Screen(), "before bob") {
		t.Error("bob sees a message sent before he joined")
	}
	testkit.Say(t, bob, "hi alice")
	testkit.WaitText(t, alice, "bob: hi alice")
	// The message is stamped with a short time and the input line is empty again.
	testkit.WaitFor(t, alice, "a time stamp", func(s string) bool {
		for _, l := range strings.Split(s, "\n") {
			if strings.HasSuffix(l, "bob: hi alice") && len(l) > 6 && l[2] == ':' {
				return true
			}
		}
		return false
	})
	testkit.WaitRow(t, bob, 23, `^main ›$`)
}

func TestEmptyLinesSendNothing(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice")
	bob := testkit.Join(t, ts.Addr, "bob")
	testkit.Say(t, alice, "   ")
	testkit.Say(t, alice, "")
	testkit.Say(t, alice, "marker")
	testkit.WaitText(t, bob, "alice: marker")
	if n := strings.Count(bob.Screen(), "alice:"); n != 1 {
		t.Errorf("bob sees %d messages from alice, want only the marker", n)
	}
}

func TestATakenNameGetsTheJoinScreenAndAnother(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	testkit.Join(t, ts.Addr, "alice")
	again := testkit.Connect(t, ts.Addr, "alice")
	testkit.WaitText(t, again, `"alice" is taken`)
	testkit.WaitText(t, again, "Name: alice")
	testkit.Say(t, again, "2")
	testkit.WaitText(t, again, "Welcome, alice2.")
	testkit.WaitRow(t, again, 0, `alice alice2`)
}

func TestAnInvalidNameGetsTheJoinScreen(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	for _, tc := range []struct{ user, why string }{
		{"-dash", "must start with a letter or digit"},
		{"waytoolongforthischatroom_x", "too long"},
		{"has space", "may only hold letters"},
		{"\x1b[2J\x1b]0;pwned\x07evil", "must start with a letter or digit"},
	} {
		c := testkit.Connect(t, ts.Addr, tc.user)
		testkit.WaitText(t, c, tc.why)
		testkit.WaitRow(t, c, 0, `^ chatroom$`)
		if strings.Contains(c.Screen(), "pwned") {
			t.Errorf("escape sequence text from the user name reached the screen:\n%s", c.Screen())
		}
		testkit.Send(t, c, testkit.KeyCtrlU)
		testkit.Say(t, c, "fine")
		testkit.WaitText(t, c, "Welcome, fine.")
		testkit.Say(t, c, "/quit")
		testkit.WaitDone(t, c)
	}
}

func TestEscOnTheJoinScreenLeaves(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	testkit.Join(t, ts.Addr, "alice")
	c := testkit.Connect(t, ts.Addr, "alice")
	testkit.WaitText(t, c, "taken")
	testkit.Send(t, c, testkit.KeyEsc)
	testkit.WaitDone(t, c)
	if st := c.ExitStatus(); st != 0 {
		t.Errorf("exit status %d", st)
	}
	testkit.WaitText(t, c, "Bye!")
}

func TestConcurrentJoinsOfOneNameLetExactlyOneIn(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	const n = 4
	clients := make([]*termtest.Client, n)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() { clients[i] = testkit.Connect(t, ts.Addr, "zed") })
	}
	wg.Wait()
	in, refused := 0, 0
	for _, c := range clients {
		testkit.WaitFor(t, c, "joined or refused", func(s string) bool {
			return strings.Contains(s, "Welcome, zed.") || strings.Contains(s, "taken")
		})
		if strings.Contains(c.Screen(), "Welcome, zed.") {
			in++
		} else {
			refused++
		}
	}
	if in != 1 || refused != n-1 {
		t.Fatalf("%d got in and %d were refused, want 1 and %d", in, refused, n-1)
	}
	if ts.Room.Online().Len() != 1 {
		t.Errorf("%d online", ts.Room.Online().Len())
	}
}

func TestLeavingIsSeenOnceWhicheverWayItHappens(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice")
	for _, way := range []struct{ name, keys string }{
		{"quitter", "/quit\r"},
		{"interrupter", testkit.KeyCtrlC},
		{"hangup", ""},
	} {
		c := testkit.Join(t, ts.Addr, way.name)
		testkit.WaitText(t, alice, "→ "+way.name+" joined")
		if way.keys != "" {
			testkit.Send(t, c, way.keys)
			testkit.WaitDone(t, c)
			testkit.WaitText(t, c, "Bye!")
		} else {
			c.Close()
		}
		testkit.WaitText(t, alice, "← "+way.name+" left")
		testkit.WaitRow(t, alice, 0, `^ 1 online  alice$`)
	}
	// Once more after the dust settles: still one notice each.
	testkit.Say(t, alice, "done")
	testkit.WaitText(t, alice, "alice: done")
	for _, name := range []string{"quitter", "interrupter", "hangup"} {
		if n := strings.Count(alice.Screen(), "← "+name+" left"); n != 1 {
			t.Errorf("%s's leave notice shown %d times", name, n)
		}
	}
}

func TestTheTopBarCutsNamesThatDoNotFit(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	for i := range 30 {
		if _, err := ts.Room.Join(fmt.Sprintf("user%02d", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	alice := testkit.Join(t, ts.Addr, "alice", termtest.Options{Width: 60, Height: 20})
	testkit.WaitRow(t, alice, 0, `^ 31 online  alice user00 user01 .* \+\d+ more$`)
	top := alice.Row(0)
	if len(top) > 60 {
		t.Errorf("top bar is %d wide on a 60-column terminal: %q", len(top), top)
	}
	var shown, more int
	fmt.Sscanf(top[strings.LastIndex(top, "+"):], "+%d more", &more)
	shown = len(strings.Fields(top)) - 4 // "31 online" and "+k more"
	if shown+more != 31 {
		t.Errorf("%d names shown + %d more != 31 online: %q", shown, more, top)
	}
}

func TestLongMessagesWrapToTheWidth(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice", termtest.Options{Width: 40, Height: 20})
	bob := testkit.Join(t, ts.Addr, "bob")
	testkit.Say(t, bob, "the quick brown fox jumps over the lazy dog and keeps running far away")
	testkit.WaitText(t, alice, "bob: the quick brown fox jumps")
	testkit.WaitText(t, alice, "      over the lazy dog and keeps")
	testkit.WaitText(t, alice, "      running far away")
	for i, l := range strings.Split(alice.Screen(), "\n") {
		if len([]rune(l)) > 40 {
			t.Errorf("row %d is wider than the terminal: %q", i, l)
		}
	}
}

func TestResizingRelaysEverything(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice", termtest.Options{Width: 100, Height: 20})
	bob := testkit.Join(t, ts.Addr, "bob")
	testkit.Say(t, bob, "one two three four five six seven eight nine ten eleven twelve")
	testkit.WaitText(t, alice, "bob: one two three four five six seven eight nine ten eleven twelve")
	if err := alice.Resize(40, 12); err != nil {
		t.Fatal(err)
	}
	testkit.WaitText(t, alice, "bob: one two three four five six")
	testkit.WaitText(t, alice, "      seven eight nine ten eleven")
	testkit.WaitRow(t, alice, 11, `^main ›`)
	testkit.WaitRow(t, alice, 0, `^ 2 online  alice bob$`)
	// Typing still lands on the new input row.
	testkit.Send(t, alice, "typed")
	testkit.WaitRow(t, alice, 11, `^main › typed$`)
}

func TestScrollingBackAndReturningOnOwnMessage(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{Room: room.Options{MessageBurst: 100}})
	alice := testkit.Join(t, ts.Addr, "alice", termtest.Options{Width: 60, Height: 12})
	bob, err := ts.Room.Join("bob", "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if err := bob.Say(fmt.Sprintf("line %02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	go func() { // bob reads nothing; keep his queue drained
		for range bob.Ready() {
			bob.Take(nil)
		}
	}()
	testkit.WaitText(t, alice, "bob: line 39")
	if strings.Contains(alice.Screen(), "line 30") {
		t.Fatal("a 12-row screen shows more than it can hold")
	}
	testkit.Send(t, alice, testkit.KeyPgUp)
	testkit.WaitText(t, alice, "bob: line 31")
	testkit.WaitFor(t, alice, "line 39 scrolled away", func(s string) bool { return !strings.Contains(s, "line 39") })
	testkit.WaitRow(t, alice, 1, `scrolled up · PgDn`)
	alice.Wheel(10, 5, true)
	testkit.WaitText(t, alice, "bob: line 28")

	// New messages do not move the view; they are counted.
	bob.Say("while away")
	testkit.WaitRow(t, alice, 1, `↓ 1 new · PgDn`)
	if strings.Contains(alice.Screen(), "while away") {
		t.Error("a new message pulled the scrolled view down")
	}
	alice.Wheel(10, 5, false)
	testkit.Send(t, alice, testkit.KeyPgDown)
	testkit.Send(t, alice, testkit.KeyPgDown)
	testkit.WaitText(t, alice, "bob: while away")
	testkit.WaitRow(t, alice, 1, `Ctrl\+N/P tabs`)

	// Scrolled up again, your own message brings you back down.
	testkit.Send(t, alice, testkit.KeyPgUp)
	testkit.WaitRow(t, alice, 1, `scrolled up`)
	testkit.Say(t, alice, "back")
	testkit.WaitText(t, alice, "alice: back")
	testkit.WaitText(t, alice, "bob: while away")
}

func TestCommands(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice", termtest.Options{Width: 100, Height: 30})
	bob := testkit.Join(t, ts.Addr, "bob")

	testkit.Say(t, alice, "/help")
	testkit.WaitText(t, alice, "/invite NAME"+strings.Repeat(" ", 12)+"invite NAME to a private chat")
	testkit.WaitText(t, alice, "/quit"+strings.Repeat(" ", 19)+"leave")

	testkit.Say(t, alice, "/who")
	testkit.WaitText(t, alice, "2 online: alice (guest), bob (guest)")

	testkit.Say(t, alice, "/frobnicate now")
	testkit.WaitText(t, alice, "Unknown command /frobnicate. /help lists the commands")

	testkit.Say(t, alice, "//slash is literal")
	testkit.WaitText(t, bob, "alice: /slash is literal")

	testkit.Say(t, alice, "/close")
	testkit.WaitText(t, alice, "The main room cannot be closed")

	for _, s := range []string{"Commands:", "2 online:", "Unknown command", "cannot be closed"} {
		if strings.Contains(bob.Screen(), s) {
			t.Errorf("bob sees alice's command output %q", s)
		}
	}
}

func TestMouseCanBeTurnedOffForSelectingText(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice")
	testkit.Join(t, ts.Addr, "bob")
	testkit.WaitRow(t, alice, 0, `alice bob$`)
	testkit.Say(t, alice, "/mouse")
	testkit.WaitText(t, alice, "Mouse off")
	// With reporting off the terminal keeps clicks to itself (to select).
	alice.Click(testkit.Find(t, alice, 0, "bob"), 0)
	testkit.Say(t, alice, "/mouse")
	testkit.WaitText(t, alice, "Mouse on")
	if strings.Contains(alice.Screen(), "Invitation sent") {
		t.Fatal("a click reached the server while mouse reporting was off")
	}
	alice.Click(testkit.Find(t, alice, 0, "bob"), 0)
	testkit.WaitText(t, alice, "Invitation sent to bob")
}

func TestPastingSeveralLinesSendsOneBlock(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice")
	bob := testkit.Join(t, ts.Addr, "bob")
	alice.Paste("line one\rline two\rline three")
	testkit.WaitRow(t, alice, 23, `^main › line one↵line two↵line three$`)
	testkit.Send(t, alice, testkit.KeyEnter)
	testkit.WaitText(t, bob, "alice: line one\n      line two\n      line three")
}

// A crowd that keeps coming (a reconnect storm) is held while it lasts:
// once it has passed, the people who came are one line, not a line for
// each quarter second they took.
func TestACrowdThatKeepsComingIsOneLineOnceItPasses(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	viewer := testkit.Join(t, ts.Addr, "viewer", termtest.Options{Width: 100, Height: 30})
	join := func(name string) {
		if _, err := ts.Room.Join(name, ""); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 25 { // a crowd, drawn at the room's pace
		join(fmt.Sprintf("a%02d", i))
	}
	testkit.WaitText(t, viewer, "→ 25 people joined: a00, a01, a02 and 22 more")
	// 30 more, one every 40 ms: for longer than the session gathers news,
	// never quiet for long.
	tick := time.NewTicker(40 * time.Millisecond)
	defer tick.Stop()
	for i := range 30 {
		<-tick.C
		join(fmt.Sprintf("b%02d", i))
	}
	testkit.WaitRow(t, viewer, 0, `^ 56 online `)
	testkit.WaitText(t, viewer, "→ 30 people joined: b00, b01, b02 and 27 more")
}

// People who come and go within a quarter of a second are one line, not a
// line each; a kick is its own line.
func TestABurstOfJoinsAndLeavesIsOneLine(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	viewer := testkit.Join(t, ts.Addr, "viewer", termtest.Options{Width: 100, Height: 30})
	var crowd []room.Member
	for i := range 12 {
		m, err := ts.Room.Join(fmt.Sprintf("p%02d", i), "")
		if err != nil {
			t.Fatal(err)
		}
		crowd = append(crowd, m)
	}
	testkit.WaitText(t, viewer, "→ 12 people joined: p00, p01, p02 and 9 more")
	testkit.WaitRow(t, viewer, 0, `^ 13 online `)
	for _, m := range crowd[:11] {
		m.Leave()
	}
	testkit.WaitText(t, viewer, "← 11 people left: p00, p01, p02 and 8 more")
	ts.Room.Kick("p11", "kicked by a test")
	testkit.WaitText(t, viewer, "← p11 left (kicked by a test)")
	testkit.Say(t, viewer, "fence")
	testkit.WaitText(t, viewer, "viewer: fence")
	screen := viewer.Screen()
	if strings.Count(screen, " joined") != 1 || strings.Count(screen, "p11 left") != 1 {
		t.Errorf("want one line of joins and p11's kick once:\n%s", screen)
	}
}

// A window too small for the chat says so in whole words, over SSH, down
// to 10x3, and the chat comes back when it grows.
func TestATinyTerminalIsToldInWordsThatFit(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	alice := testkit.Join(t, ts.Addr, "alice", termtest.Options{Width: 60, Height: 12})
	for _, sz := range []struct {
		w, h int
		want string
	}{{10, 3, `^Need ≥20x8$`}, {30, 6, `^Too small: needs ≥20x8$`}, {40, 7, `^Window too small: chatroom needs 20x8\.$`}} {
		if err := alice.Resize(sz.w, sz.h); err != nil {
			t.Fatal(err)
		}
		testkit.WaitRow(t, alice, 0, sz.want)
	}
	if err := alice.Resize(60, 12); err != nil {
		t.Fatal(err)
	}
	testkit.WaitRow(t, alice, 0, `^ 1 online  alice$`)
}

// Up and Down walk the lines you sent; Tab completes a name (whoever spoke
// last first) and a command.
func TestUpWalksSentLinesAndTabCompletes(t *testing.T) {
	ts := testserver.Start(t, quick)
	alice := testkit.Join(t, ts.Addr, "alice")
	testkit.Join(t, ts.Addr, "albert")
	bob := testkit.Join(t, ts.Addr, "bob")
	testkit.Say(t, alice, "hi bob")
	testkit.WaitText(t, bob, "alice: hi bob")

	testkit.Say(t, bob, "first")
	testkit.Say(t, bob, "second")
	testkit.WaitText(t, bob, "bob: second")
	testkit.Send(t, bob, "draft")
	testkit.Send(t, bob, testkit.KeyUp)
	testkit.WaitRow(t, bob, 23, `^main › second$`)
	testkit.Send(t, bob, testkit.KeyUp)
	testkit.WaitRow(t, bob, 23, `^main › first$`)
	testkit.Send(t, bob, testkit.KeyDown+testkit.KeyDown)
	testkit.WaitRow(t, bob, 23, `^main › draft$`)
	testkit.Send(t, bob, testkit.KeyCtrlU)

	testkit.Send(t, bob, "al\t")
	testkit.WaitRow(t, bob, 23, `^main › alice:$`) // alice spoke last
	testkit.Send(t, bob, "\t")
	testkit.WaitRow(t, bob, 23, `^main › albert:$`)
	testkit.Send(t, bob, testkit.KeyCtrlU+"/inv\t")
	testkit.WaitRow(t, bob, 23, `^main › /invite$`)
}

// /me, /quiet and /timestamp, over SSH.
func TestMeQuietAndTimestamps(t *testing.T) {
	ts := testserver.Start(t, quick)
	alice := testkit.Join(t, ts.Addr, "alice")
	bob := testkit.Join(t, ts.Addr, "bob")
	line := func(c *termtest.Client, pattern string) {
		t.Helper()
		re := regexp.MustCompile("(?m)" + pattern)
		testkit.WaitFor(t, c, "a line matching "+pattern, re.MatchString)
	}
	testkit.Say(t, alice, "/me waves")
	line(bob, `^\d\d:\d\d \* alice waves$`)
	testkit.Say(t, bob, "/timestamp off")
	line(bob, `^\* alice waves$`)
	testkit.Say(t, bob, "/quiet")
	testkit.WaitText(t, bob, "Joins and leaves are hidden")
	testkit.Join(t, ts.Addr, "carol")
	testkit.WaitFor(t, alice, "carol to join", func(s string) bool { return strings.Contains(s, "carol joined") || strings.Contains(s, ", carol") })
	testkit.Say(t, alice, "after carol")
	testkit.WaitText(t, bob, "alice: after carol")
	testkit.WaitRow(t, bob, 0, `^ 3 online`) // bob has the news, and drew it
	if strings.Contains(bob.Screen(), "carol joined") {
		t.Errorf("/quiet still shows joins:\n%s", bob.Screen())
	}
	testkit.Say(t, bob, "/timestamp on")
	line(bob, `^\d\d:\d\d Timestamps on\.$`)
}

// /away marks you in the people list and /whois until /back or your next
// message.
func TestAwayAndBack(t *testing.T) {
	ts := testserver.Start(t, quick)
	alice := testkit.Join(t, ts.Addr, "alice")
	bob := testkit.Join(t, ts.Addr, "bob")
	testkit.Say(t, alice, "/away lunch")
	testkit.WaitText(t, alice, "You are marked away")
	testkit.Say(t, bob, "/whois alice")
	testkit.WaitText(t, bob, "online for")
	testkit.WaitText(t, bob, ", away (lunch).")
	bob.Click(1, 0) // the count: the list of everyone
	testkit.WaitRow(t, bob, 3, `^zalice +~bob$`)
	testkit.Send(t, bob, testkit.KeyEsc)
	testkit.Say(t, alice, "back now")
	testkit.WaitText(t, alice, "You are back.")
	bob.Click(1, 0)
	testkit.WaitRow(t, bob, 3, `^~alice +~bob$`)
}

// A URL reaches the screen whole and as a hyperlink (OSC 8).
func TestURLsArriveWholeAndLinked(t *testing.T) {
	ts := testserver.Start(t, quick)
	var raw testkit.LogBuffer
	alice := testkit.Join(t, ts.Addr, "alice", termtest.Options{Width: 50, Height: 12, Output: &raw})
	bob := testkit.Join(t, ts.Addr, "bob")
	url := "https://example.com/some-path-here"
	testkit.Say(t, bob, "look at this one: "+url)
	testkit.WaitText(t, alice, "      "+url)
	if !strings.Contains(raw.String(), "\x1b]8;;"+url+"\x1b\\"+url+"\x1b]8;;\x1b\\") {
		t.Errorf("no hyperlink in %q", raw.String())
	}
}

// Over SSH, one's own messages have the name underlined and a message
// naming one is bold, on one's own screen only.
func TestOwnMessagesAndMentionsStandOut(t *testing.T) {
	ts := testserver.Start(t, quick)
	var bobRaw, carolRaw testkit.LogBuffer
	alice := testkit.Join(t, ts.Addr, "alice")
	bob := testkit.Join(t, ts.Addr, "bob", termtest.Options{Output: &bobRaw})
	carol := testkit.Join(t, ts.Addr, "carol", termtest.Options{Output: &carolRaw})
	testkit.Say(t, alice, "hey bob, look")
	testkit.Say(t, bob, "mine")
	testkit.WaitText(t, carol, "bob: mine")
	testkit.WaitText(t, bob, "bob: mine")
	const bold, underlined = "\x1b[1m: hey bob, look", "\x1b[1;4mbob\x1b[m: mine"
	if s := bobRaw.String(); !strings.Contains(s, bold) || !strings.Contains(s, underlined) {
		t.Errorf("bob's screen has neither the mention in bold nor his name underlined: %q", s)
	}
	if s := carolRaw.String(); strings.Contains(s, bold) || strings.Contains(s, underlined) {
		t.Errorf("carol's screen marks bob's messages: %q", s)
	}
}
