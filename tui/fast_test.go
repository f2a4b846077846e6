package tui

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"chatroom/room"

	tea "charm.land/bubbletea/v2"
)

// The short way of drawing plain messages writes the very bytes the long
// way does, and leaves the model as the long way does, whatever state the
// screen is in: scrolled, on another tab, with the people list or panel
// open, too small, with the bell on for everything, ignoring someone, and
// for messages that are the reader's own, name them, wrap, or overflow.
func TestPlainMessagesAreDrawnAsTheLongWayDraws(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	short, long := 0, 0
	for run := range 40 {
		var outs [2]bytes.Buffer
		var models [2]*model
		var rooms [2]*room.Room
		var others [2]room.Member
		for i, fast := range []bool{false, true} {
			rooms[i] = room.New(room.Options{MessageRate: 1e9, MessageBurst: 1 << 20})
			models[i] = testModel(rooms[i], &outs[i], 80, 24)
			models[i].longWay = !fast
			models[i].start("reader")
			models[i].Update(resizeMsg{80, 24})
			others[i], _ = rooms[i].Join("writer", "")
		}
		step := func(what string, f func(m *model, other room.Member)) {
			t.Helper()
			for i, fast := range []bool{false, true} {
				f(models[i], others[i])
				if evs := models[i].member.Take(nil); len(evs) > 0 {
					if fast {
						if drawn, _ := models[i].drawPlain(evs); drawn {
							short++
							continue
						}
						long++
					}
					models[i].deliver(eventsMsg(evs))
				}
			}
			if !bytes.Equal(outs[0].Bytes(), outs[1].Bytes()) {
				t.Fatalf("run %d, after %s: the short way wrote\n%q\nthe long way\n%q", run, what, outs[1].String(), outs[0].String())
			}
			a, b := models[0], models[1]
			if len(a.tabs[0].items) != len(b.tabs[0].items) || a.dirty != b.dirty || a.titled != b.titled || len(a.pending) != len(b.pending) {
				t.Fatalf("run %d, after %s: the models differ", run, what)
			}
		}
		for range 60 {
			switch n := rng.IntN(20); {
			case n < 8:
				text := fmt.Sprintf("message %d", rng.IntN(1000))
				switch rng.IntN(6) {
				case 0:
					text = "hello reader, " + text
				case 1:
					text = strings.Repeat("long words wrap ", 12) + text
				}
				step("a message", func(_ *model, other room.Member) { other.Say(text) })
			case n < 10:
				k := 2 + rng.IntN(25)
				step("a burst", func(_ *model, other room.Member) {
					for i := range k {
						other.Say(fmt.Sprintf("burst %d", i))
					}
				})
			case n == 10:
				step("my own message", func(m *model, _ room.Member) { m.member.Say("mine") })
			case n == 11:
				step("PgUp", func(m *model, _ room.Member) { m.Update(tea.KeyPressMsg{Code: tea.KeyPgUp}) })
			case n == 12:
				step("PgDown", func(m *model, _ room.Member) { m.Update(tea.KeyPressMsg{Code: tea.KeyPgDown}) })
			case n == 13:
				w, h := []int{10, 80, 140}[rng.IntN(3)], []int{6, 24}[rng.IntN(2)]
				margins := rng.IntN(2) == 0
				step("a resize", func(m *model, _ room.Member) { m.margins = margins; m.Update(resizeMsg{w, h}) })
			case n == 14:
				step("a click on the top bar", func(m *model, _ room.Member) {
					m.Update(tea.MouseClickMsg{X: 2, Y: 0, Button: tea.MouseLeft})
				})
			case n == 15:
				bell := bellMode(rng.IntN(3))
				step("/bell", func(m *model, _ room.Member) { m.bell = bell })
			case n == 16:
				ignore := rng.IntN(2) == 0
				step("/ignore", func(m *model, _ room.Member) {
					m.ignores = nil
					if ignore {
						m.ignores = []Ignored{{Name: "writer", Addr: "127.0.0.1"}}
					}
				})
			case n == 17:
				step("Esc", func(m *model, _ room.Member) { m.Update(tea.KeyPressMsg{Code: tea.KeyEscape}) })
			default:
				step("a letter typed", func(m *model, _ room.Member) { m.Update(tea.KeyPressMsg{Code: 'x', Text: "x"}) })
			}
		}
		for i := range rooms {
			rooms[i].Close("")
		}
	}
	if short < 100 || long < 100 {
		t.Errorf("%d batches went the short way and %d the long way: the states tried are too few", short, long)
	}
	t.Logf("%d batches the short way, %d the long way", short, long)
}
