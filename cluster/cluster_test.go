package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"chatroom/internal/natstest"
	"chatroom/internal/testkit"
	"chatroom/room"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// natsServer runs a NATS server with JetStream in the test.
func natsServer(t *testing.T, dir string, port int) *server.Server {
	return natstest.Server(t, dir, port)
}

// node starts a node on url, closed when the test ends.
func node(t *testing.T, url, name string) *Node {
	t.Helper()
	n, err := Start(Config{Link: Link{URLs: url}, Name: name, Heartbeat: 100 * time.Millisecond, DeadAfter: time.Second,
		Room: room.Options{MessageBurst: 100}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close("the test ended") })
	return n
}

func join(t *testing.T, n *Node, name, id string) room.Member {
	t.Helper()
	m, err := n.Join(name, id)
	if err != nil {
		t.Fatalf("%s joins: %v", name, err)
	}
	return m
}

// online is who n lists, in order.
func online(n *Node) []string {
	p := n.Online()
	var names []string
	for i := range p.Len() {
		names = append(names, p.At(i))
	}
	return names
}

func listsExactly(n *Node, want ...string) func() bool {
	return func() bool { return slices.Equal(online(n), want) }
}

// messages takes what m was sent, waiting until count messages came.
func messages(t *testing.T, m room.Member, count int) []string {
	t.Helper()
	var got []string
	deadline := time.After(testkit.Wait)
	for len(got) < count {
		select {
		case <-m.Ready():
		case <-deadline:
			t.Fatalf("%s got %d messages of %d: %q", m.Name(), len(got), count, got)
		}
		for _, ev := range m.Take(nil) {
			if ev.Kind == room.Message {
				got = append(got, ev.From+": "+ev.Text)
			}
		}
	}
	return got
}

func TestTwoNodesServeOneRoomInOneOrder(t *testing.T) {
	url := natsServer(t, t.TempDir(), 0).ClientURL()
	a, b := node(t, url, "a"), node(t, url, "b")
	alice := join(t, a, "alice", "")
	bob := join(t, b, "bob", "")
	for _, n := range []*Node{a, b} {
		if !testkit.Eventually(listsExactly(n, "alice", "bob")) {
			t.Fatalf("node %s lists %v", n.cfg.Name, online(n))
		}
	}
	if loc, _ := a.Locate("bob"); loc.Node != "b" {
		t.Errorf("bob is on %q, says a", loc.Node)
	}
	b.SetAway("bob", true, "lunch")
	if !testkit.Eventually(func() bool { l, _ := a.Locate("bob"); return l.Away != nil && *l.Away == "lunch" }) {
		t.Error("a does not know bob is away")
	}
	b.SetAway("bob", false, "")
	if !testkit.Eventually(func() bool { l, _ := a.Locate("bob"); return l.Away == nil }) {
		t.Error("a does not know bob is back")
	}
	// Both talk at once; both see one order.
	var wg sync.WaitGroup
	for _, m := range []room.Member{alice, bob} {
		wg.Go(func() {
			for i := range 20 {
				if err := m.Say(fmt.Sprint(i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	seenA, seenB := messages(t, alice, 40), messages(t, bob, 40)
	if !slices.Equal(seenA, seenB) {
		t.Errorf("two orders:\n%q\n%q", seenA, seenB)
	}
	bob.Leave()
	if !testkit.Eventually(listsExactly(a, "alice")) {
		t.Errorf("bob left b, and a lists %v", online(a))
	}
}

func TestANameIsWonOnceAcrossNodes(t *testing.T) {
	url := natsServer(t, t.TempDir(), 0).ClientURL()
	a, b := node(t, url, "a"), node(t, url, "b")
	for i := range 50 {
		name := fmt.Sprintf("n%d", i)
		var wg sync.WaitGroup
		var won [2]room.Member
		for j, n := range []*Node{a, b} {
			wg.Go(func() {
				m, err := n.Join(name, fmt.Sprint("key", j))
				if err == nil {
					won[j] = m
				} else if !errors.Is(err, room.ErrNameTaken) {
					t.Errorf("%s on node %d: %v", name, j, err)
				}
			})
		}
		wg.Wait()
		if (won[0] == nil) == (won[1] == nil) {
			t.Fatalf("%s: %v won on a, %v on b", name, won[0] != nil, won[1] != nil)
		}
	}
	for _, n := range []*Node{a, b} {
		if !testkit.Eventually(func() bool { return n.Online().Len() == 50 }) {
			t.Errorf("node %s lists %d people", n.cfg.Name, n.Online().Len())
		}
	}
}

func TestTheSameKeyOnAnotherNodeTakesOver(t *testing.T) {
	url := natsServer(t, t.TempDir(), 0).ClientURL()
	a, b := node(t, url, "a"), node(t, url, "b")
	carol := join(t, a, "carol", "")
	first := join(t, a, "alice", "SHA256:alice")
	if _, err := b.Join("alice", "SHA256:mallory"); !errors.Is(err, room.ErrNameTaken) {
		t.Fatalf("another key took alice on b: %v", err)
	}
	second := join(t, b, "alice", "SHA256:alice")
	select {
	case <-first.Done():
	case <-time.After(testkit.Wait):
		t.Fatal("the session on a stayed")
	}
	if !errors.Is(first.Err(), room.ErrTakenOver) {
		t.Errorf("the session on a ended with %v", first.Err())
	}
	if !second.Replaced() {
		t.Error("the session on b does not know it took over")
	}
	if loc, _ := a.Locate("alice"); loc.Node != "b" {
		t.Errorf("a says alice is on %q", loc.Node)
	}
	// carol saw nobody leave: alice stayed listed.
	carol.NewsRead()
	if n := a.News(nil); n.LeftN != 0 || !n.Online.Has("alice") {
		t.Errorf("a's news: %d left, alice listed %v", n.LeftN, n.Online.Has("alice"))
	}
}

func TestAKickReachesAnotherNode(t *testing.T) {
	url := natsServer(t, t.TempDir(), 0).ClientURL()
	a, b := node(t, url, "a"), node(t, url, "b")
	alice := join(t, a, "alice", "")
	bob := join(t, b, "bob", "")
	if !testkit.Eventually(listsExactly(a, "alice", "bob")) {
		t.Fatalf("a lists %v", online(a))
	}
	if !a.Kick("bob", "spam") {
		t.Fatal("a could not kick bob")
	}
	select {
	case <-bob.Done():
	case <-time.After(testkit.Wait):
		t.Fatal("bob stayed")
	}
	var kicked *room.KickedError
	if !errors.As(bob.Err(), &kicked) || kicked.Reason != "spam" {
		t.Errorf("bob was told %v", bob.Err())
	}
	told := testkit.Eventually(func() bool {
		for _, ev := range alice.Take(nil) {
			if ev.Kind == room.Left && ev.From == "bob" && ev.Reason == "spam" {
				return true
			}
		}
		return false
	})
	if !told {
		t.Error("alice was not told why bob left")
	}
	if !testkit.Eventually(listsExactly(b, "alice")) {
		t.Errorf("b lists %v", online(b))
	}
	// The name is free again once b has released it.
	if !testkit.Eventually(func() bool { _, err := a.Join("bob", ""); return err == nil }) {
		t.Error("bob's name was not released")
	}
}

func TestASilentNodesPeopleLeaveAndTheirNamesAreFree(t *testing.T) {
	url := natsServer(t, t.TempDir(), 0).ClientURL()
	a := node(t, url, "a")
	b, err := Start(Config{Link: Link{URLs: url}, Name: "b", Heartbeat: 100 * time.Millisecond, DeadAfter: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	join(t, b, "bob", "SHA256:bob")
	if !testkit.Eventually(listsExactly(a, "bob")) {
		t.Fatalf("a lists %v", online(a))
	}
	// b falls silent without a word: no release, no goodbye.
	b.stop()
	b.nc.Close()
	if !testkit.Eventually(listsExactly(a)) {
		t.Fatalf("a still lists %v", online(a))
	}
	join(t, a, "bob", "SHA256:someone-else")
}

// A node that was cut off for a moment may be swept by another after it
// claimed its names again (its heartbeats not heard yet): the name of
// someone still there goes back in the bucket, and everyone lists them.
func TestANameSweptWhileItsMemberStaysIsPutBack(t *testing.T) {
	url := natsServer(t, t.TempDir(), 0).ClientURL()
	a, b := node(t, url, "a"), node(t, url, "b")
	join(t, a, "alice", "SHA256:alice")
	join(t, b, "bob", "SHA256:bob")
	if !testkit.Eventually(listsExactly(b, "alice", "bob")) {
		t.Fatalf("b lists %v", online(b))
	}
	kv, err := b.online.Get(context.Background(), nameKey("alice"))
	if err != nil {
		t.Fatal(err)
	}
	// What b's sweep does to the names of a node it thinks gone.
	if err := b.online.Delete(context.Background(), nameKey("alice"), jetstream.LastRevision(kv.Revision())); err != nil {
		t.Fatal(err)
	}
	if !testkit.Eventually(func() bool {
		e, err := b.online.Get(context.Background(), nameKey("alice"))
		return err == nil && e.Revision() > kv.Revision()
	}) {
		t.Fatal("alice's name was not put back")
	}
	if !testkit.Eventually(listsExactly(b, "alice", "bob")) {
		t.Fatalf("b lists %v", online(b))
	}
}

func TestLosingNATSIsToldAndRecovered(t *testing.T) {
	dir := t.TempDir()
	ns := natsServer(t, dir, 0)
	portN := ns.Addr().(*net.TCPAddr).Port
	a := node(t, ns.ClientURL(), "a")
	alice := join(t, a, "alice", "")
	ns.Shutdown()
	ns.WaitForShutdown()
	told := func(text string) func() bool {
		return func() bool {
			for _, ev := range alice.Take(nil) {
				if ev.Kind == room.Notice && strings.Contains(ev.Text, text) {
					return true
				}
			}
			return false
		}
	}
	if !testkit.Eventually(told("lost its link")) {
		t.Fatal("alice was not told the link was lost")
	}
	var unreachable *room.UnreachableError
	if err := alice.Say("hello?"); !errors.As(err, &unreachable) {
		t.Errorf("a message while cut off: %v", err)
	}
	// NATS stays down for 5 s; every join meanwhile is refused, with why.
	testkit.Within(5*time.Second, func() bool {
		if _, err := a.Join("bob", ""); !errors.As(err, &unreachable) {
			t.Fatalf("a join while cut off: %v", err)
		}
		return false
	})
	ns2 := natsServer(t, dir, portN)
	if !testkit.Eventually(told("linked to the rest of the room again")) {
		t.Fatal("alice was not told the link is back")
	}
	join(t, a, "bob", "")
	if err := alice.Say("back"); err != nil {
		t.Errorf("a message once back: %v", err)
	}
	if got := messages(t, alice, 1); got[0] != "alice: back" {
		t.Errorf("alice got %q", got)
	}
	// The watch came back too: someone on a node started since is listed.
	b := node(t, ns2.ClientURL(), "b")
	join(t, b, "carol", "")
	if !testkit.Eventually(listsExactly(a, "alice", "bob", "carol")) {
		t.Errorf("a lists %v", online(a))
	}
}

// waiting holds what next took but did not return, per member.
var waiting = map[room.Member][]*room.Event{}

// next waits for m's next event of kind; the events before it are dropped.
func next(t *testing.T, m room.Member, kind room.Kind) *room.Event {
	t.Helper()
	deadline := time.After(testkit.Wait)
	for {
		waiting[m] = append(waiting[m], m.Take(nil)...)
		for i, ev := range waiting[m] {
			if ev.Kind == kind {
				waiting[m] = waiting[m][i+1:]
				return ev
			}
		}
		waiting[m] = nil
		select {
		case <-m.Ready():
		case <-deadline:
			t.Fatalf("%s got no event of kind %d", m.Name(), kind)
		}
	}
}

func TestPrivateChatsAcrossNodes(t *testing.T) {
	url := natsServer(t, t.TempDir(), 0).ClientURL()
	a, b := node(t, url, "a"), node(t, url, "b")
	alice, carol := join(t, a, "alice", ""), join(t, a, "carol", "")
	bob := join(t, b, "bob", "")
	if !testkit.Eventually(listsExactly(a, "alice", "bob", "carol")) {
		t.Fatalf("a lists %v", online(a))
	}
	if err := alice.Invite("bob"); err != nil {
		t.Fatal(err)
	}
	inv := next(t, bob, room.Invited)
	if inv.From != "alice" || inv.Until.IsZero() {
		t.Errorf("bob's invitation: %+v", inv)
	}
	if err := bob.Answer(inv.Invite, true); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, alice, room.Answered); !ev.Accepted {
		t.Errorf("alice was told %+v", ev)
	}
	opened := next(t, alice, room.ChatOpened)
	if got := next(t, bob, room.ChatOpened); got.Chat != opened.Chat {
		t.Fatalf("two chats: %d and %d", opened.Chat, got.Chat)
	}
	if err := alice.SendPrivate(opened.Chat, "psst"); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, bob, room.PrivateMessage); ev.Text != "psst" || ev.From != "alice" {
		t.Errorf("bob got %+v", ev)
	}
	if err := bob.SendPrivate(opened.Chat, "hi alice"); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, alice, room.PrivateMessage); ev.Text != "psst" { // her own, as on one node
		t.Errorf("alice got %+v", ev)
	}
	if ev := next(t, alice, room.PrivateMessage); ev.Text != "hi alice" {
		t.Errorf("alice got %+v", ev)
	}
	if err := bob.CloseChat(opened.Chat); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, alice, room.ChatClosed); ev.Reason != room.ReasonClosed {
		t.Errorf("alice was told %+v", ev)
	}
	if err := alice.SendPrivate(opened.Chat, "still there?"); !errors.Is(err, room.ErrChatClosed) {
		t.Errorf("a message in a closed chat: %v", err)
	}
	// carol, on alice's node, saw none of it.
	for _, ev := range carol.Take(nil) {
		if ev.Kind != room.Message {
			t.Errorf("carol saw %+v", ev)
		}
	}

	// A decline makes alice wait; bob's leaving ends a new invitation.
	if err := alice.Invite("bob"); err != nil {
		t.Fatal(err)
	}
	if err := bob.Answer(next(t, bob, room.Invited).Invite, false); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, alice, room.Answered); ev.Accepted {
		t.Errorf("alice was told %+v", ev)
	}
	var declined *room.DeclinedError
	if err := alice.Invite("bob"); !errors.As(err, &declined) {
		t.Errorf("inviting again at once: %v", err)
	}
	if err := bob.Invite("carol"); err != nil {
		t.Fatal(err)
	}
	next(t, carol, room.Invited)
	bob.Leave()
	if ev := next(t, carol, room.InviteEnded); ev.Reason != room.ReasonLeft {
		t.Errorf("carol was told %+v", ev)
	}
}

func TestAChatEndsWhenThePeersNodeDies(t *testing.T) {
	url := natsServer(t, t.TempDir(), 0).ClientURL()
	a := node(t, url, "a")
	b, err := Start(Config{Link: Link{URLs: url}, Name: "b", Heartbeat: 100 * time.Millisecond, DeadAfter: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	alice, bob := join(t, a, "alice", ""), join(t, b, "bob", "")
	if !testkit.Eventually(listsExactly(a, "alice", "bob")) {
		t.Fatalf("a lists %v", online(a))
	}
	if err := alice.Invite("bob"); err != nil {
		t.Fatal(err)
	}
	if err := bob.Answer(next(t, bob, room.Invited).Invite, true); err != nil {
		t.Fatal(err)
	}
	chat := next(t, alice, room.ChatOpened).Chat
	b.stop()
	b.nc.Close()
	if ev := next(t, alice, room.ChatClosed); ev.Chat != chat || ev.Reason != room.ReasonLeft {
		t.Errorf("alice was told %+v", ev)
	}
}

// On a cluster of three NATS servers, with everything kept on all three,
// losing the server a node is linked to costs a moment: the node links to
// another, and the room keeps one order.
func TestTheRoomCarriesOnWhenANATSServerDies(t *testing.T) {
	servers := natstest.Cluster(t, 3)
	start := func(name string, first int) *Node {
		var urls []string
		for i := range servers {
			urls = append(urls, servers[(first+i)%len(servers)].ClientURL())
		}
		n, err := Start(Config{Link: Link{URLs: strings.Join(urls, ",")}, Name: name, Replicas: 3,
			Heartbeat: 100 * time.Millisecond, DeadAfter: 3 * time.Second,
			Room: room.Options{MessageBurst: 100}, NATS: []nats.Option{nats.DontRandomize()}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close("the test ended") })
		return n
	}
	a, b := start("a", 0), start("b", 1)
	alice, bob := join(t, a, "alice", ""), join(t, b, "bob", "")
	say := func(m room.Member, text string) {
		t.Helper()
		var err error
		// While a node links to another server, it refuses, and says so.
		ok := testkit.Within(20*time.Second, func() bool {
			err = m.Say(text)
			return err == nil
		})
		var unreachable *room.UnreachableError
		if !ok && !errors.As(err, &unreachable) {
			t.Fatalf("%s says %q: %v", m.Name(), text, err)
		} else if !ok {
			t.Fatalf("%s could not say %q for 20 s: %v", m.Name(), text, err)
		}
	}
	for i := range 5 {
		say(alice, fmt.Sprint("a", i))
		say(bob, fmt.Sprint("b", i))
	}
	servers[0].Shutdown() // the one a is linked to
	for i := 5; i < 10; i++ {
		say(alice, fmt.Sprint("a", i))
		say(bob, fmt.Sprint("b", i))
	}
	seenA, seenB := messages(t, alice, 20), messages(t, bob, 20)
	if !slices.Equal(seenA, seenB) {
		t.Errorf("two orders:\n%q\n%q", seenA, seenB)
	}
	if a.nc.Stats().Reconnects == 0 || a.nc.ConnectedServerName() == "nats-0" {
		t.Errorf("a did not move: %d reconnects, on %s", a.nc.Stats().Reconnects, a.nc.ConnectedServerName())
	}
	if !testkit.Eventually(listsExactly(b, "alice", "bob")) {
		t.Errorf("b lists %v", online(b))
	}
}

func TestANodeReachesNATSOverTLS(t *testing.T) {
	ns, ca := natstest.TLSServer(t)
	url := "tls://" + ns.Addr().String()
	if _, err := Start(Config{Link: Link{URLs: url}, NATS: []nats.Option{nats.MaxReconnects(0)}}); err == nil {
		t.Fatal("a server signed by an unknown authority was trusted")
	}
	n, err := Start(Config{Link: Link{URLs: url, CA: ca}, Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close("the test ended")
	join(t, n, "alice", "")
}

// A node whose NATS is gone still shuts down promptly: the names it could
// not release are the other nodes' to sweep.
func TestANodeCutOffStillClosesPromptly(t *testing.T) {
	ns := natsServer(t, t.TempDir(), 0)
	n, err := Start(Config{Link: Link{URLs: ns.ClientURL()}, Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	s := openNames(t, ns.ClientURL())
	for i := range 50 {
		join(t, n, fmt.Sprint("p", i), "")
		s.Seen(fmt.Sprint("p", i))
	}
	ns.Shutdown()
	closed := make(chan struct{})
	go func() {
		n.Close("the test ended")
		s.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(30 * time.Second): // 50 names at 5 s each would be minutes
		t.Fatal("a node cut off from NATS did not close")
	}
}

// A key that signs in on another node takes its old session's place there
// as on one node: its private chats go on, with people on either node.
func TestATakeoverAcrossNodesKeepsTheChats(t *testing.T) {
	url := natsServer(t, t.TempDir(), 0).ClientURL()
	a, b := node(t, url, "a"), node(t, url, "b")
	old, carol := join(t, a, "alice", "SHA256:alice"), join(t, a, "carol", "")
	dave := join(t, b, "dave", "")
	for _, n := range []*Node{a, b} {
		if !testkit.Eventually(listsExactly(n, "alice", "carol", "dave")) {
			t.Fatalf("%s lists %v", n.cfg.Name, online(n))
		}
	}
	chatWith := func(peer room.Member) room.ChatID {
		t.Helper()
		if err := old.Invite(peer.Name()); err != nil {
			t.Fatal(err)
		}
		if err := peer.Answer(next(t, peer, room.Invited).Invite, true); err != nil {
			t.Fatal(err)
		}
		next(t, peer, room.ChatOpened)
		return next(t, old, room.ChatOpened).Chat
	}
	withCarol, withDave := chatWith(carol), chatWith(dave)

	alice := join(t, b, "alice", "SHA256:alice")
	resumed := map[room.ChatID]bool{}
	for range 2 {
		ev := next(t, alice, room.ChatOpened)
		if ev.Reason != room.ReasonResumed {
			t.Errorf("alice on b: %+v", ev)
		}
		resumed[ev.Chat] = true
	}
	if !resumed[withCarol] || !resumed[withDave] {
		t.Fatalf("resumed %v; the chats were %d and %d", resumed, withCarol, withDave)
	}
	if err := carol.SendPrivate(withCarol, "still there?"); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, alice, room.PrivateMessage); ev.Text != "still there?" {
		t.Errorf("alice got %+v", ev)
	}
	if err := alice.SendPrivate(withDave, "moved"); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, dave, room.PrivateMessage); ev.Text != "moved" {
		t.Errorf("dave got %+v", ev)
	}
	if err := alice.SendPrivate(withCarol, "yes"); err != nil {
		t.Fatal(err)
	}
	next(t, carol, room.PrivateMessage) // her own
	if ev := next(t, carol, room.PrivateMessage); ev.Text != "yes" {
		t.Errorf("carol got %+v", ev)
	}
	for _, m := range []room.Member{carol, dave} {
		for _, ev := range append(waiting[m], m.Take(nil)...) {
			if ev.Kind == room.ChatClosed {
				t.Errorf("%s was told the chat ended: %+v", m.Name(), ev)
			}
		}
	}
}

// In a reconnect storm a name's earlier session leaves and its release
// races the same key's new claim: the claim wins, every time.
func TestRejoiningRacesTheReleaseOfTheLastSession(t *testing.T) {
	url := natsServer(t, t.TempDir(), 0).ClientURL()
	a := node(t, url, "a")
	for i := range 100 {
		m, err := a.Join("alice", "SHA256:alice")
		if err != nil {
			t.Fatalf("join %d: %v", i, err)
		}
		if i%2 == 0 {
			m.Leave() // gone; its release is on its way
		} // else the next join takes its place
	}
	// The last claim stands once every release has run.
	held := func() bool { loc, ok := a.Locate("alice"); return ok && loc.Here }
	if !testkit.Eventually(held) {
		loc, ok := a.Locate("alice")
		t.Errorf("alice is not held here: %+v %v", loc, ok)
	}
}
