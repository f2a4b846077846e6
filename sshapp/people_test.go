package sshapp_test

import (
	"fmt"
	"strings"
	"testing"

	"chatroom/internal/termtest"
	"chatroom/internal/testkit"
	"chatroom/internal/testserver"
	"chatroom/room"
)

// Issue 13, defect 4: with 3,000 people online, everyone is two gestures
// away over SSH: the top bar's "+k more" (or the count, or /who) opens the
// list of everyone, which scrolls, and a click on a name invites them.
func TestEveryoneOnlineCanBeInvitedInTwoGestures(t *testing.T) {
	ts := testserver.Start(t, quick)
	members := joinMany(t, ts.Room, 3000)
	viewer := testkit.Join(t, ts.Addr, "viewer")
	testkit.WaitRow(t, viewer, 0, `^ 3001 online .* \+\d+ more$`)
	viewer.Click(testkit.Find(t, viewer, 0, "more"), 0)
	testkit.WaitRow(t, viewer, 2, `^ 3001 online · rows 1-20 of 1501 · click a name to invite`)
	for range 20 {
		testkit.Send(t, viewer, testkit.KeyPgDown)
	}
	testkit.WaitFor(t, viewer, "the list to scroll", func(s string) bool {
		return strings.Contains(strings.Split(s, "\n")[2], "· rows 381-400 of 1501 ·")
	})
	row := viewer.Row(10)
	name := strings.Fields(row)[0]
	viewer.Click(strings.Index(row, name), 10)
	testkit.WaitText(t, viewer, "Invitation sent to "+name)
	if !testkit.Eventually(func() bool {
		for _, ev := range members[name].Take(nil) {
			if ev.Kind == room.Invited && ev.From == "viewer" {
				return true
			}
		}
		return false
	}) {
		t.Errorf("%s was not invited", name)
	}

	// On a narrow terminal too: /who opens it, Esc closes it.
	narrow := testkit.Join(t, ts.Addr, "narrow", termtest.Options{Width: 30, Height: 12})
	testkit.Say(t, narrow, "/who")
	testkit.WaitRow(t, narrow, 2, `^ 3002 online · rows 1… \[ Esc \]$`)
	testkit.WaitRow(t, narrow, 3, `^~narrow$`)
	testkit.WaitRow(t, narrow, 4, `^ u0000$`)
	testkit.Send(t, narrow, testkit.KeyEsc)
	testkit.WaitFor(t, narrow, "the list to close", func(s string) bool { return !strings.Contains(s, "[ Esc ]") })
	testkit.WaitText(t, narrow, "closes it)")
}

// On a wide terminal with left and right margins (the emulator has them,
// as xterm does), everyone is listed in a panel beside the stream: it
// stays put while messages scroll, scrolls with the wheel, and a click on a
// name invites.
func TestAWideTerminalHasAPeoplePanel(t *testing.T) {
	ts := testserver.Start(t, quick)
	members := joinMany(t, ts.Room, 3000)
	viewer := testkit.Join(t, ts.Addr, "viewer", termtest.Options{Width: 120, Height: 30})
	panelX := 120 - 28
	cell := func(y int) string {
		row := []rune(viewer.Row(y) + strings.Repeat(" ", 120))
		return strings.TrimSpace(string(row[panelX:120]))
	}
	testkit.WaitFor(t, viewer, "the panel", func(string) bool { return cell(2) == "│ 3001 online · 1-26" && cell(3) == "│ u0000" })
	for i := range 40 { // the stream scrolls; the panel does not
		if err := members["u0001"].Say(fmt.Sprintf("line %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	testkit.WaitText(t, viewer, "u0001: line 39")
	if cell(3) != "│ u0000" || cell(28) != "│ u0025" {
		t.Fatalf("the panel moved with the stream: %q, %q\n%s", cell(3), cell(28), viewer.Screen())
	}
	for range 10 {
		viewer.Wheel(panelX+5, 10, false)
	}
	testkit.WaitFor(t, viewer, "the panel to scroll", func(string) bool { return cell(3) == "│ u0030" })
	viewer.Click(panelX+3, 5) // u0032
	testkit.WaitText(t, viewer, "Invitation sent to u0032")
	if !testkit.Eventually(func() bool {
		for _, ev := range members["u0032"].Take(nil) {
			if ev.Kind == room.Invited {
				return true
			}
		}
		return false
	}) {
		t.Error("u0032 was not invited")
	}
}

// joinMany puts n members, u0000 on, in the room through the broker.
func joinMany(t *testing.T, r *room.Room, n int) map[string]room.Member {
	t.Helper()
	members := map[string]room.Member{}
	for i := range n {
		name := fmt.Sprintf("u%04d", i)
		m, err := r.Join(name, "")
		if err != nil {
			t.Fatal(err)
		}
		members[name] = m
	}
	return members
}
