package sshapp_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"chatroom/internal/termtest"
	"chatroom/room"
)

func TestJoiningShowsTheRoomAndWhoIsOnline(t *testing.T) {
	ts := startServer(t, room.Options{})
	alice := join(t, ts, "alice")
	waitRow(t, alice, 0, `^ 1 online  alice$`)
	waitText(t, alice, "→ alice joined")

	bob := join(t, ts, "Bob")
	waitText(t, alice, "→ Bob joined")
	waitRow(t, alice, 0, `^ 2 online  alice Bob$`)
	waitRow(t, bob, 0, `^ 2 online  alice Bob$`)
	waitRow(t, bob, 1, `^ main .*Ctrl\+N/P tabs`)
	if strings.Contains(bob.Screen(), "alice joined") {
		t.Error("bob sees a notice from before he joined")
	}
}

func TestMessagesReachEveryoneWhoJoinedBeforeThem(t *testing.T) {
	ts := startServer(t, room.Options{})
	alice := join(t, ts, "alice")
	say(t, alice, "before bob")
	waitText(t, alice, "alice: before bob")

	bob := join(t, ts, "bob")
	say(t, alice, "after bob")
	waitText(t, bob, "alice: after bob")
	if strings.Contains(bob.Screen(), "before bob") {
		t.Error("bob sees a message sent before he joined")
	}
	say(t, bob, "hi alice")
	waitText(t, alice, "bob: hi alice")
	// The message is stamped with a short time and the input line is empty again.
	waitFor(t, alice, "a time stamp", func(s string) bool {
		for _, l := range strings.Split(s, "\n") {
			if strings.HasSuffix(l, "bob: hi alice") && len(l) > 6 && l[2] == ':' {
				return true
			}
		}
		return false
	})
	waitRow(t, bob, 23, `^>$`)
}

func TestEmptyLinesSendNothing(t *testing.T) {
	ts := startServer(t, room.Options{})
	alice := join(t, ts, "alice")
	bob := join(t, ts, "bob")
	say(t, alice, "   ")
	say(t, alice, "")
	say(t, alice, "marker")
	waitText(t, bob, "alice: marker")
	if n := count(bob.Screen(), "alice:"); n != 1 {
		t.Errorf("bob sees %d messages from alice, want only the marker", n)
	}
}

func TestATakenNameGetsTheJoinScreenAndAnother(t *testing.T) {
	ts := startServer(t, room.Options{})
	join(t, ts, "alice")
	again := connect(t, ts, "alice")
	waitText(t, again, `"alice" is taken`)
	waitText(t, again, "Name: alice")
	say(t, again, "2")
	waitText(t, again, "Welcome, alice2.")
	waitRow(t, again, 0, `alice alice2`)
}

func TestAnInvalidNameGetsTheJoinScreen(t *testing.T) {
	ts := startServer(t, room.Options{})
	for _, tc := range []struct{ user, why string }{
		{"-dash", "must start with a letter or digit"},
		{"waytoolongforthischatroom_x", "too long"},
		{"has space", "may only hold letters"},
		{"\x1b[2J\x1b]0;pwned\x07evil", "must start with a letter or digit"},
	} {
		c := connect(t, ts, tc.user)
		waitText(t, c, tc.why)
		waitRow(t, c, 0, `^ chatroom$`)
		if strings.Contains(c.Screen(), "pwned") {
			t.Errorf("escape sequence text from the user name reached the screen:\n%s", c.Screen())
		}
		send(t, c, keyCtrlU)
		say(t, c, "fine")
		waitText(t, c, "Welcome, fine.")
		say(t, c, "/quit")
		waitDone(t, c)
	}
}

func TestEscOnTheJoinScreenLeaves(t *testing.T) {
	ts := startServer(t, room.Options{})
	join(t, ts, "alice")
	c := connect(t, ts, "alice")
	waitText(t, c, "taken")
	send(t, c, keyEsc)
	waitDone(t, c)
	if st := c.ExitStatus(); st != 0 {
		t.Errorf("exit status %d", st)
	}
	waitText(t, c, "Bye!")
}

func TestConcurrentJoinsOfOneNameLetExactlyOneIn(t *testing.T) {
	ts := startServer(t, room.Options{})
	const n = 4
	clients := make([]*termtest.Client, n)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() { clients[i] = connect(t, ts, "zed") })
	}
	wg.Wait()
	in, refused := 0, 0
	for _, c := range clients {
		waitFor(t, c, "joined or refused", func(s string) bool {
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
	if ts.room.Online().Len() != 1 {
		t.Errorf("%d online", ts.room.Online().Len())
	}
}

func TestLeavingIsSeenOnceWhicheverWayItHappens(t *testing.T) {
	ts := startServer(t, room.Options{})
	alice := join(t, ts, "alice")
	for _, way := range []struct{ name, keys string }{
		{"quitter", "/quit\r"},
		{"interrupter", keyCtrlC},
		{"hangup", ""},
	} {
		c := join(t, ts, way.name)
		waitText(t, alice, "→ "+way.name+" joined")
		if way.keys != "" {
			send(t, c, way.keys)
			waitDone(t, c)
			waitText(t, c, "Bye!")
		} else {
			c.Close()
		}
		waitText(t, alice, "← "+way.name+" left")
		waitRow(t, alice, 0, `^ 1 online  alice$`)
	}
	// Once more after the dust settles: still one notice each.
	say(t, alice, "done")
	waitText(t, alice, "alice: done")
	for _, name := range []string{"quitter", "interrupter", "hangup"} {
		if n := count(alice.Screen(), "← "+name+" left"); n != 1 {
			t.Errorf("%s's leave notice shown %d times", name, n)
		}
	}
}

func TestTheTopBarCutsNamesThatDoNotFit(t *testing.T) {
	ts := startServer(t, room.Options{})
	for i := range 30 {
		if _, err := ts.room.Join(fmt.Sprintf("user%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	alice := join(t, ts, "alice", termtest.Options{Width: 60, Height: 20})
	waitRow(t, alice, 0, `^ 31 online  alice user00 user01 .* \+\d+ more$`)
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
	ts := startServer(t, room.Options{})
	alice := join(t, ts, "alice", termtest.Options{Width: 40, Height: 20})
	bob := join(t, ts, "bob")
	say(t, bob, "the quick brown fox jumps over the lazy dog and keeps running far away")
	waitText(t, alice, "bob: the quick brown fox jumps")
	waitText(t, alice, "      over the lazy dog and keeps")
	waitText(t, alice, "      running far away")
	for i, l := range strings.Split(alice.Screen(), "\n") {
		if len([]rune(l)) > 40 {
			t.Errorf("row %d is wider than the terminal: %q", i, l)
		}
	}
}

func TestResizingRelaysEverything(t *testing.T) {
	ts := startServer(t, room.Options{})
	alice := join(t, ts, "alice", termtest.Options{Width: 100, Height: 20})
	bob := join(t, ts, "bob")
	say(t, bob, "one two three four five six seven eight nine ten eleven twelve")
	waitText(t, alice, "bob: one two three four five six seven eight nine ten eleven twelve")
	if err := alice.Resize(40, 12); err != nil {
		t.Fatal(err)
	}
	waitText(t, alice, "bob: one two three four five six")
	waitText(t, alice, "      seven eight nine ten eleven")
	waitRow(t, alice, 11, `^>`)
	waitRow(t, alice, 0, `^ 2 online  alice bob$`)
	// Typing still lands on the new input row.
	send(t, alice, "typed")
	waitRow(t, alice, 11, `^> typed$`)
}

func TestScrollingBackAndReturningOnOwnMessage(t *testing.T) {
	ts := startServer(t, room.Options{MessageBurst: 100})
	alice := join(t, ts, "alice", termtest.Options{Width: 60, Height: 12})
	bob, err := ts.room.Join("bob")
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
	waitText(t, alice, "bob: line 39")
	if strings.Contains(alice.Screen(), "line 30") {
		t.Fatal("a 12-row screen shows more than it can hold")
	}
	send(t, alice, keyPgUp)
	waitText(t, alice, "bob: line 31")
	waitFor(t, alice, "line 39 scrolled away", func(s string) bool { return !strings.Contains(s, "line 39") })
	waitRow(t, alice, 1, `scrolled up · PgDn`)
	alice.Wheel(10, 5, true)
	waitText(t, alice, "bob: line 28")

	// New messages do not move the view; they are counted.
	bob.Say("while away")
	waitRow(t, alice, 1, `↓ 1 new · PgDn`)
	if strings.Contains(alice.Screen(), "while away") {
		t.Error("a new message pulled the scrolled view down")
	}
	alice.Wheel(10, 5, false)
	send(t, alice, keyPgDown)
	send(t, alice, keyPgDown)
	waitText(t, alice, "bob: while away")
	waitRow(t, alice, 1, `Ctrl\+N/P tabs`)

	// Scrolled up again, your own message brings you back down.
	send(t, alice, keyPgUp)
	waitRow(t, alice, 1, `scrolled up`)
	say(t, alice, "back")
	waitText(t, alice, "alice: back")
	waitText(t, alice, "bob: while away")
}

func TestCommands(t *testing.T) {
	ts := startServer(t, room.Options{})
	alice := join(t, ts, "alice", termtest.Options{Width: 100, Height: 30})
	bob := join(t, ts, "bob")

	say(t, alice, "/help")
	waitText(t, alice, "/invite NAME  invite NAME to a private chat")
	waitText(t, alice, "/quit         leave")

	say(t, alice, "/who")
	waitText(t, alice, "2 online: alice (guest), bob (guest)")

	say(t, alice, "/frobnicate now")
	waitText(t, alice, "Unknown command /frobnicate. /help lists the commands")

	say(t, alice, "//slash is literal")
	waitText(t, bob, "alice: /slash is literal")

	say(t, alice, "/close")
	waitText(t, alice, "The main room cannot be closed")

	for _, s := range []string{"Commands:", "2 online:", "Unknown command", "cannot be closed"} {
		if strings.Contains(bob.Screen(), s) {
			t.Errorf("bob sees alice's command output %q", s)
		}
	}
}

func TestMouseCanBeTurnedOffForSelectingText(t *testing.T) {
	ts := startServer(t, room.Options{})
	alice := join(t, ts, "alice")
	join(t, ts, "bob")
	waitRow(t, alice, 0, `alice bob$`)
	say(t, alice, "/mouse")
	waitText(t, alice, "Mouse off")
	// With reporting off the terminal keeps clicks to itself (to select).
	alice.Click(find(t, alice, 0, "bob"), 0)
	say(t, alice, "/mouse")
	waitText(t, alice, "Mouse on")
	if strings.Contains(alice.Screen(), "Invitation sent") {
		t.Fatal("a click reached the server while mouse reporting was off")
	}
	alice.Click(find(t, alice, 0, "bob"), 0)
	waitText(t, alice, "Invitation sent to bob")
}

func TestPastingSeveralLinesSendsOneBlock(t *testing.T) {
	ts := startServer(t, room.Options{})
	alice := join(t, ts, "alice")
	bob := join(t, ts, "bob")
	alice.Paste("line one\rline two\rline three")
	waitRow(t, alice, 23, `^> line one↵line two↵line three$`)
	send(t, alice, keyEnter)
	waitText(t, bob, "alice: line one\n      line two\n      line three")
}
