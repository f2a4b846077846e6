package sshapp_test

import (
	"testing"

	"chatroom/internal/testkit"
	"chatroom/internal/testserver"
)

// Issue 13, defect 5: the bell rings for an invitation, a new private chat,
// a private message in a tab not showing and a mention, not for the rest;
// the window title counts what is unread; /bell changes when it rings.
func TestTheBellRingsForWhatConcernsYou(t *testing.T) {
	ts := testserver.Start(t, quick) // alice says more than a burst allows
	bob := testkit.Join(t, ts.Addr, "bob")
	alice := testkit.Join(t, ts.Addr, "alice")
	testkit.WaitText(t, bob, "→ alice joined")
	testkit.WaitFor(t, bob, "the title", func(string) bool { return bob.Title() == "chatroom" })

	// Each check reads the bell count when the line that would ring shows:
	// the bell is in the same write.
	bells := func(text string, want int) {
		t.Helper()
		testkit.WaitText(t, bob, text)
		if got := bob.Bells(); got != want {
			t.Fatalf("after %q the bell rang %d times, want %d", text, got, want)
		}
	}
	testkit.Say(t, alice, "hello all")
	bells("alice: hello all", 0)
	testkit.Say(t, alice, "bobby is someone else")
	bells("alice: bobby is someone else", 0)
	testkit.Say(t, alice, "hey bob, look")
	bells("alice: hey bob, look", 1)
	testkit.Say(t, alice, "/invite bob")
	bells("alice invites you to a private chat [ OK ]", 2)
	testkit.Say(t, bob, "/accept")
	bells("Private chat with alice opened", 3)
	testkit.WaitText(t, alice, "Private chat with bob opened")
	alice.Click(testkit.Find(t, alice, 1, " bob ")+1, 1)
	testkit.WaitRow(t, alice, 23, `^bob ›`)
	testkit.Say(t, alice, "psst")
	testkit.WaitRow(t, bob, 1, ` alice 2 `) // the chat's first note, and psst
	testkit.WaitFor(t, bob, "the title to count", func(string) bool { return bob.Title() == "(2) chatroom" })
	if got := bob.Bells(); got != 4 {
		t.Fatalf("after a private message in another tab the bell rang %d times, want 4", got)
	}

	testkit.Say(t, bob, "/bell all")
	testkit.WaitText(t, bob, "Bell: all.")
	alice.Click(testkit.Find(t, alice, 1, " main ")+1, 1)
	testkit.WaitRow(t, alice, 23, `^main ›`)
	testkit.Say(t, alice, "anything")
	bells("alice: anything", 5)
	testkit.Say(t, bob, "/bell off")
	testkit.WaitText(t, bob, "Bell: off.")
	testkit.Say(t, alice, "bob?")
	bells("alice: bob?", 5)

	bob.Click(testkit.Find(t, bob, 1, " alice ")+1, 1)
	testkit.WaitText(t, bob, "alice: psst")
	testkit.WaitFor(t, bob, "the title to clear", func(string) bool { return bob.Title() == "chatroom" })
}
