package room_test

import (
	"sync"
	"testing"
	"time"

	"chatroom/room"
)

// routes records what a room routes to other nodes.
type routes struct {
	mu  sync.Mutex
	got []routed
}

type routed struct {
	node string
	ev   *room.Event
}

func (r *routes) route(node string, ev *room.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, routed{node, ev})
}

// take returns what was routed since the last take.
func (r *routes) take() []routed {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.got
	r.got = nil
	return got
}

// A cluster node's room, without NATS: a private chat with someone on
// another node goes through Route one way and Apply the other.
func TestAChatWithSomeoneOnAnotherNode(t *testing.T) {
	var rt routes
	r := room.New(room.Options{Route: rt.route})
	alice := join(t, r, "alice")
	r.AddRemote("bob", "SHA256:bob", "n2")
	if !r.Online().Has("bob") {
		t.Fatal("bob is not listed")
	}
	if err := alice.Invite("bob"); err != nil {
		t.Fatal(err)
	}
	sent := rt.take()
	if len(sent) != 1 || sent[0].node != "n2" || sent[0].ev.Kind != room.Invited {
		t.Fatalf("routed %+v", sent)
	}
	inv := sent[0].ev.Invite

	// bob's node says he accepted, and opened the chat.
	now := time.Now()
	r.Apply(&room.Event{Kind: room.Answered, Time: now, From: "alice", To: "bob", Invite: inv, Accepted: true})
	r.Apply(&room.Event{Kind: room.ChatOpened, Time: now, From: "alice", To: "bob", Chat: 7})
	evs := events(alice)
	one(t, evs, room.Answered)
	if c := one(t, evs, room.ChatOpened); c.Chat != 7 {
		t.Errorf("chat %d", c.Chat)
	}
	if err := alice.SendPrivate(7, "psst"); err != nil {
		t.Fatal(err)
	}
	if sent := rt.take(); len(sent) != 1 || sent[0].ev.Kind != room.PrivateMessage || sent[0].ev.Text != "psst" {
		t.Errorf("routed %+v", sent)
	}
	r.Apply(&room.Event{Kind: room.PrivateMessage, Time: now, From: "bob", To: "alice", Chat: 7, Text: "hi"})
	// A message claiming a chat alice does not have with its sender is
	// dropped.
	r.Apply(&room.Event{Kind: room.PrivateMessage, Time: now, From: "mallory", To: "alice", Chat: 7, Text: "forged"})
	evs = events(alice)
	if pm := only(evs, room.PrivateMessage); len(pm) != 2 || pm[1].Text != "hi" {
		t.Errorf("alice got %+v", pm)
	}

	// bob's node dies: the chat ends here, and nothing is routed to it.
	r.RemoveRemote("bob", "n2")
	if c := one(t, events(alice), room.ChatClosed); c.Reason != room.ReasonLeft {
		t.Errorf("alice was told %+v", c)
	}
	if sent := rt.take(); len(sent) != 0 {
		t.Errorf("routed to a dead node: %+v", sent)
	}
}

// An invitation routed here for someone who has left is answered with
// its end, so the inviter's side closes it too.
func TestAnInvitationForSomeoneGoneIsEnded(t *testing.T) {
	var rt routes
	r := room.New(room.Options{Route: rt.route})
	r.AddRemote("bob", "", "n2")
	r.Apply(&room.Event{Kind: room.Invited, Time: time.Now(), From: "bob", To: "alice", Invite: 9})
	sent := rt.take()
	if len(sent) != 1 || sent[0].ev.Kind != room.InviteEnded || sent[0].ev.Invite != 9 || sent[0].node != "n2" {
		t.Errorf("routed %+v", sent)
	}
}

// The same key moving from one node to another keeps its chats with
// people here; someone else taking the name ends them.
func TestAStandInThatMovesKeepsItsChats(t *testing.T) {
	var rt routes
	r := room.New(room.Options{Route: rt.route})
	alice := join(t, r, "alice")
	r.AddRemote("bob", "SHA256:bob", "n2")
	r.Apply(&room.Event{Kind: room.ChatOpened, Time: time.Now(), From: "alice", To: "bob", Chat: 3})
	events(alice)
	r.AddRemote("bob", "SHA256:bob", "n3") // the same key, elsewhere
	if err := alice.SendPrivate(3, "still there?"); err != nil {
		t.Fatal(err)
	}
	if sent := rt.take(); len(sent) != 1 || sent[0].node != "n3" {
		t.Errorf("routed %+v", sent)
	}
	r.AddRemote("bob", "SHA256:someone-else", "n3")
	if c := one(t, events(alice), room.ChatClosed); c.Chat != 3 {
		t.Errorf("alice was told %+v", c)
	}
}
