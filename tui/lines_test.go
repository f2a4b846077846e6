package tui

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"chatroom/room"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
)

func lineModel(t *testing.T, r *room.Room, name string, out *bytes.Buffer) *model {
	t.Helper()
	m := newModel(modelOptions{room: r, dir: lobby{r}, theme: themeFor(colorprofile.NoTTY), out: out,
		log: slog.New(slog.DiscardHandler), size: Size{80, 10}, inputMax: 64 << 10, lineMode: true})
	m.start(name)
	m.Update(resizeMsg{80, 10})
	return m
}

// Line mode echoes typing as a terminal's line discipline would, and a
// session far behind prints its last screenful and how many it skipped.
func TestLineModeEchoesAndSkipsWhatIsFarBehind(t *testing.T) {
	r := room.New(room.Options{MessageBurst: 100})
	bob, _ := r.Join("bob", "")
	var out bytes.Buffer
	m := lineModel(t, r, "bob", &out) // taken: the name is asked again
	if s := out.String(); !strings.Contains(s, `"bob" is taken`) || !strings.HasSuffix(s, "\r\nName: bob") {
		t.Fatalf("join refused: %q", s)
	}
	out.Reset()
	m.Update(tea.KeyPressMsg{Code: tea.KeyBackspace})
	m.Update(tea.KeyPressMsg{Code: tea.KeyBackspace})
	m.Update(tea.KeyPressMsg{Code: tea.KeyBackspace})
	for _, r := range "alice" {
		m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	if s := out.String(); !strings.HasPrefix(s, "\b \b\b \b\b \balice\r\n") || !strings.HasSuffix(s, "\r\nmain> ") {
		t.Fatalf("after choosing alice: %q", s)
	}
	m.member.Take(nil)

	out.Reset()
	for i := range 30 {
		bob.Say(fmt.Sprintf("message %02d", i))
	}
	m.Update(eventsMsg(m.member.Take(nil)))
	s := out.String()
	if !strings.HasPrefix(s, "\r(21 messages skipped)\r\n") || strings.Contains(s, "message 20") ||
		!strings.Contains(s, "bob: message 21\r\n") || !strings.HasSuffix(s, "bob: message 29\r\nmain> ") {
		t.Errorf("after 30 messages on a 10-row terminal: %q", s)
	}
}
