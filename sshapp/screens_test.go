package sshapp_test

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"testing"

	"chatroom/internal/termtest"
	"chatroom/internal/testkit"
	"chatroom/internal/testserver"
)

// TestREADMEScreens captures the README's pictures from real sessions over
// SSH, in colour, when CHATROOM_SCREENS names a directory for them
// (scripts/screens.sh sets it and turns them into images).
func TestREADMEScreens(t *testing.T) {
	dir := os.Getenv("CHATROOM_SCREENS")
	if dir == "" {
		t.Skip("CHATROOM_SCREENS is not set: scripts/screens.sh captures the README's pictures")
	}
	ts := testserver.Start(t, quick)
	for _, name := range []string{"bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj", "olivia", "peggy"} {
		if _, err := ts.Room.Join(name, "k-"+name); err != nil { // keyed: no guest mark
			t.Fatal(err)
		}
	}
	alice := testkit.Join(t, ts.Addr, "alice", termtest.Options{Width: 120, Height: 34})
	bob := testkit.Join(t, ts.Addr, "bobby", termtest.Options{Width: 80, Height: 24})
	carol := testkit.Join(t, ts.Addr, "carla", termtest.Options{Width: 40, Height: 16})
	testkit.Say(t, bob, "morning all")
	testkit.Say(t, carol, "hi bobby! the build is green again: https://ci.example.com/runs/1234")
	testkit.Say(t, bob, "/me waves")
	testkit.Say(t, carol, "alice, could you look at #42 today?")
	testkit.Say(t, alice, "on it after lunch")
	testkit.WaitText(t, bob, "alice: on it after lunch")
	testkit.Send(t, bob, "sounds good")
	testkit.Say(t, carol, "/invite bobby")
	testkit.WaitText(t, bob, "carla invites you to a private chat [ OK ]")
	testkit.Say(t, alice, "/invite carla")
	testkit.WaitText(t, carol, "alice invites you")
	testkit.Say(t, carol, "/accept alice")
	testkit.WaitText(t, carol, "Private chat with alice opened")
	carol.Click(testkit.Find(t, carol, 1, " alice ")+1, 1)
	testkit.Say(t, carol, "thanks! my notes are in the ticket")
	testkit.WaitRow(t, alice, 1, ` carla 2 `)
	for _, c := range []*termtest.Client{alice, bob, carol} {
		testkit.WaitRow(t, c, 0, `^ 16 online`) // everyone's news drawn
	}
	for name, c := range map[string]*termtest.Client{"panel-120x34": alice, "banner-80x24": bob, "private-40x16": carol} {
		path := filepath.Join(dir, name+".ansi")
		pic := c.Picture(color.RGBA{0xd0, 0xd0, 0xd0, 0xff}, color.RGBA{0x17, 0x17, 0x17, 0xff})
		if err := os.WriteFile(path, []byte(pic), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Println("wrote", path)
	}
}
