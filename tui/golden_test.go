package tui

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"chatroom/room"

	tea "charm.land/bubbletea/v2"
)

// Golden screens: what a person sees, as text, in the main room, with an
// invitation's banner, in a private tab and with the people list, at
// 80x24, 120x40 and 30x12. A change to the layout shows up here as a diff;
// when it is meant, `go test ./tui -run Golden -update` writes them again
// (and scripts/screens.sh puts them in the README).

var update = flag.Bool("update", false, "rewrite the golden screens in testdata/golden")

func TestGoldenScreens(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}, {30, 12}} {
		for _, scene := range []string{"main", "banner", "private", "people"} {
			name := fmt.Sprintf("%s-%dx%d", scene, size[0], size[1])
			t.Run(name, func(t *testing.T) {
				got := goldenScene(t, scene, size[0], size[1])
				path := filepath.Join("testdata", "golden", name+".txt")
				if *update {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (go test ./tui -run Golden -update writes it)", err)
				}
				if got != string(want) {
					t.Errorf("%s changed; want:\n%s\ngot:\n%s", name, want, got)
				}
			})
		}
	}
}

// goldenScene draws one scene, on a fixed clock, and returns the screen.
func goldenScene(t *testing.T, scene string, w, h int) string {
	now := time.Date(2026, 12, 1, 15, 4, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	r := room.New(room.Options{Now: clock, MessageBurst: 100})
	members := map[string]room.Member{}
	join := func(names ...string) {
		for _, name := range names {
			mem, err := r.Join(name, "")
			if err != nil {
				t.Fatal(err)
			}
			members[name] = mem
		}
	}
	join("bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj", "olivia", "peggy", "rupert", "sybil")
	h0 := newHarness(t, r, "alice", w, h)
	h0.m.clock = clock
	h0.m.margins = scene == "people" // a terminal with margins: the panel, where it fits
	h0.m.tabs[0].items = nil         // the welcome, written before the clock was fixed
	before := r.Online()
	h0.update(newsMsg{Online: before})
	bob, carol := members["bob"], members["carol"]
	bob.Say("morning all")
	carol.Say("hi bob! the build is green again: https://ci.example.com/runs/1234")
	members["dave"].Act(0, "waves")
	h0.sync()
	join("trent", "victor", "walter")
	h0.update(newsMsg(r.News(before)))
	members["erin"].Say("alice, could you look at #42 today?")
	h0.sync()
	h0.m.member.Say("on it after lunch")
	members["frank"].Say("lunch at noon, anyone?")
	h0.sync()
	for _, r := range "sounds good" {
		h0.m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	switch scene {
	case "banner":
		bob.Invite("alice")
		h0.sync()
	case "private":
		carol.Invite("alice")
		h0.sync()
		h0.m.answerOldest(true)
		h0.sync()
		h0.m.switchTo(1)
		carol.SendPrivate(h0.m.tabs[1].chat, "can you look at my change?")
		h0.sync()
	case "people":
		if !h0.m.hasPanel() {
			h0.m.openPeople()
		}
	}
	h0.update(resizeMsg{w, h})
	return h0.term.Screen()
}
