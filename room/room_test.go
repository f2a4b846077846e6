package room_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"chatroom/internal/clean"
	"chatroom/room"
)

func join(t *testing.T, r *room.Room, name string) room.Member {
	t.Helper()
	m, err := r.Join(name, "")
	if err != nil {
		t.Fatalf("Join(%q): %v", name, err)
	}
	return m
}

// events takes what m has waiting, without waiting.
func events(m room.Member) []*room.Event { return m.Take(nil) }

// only returns the events of kind k.
func only(evs []*room.Event, k room.Kind) []*room.Event {
	var out []*room.Event
	for _, e := range evs {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

func one(t *testing.T, evs []*room.Event, k room.Kind) *room.Event {
	t.Helper()
	got := only(evs, k)
	if len(got) != 1 {
		t.Fatalf("want one event of kind %d, got %d in %d events", k, len(got), len(evs))
	}
	return got[0]
}

func names(p *room.Presence) []string {
	var out []string
	for i := range p.Len() {
		out = append(out, p.At(i))
	}
	return out
}

func TestJoinRefusesTakenAndInvalidNames(t *testing.T) {
	r := room.New(room.Options{})
	join(t, r, "alice")
	if _, err := r.Join("alice", ""); !errors.Is(err, room.ErrNameTaken) {
		t.Errorf("second alice: %v, want ErrNameTaken", err)
	}
	if _, err := r.Join("Alice", ""); err != nil {
		t.Errorf("Alice is another person than alice: %v", err)
	}
	if _, err := r.Join("-x", ""); !errors.Is(err, room.ErrInvalidName) {
		t.Errorf("invalid name: %v, want ErrInvalidName", err)
	}
}

// Who is online is one list and a journal, read when a session draws,
// not an event per join for every member.
func TestJoinsAndLeavesAreNewsInTheJournal(t *testing.T) {
	r := room.New(room.Options{})
	start := r.Online()
	alice := join(t, r, "alice")
	seenByAlice := r.Online()
	alice.NewsRead()
	<-alice.Ready() // her own join's
	bob := join(t, r, "Bob")
	carol := join(t, r, "carol")
	select {
	case <-alice.Ready():
	default:
		t.Fatal("alice was not woken by a join")
	}
	if !alice.HasNews() {
		t.Error("alice has no news after two joins")
	}
	if n := len(events(alice)); n != 0 {
		t.Errorf("alice was sent %d events for two joins, want none", n)
	}
	if got := names(r.Online()); fmt.Sprint(got) != "[alice Bob carol]" {
		t.Errorf("online = %v, want [alice Bob carol] (sorted as people read)", got)
	}
	n := r.News(seenByAlice)
	if fmt.Sprint(n.Joined) != "[Bob carol]" || n.JoinedN != 2 || n.LeftN != 0 || n.Online.Len() != 3 {
		t.Errorf("news since alice joined: %+v", n)
	}
	if n := r.News(start); fmt.Sprint(n.Joined) != "[alice Bob carol]" {
		t.Errorf("news since the start: %+v", n)
	}
	events(carol)

	before := r.Online()
	bob.Leave()
	bob.Leave() // twice is harmless
	n = r.News(before)
	if fmt.Sprint(n.Left) != "[Bob]" || n.LeftN != 1 || n.JoinedN != 0 || fmt.Sprint(names(n.Online)) != "[alice carol]" {
		t.Errorf("news of bob leaving: %+v", n)
	}
	for _, m := range []room.Member{alice, carol} {
		if evs := events(m); len(evs) != 0 {
			t.Errorf("%s was sent %d events for a plain leave", m.Name(), len(evs))
		}
	}
	select {
	case <-bob.Done():
	default:
		t.Fatal("Done not closed after Leave")
	}
	if err := bob.Err(); err != nil {
		t.Errorf("Err after Leave = %v, want nil", err)
	}
	if err := bob.Say("hi"); !errors.Is(err, room.ErrNotMember) {
		t.Errorf("Say after Leave: %v", err)
	}
	if _, err := r.Join("Bob", ""); err != nil {
		t.Errorf("name not freed after leaving: %v", err)
	}
}

func TestMessagesReachEveryoneInOneOrder(t *testing.T) {
	r := room.New(room.Options{QueueLen: 1000, MessageRate: 1e6, MessageBurst: 1000})
	var ms []room.Member
	for i := range 5 {
		ms = append(ms, join(t, r, fmt.Sprintf("u%d", i)))
	}
	for _, m := range ms {
		events(m)
	}
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Go(func() {
			for j := range 50 {
				if err := m.Say(fmt.Sprintf("%s %d", m.Name(), j)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	first := only(events(ms[0]), room.Message)
	if len(first) != 250 {
		t.Fatalf("got %d messages, want 250", len(first))
	}
	for _, m := range ms[1:] {
		got := only(events(m), room.Message)
		if len(got) != len(first) {
			t.Fatalf("%s got %d messages", m.Name(), len(got))
		}
		for i := range got {
			if got[i] != first[i] {
				t.Fatalf("%s saw message %d as %q, u0 saw %q", m.Name(), i, got[i].Text, first[i].Text)
			}
		}
	}
	// Each sender's own messages stay in the order sent.
	last := map[string]int{}
	for _, e := range first {
		var n int
		var who string
		fmt.Sscanf(e.Text, "%s %d", &who, &n)
		if prev, ok := last[who]; ok && n != prev+1 {
			t.Fatalf("%s's messages out of order: %d after %d", who, n, prev)
		}
		last[who] = n
	}
}

func TestSayCleansAndRefuses(t *testing.T) {
	r := room.New(room.Options{})
	a := join(t, r, "a")
	events(a)
	if err := a.Say("   "); !errors.Is(err, clean.ErrEmpty) {
		t.Errorf("blank message: %v", err)
	}
	if err := a.Say("hi\x1b[2J there"); err != nil {
		t.Fatal(err)
	}
	if got := one(t, events(a), room.Message).Text; got != "hi there" {
		t.Errorf("text = %q", got)
	}
}

func TestConcurrentJoinsOfOneNameHaveOneWinner(t *testing.T) {
	for range 20 {
		r := room.New(room.Options{})
		var wins sync.WaitGroup
		var mu sync.Mutex
		won := 0
		start := make(chan struct{})
		for range 16 {
			wins.Go(func() {
				<-start
				_, err := r.Join("alice", "")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case !errors.Is(err, room.ErrNameTaken):
					t.Errorf("unexpected error %v", err)
				}
			})
		}
		close(start)
		wins.Wait()
		if won != 1 {
			t.Fatalf("%d joins of one name won, want exactly 1", won)
		}
	}
}

// A member that falls behind is never removed for it: its backlog keeps
// the newest events, says how many messages it lost, and keeps what its
// state needs (an invitation) however far behind it is.
func TestAMemberThatFallsBehindStaysAndIsToldWhatItMissed(t *testing.T) {
	r := room.New(room.Options{QueueLen: 8, MessageBurst: 100})
	slow := join(t, r, "slow")
	fast := join(t, r, "fast")
	events(slow)
	var got []*room.Event
	for i := range 20 {
		if i == 5 {
			if err := fast.Invite("slow"); err != nil {
				t.Fatal(err)
			}
		}
		if err := fast.Say(fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
		got = fast.Take(got)
	}
	select {
	case <-slow.Done():
		t.Fatalf("a member that fell behind was removed: %v", slow.Err())
	default:
	}
	if n := len(only(got, room.Message)); n != 20 {
		t.Errorf("fast member got %d of 20 messages", n)
	}
	backlog := slow.Take(nil)
	if len(backlog) != 9 || backlog[0].Kind != room.Skipped || backlog[0].Skipped != 13 {
		t.Fatalf("slow's backlog: %d events, first %+v; want a note of 13 skipped, then 8", len(backlog), backlog[0])
	}
	if one(t, backlog, room.Invited).From != "fast" {
		t.Error("the invitation was dropped")
	}
	var texts []string
	for _, ev := range only(backlog, room.Message) {
		texts = append(texts, ev.Text)
	}
	if got := strings.Join(texts, " "); got != "13 14 15 16 17 18 19" {
		t.Errorf("slow kept %q, want the newest messages", got)
	}
	if !slices.Contains(names(r.Online()), "slow") {
		t.Error("slow is not online")
	}
	if fast.Say("again") != nil || len(only(slow.Take(nil), room.Message)) != 1 {
		t.Error("slow does not get messages after catching up")
	}
}

func TestInvitationAccepted(t *testing.T) {
	r := room.New(room.Options{})
	alice, bob, carol := join(t, r, "alice"), join(t, r, "bob"), join(t, r, "carol")
	for _, m := range []room.Member{alice, bob, carol} {
		events(m)
	}
	if err := alice.Invite("bob"); err != nil {
		t.Fatal(err)
	}
	inv := one(t, events(bob), room.Invited)
	if inv.From != "alice" || inv.To != "bob" {
		t.Fatalf("invitation %+v", inv)
	}
	if err := alice.Invite("bob"); !errors.Is(err, room.ErrAlreadyInvited) {
		t.Errorf("second invite while pending: %v", err)
	}
	if err := alice.Answer(inv.Invite, true); !errors.Is(err, room.ErrNoSuchInvite) {
		t.Errorf("inviter answering her own invitation: %v", err)
	}
	if err := bob.Answer(inv.Invite, true); err != nil {
		t.Fatal(err)
	}
	aEvs := events(alice)
	if ans := one(t, aEvs, room.Answered); !ans.Accepted || ans.To != "bob" {
		t.Errorf("answer %+v", ans)
	}
	opened := one(t, aEvs, room.ChatOpened)
	if bo := one(t, events(bob), room.ChatOpened); bo.Chat != opened.Chat || bo.Peer("bob") != "alice" || opened.Peer("alice") != "bob" {
		t.Fatalf("chat opened %+v / %+v", opened, bo)
	}
	if err := bob.Answer(inv.Invite, true); !errors.Is(err, room.ErrNoSuchInvite) {
		t.Errorf("answering twice: %v", err)
	}
	if err := alice.Invite("bob"); !errors.Is(err, room.ErrAlreadyChatting) {
		t.Errorf("invite to a current partner: %v", err)
	}

	if err := bob.SendPrivate(opened.Chat, "psst"); err != nil {
		t.Fatal(err)
	}
	for _, m := range []room.Member{alice, bob} {
		pm := one(t, events(m), room.PrivateMessage)
		if pm.Text != "psst" || pm.From != "bob" || pm.Chat != opened.Chat {
			t.Errorf("%s got %+v", m.Name(), pm)
		}
	}
	if evs := events(carol); len(evs) != 0 {
		t.Errorf("carol saw %d events of a private chat", len(evs))
	}
	if err := carol.SendPrivate(opened.Chat, "hi"); !errors.Is(err, room.ErrNoSuchChat) {
		t.Errorf("outsider writing to the chat: %v", err)
	}
}

func TestInvitationDeclined(t *testing.T) {
	now := time.Unix(1e9, 0)
	r := room.New(room.Options{Now: func() time.Time { return now }, MessageBurst: 100})
	alice, bob := join(t, r, "alice"), join(t, r, "bob")
	alice.Invite("bob")
	inv := one(t, events(bob), room.Invited)
	if err := bob.Answer(inv.Invite, false); err != nil {
		t.Fatal(err)
	}
	evs := events(alice)
	if ans := one(t, evs, room.Answered); ans.Accepted {
		t.Error("declined invitation reported accepted")
	}
	if len(only(evs, room.ChatOpened)) != 0 || len(only(events(bob), room.ChatOpened)) != 0 {
		t.Error("a chat opened after a decline")
	}
	// alice waits before asking bob again; bob may still ask her.
	var declined *room.DeclinedError
	if err := alice.Invite("bob"); !errors.As(err, &declined) || declined.Wait != 10*time.Minute {
		t.Errorf("inviting again at once after a decline: %v", err)
	}
	now = now.Add(9*time.Minute + 30*time.Second)
	if err := alice.Invite("bob"); err == nil || err.Error() != "bob declined your last invitation; you may invite them again in 30s" {
		t.Errorf("inviting again 9.5 min after a decline: %v", err)
	}
	now = now.Add(30 * time.Second)
	if err := alice.Invite("bob"); err != nil {
		t.Errorf("inviting again 10 min after a decline: %v", err)
	}
}

// The wait after a decline follows the key, not the name.
func TestTheWaitAfterADeclineFollowsTheKey(t *testing.T) {
	r := room.New(room.Options{MessageBurst: 100})
	alice, err := r.Join("alice", "key-a")
	if err != nil {
		t.Fatal(err)
	}
	bob := join(t, r, "bob")
	alice.Invite("bob")
	bob.Answer(one(t, events(bob), room.Invited).Invite, false)
	alice.Leave()
	again, err := r.Join("alice2", "key-a")
	if err != nil {
		t.Fatal(err)
	}
	var declined *room.DeclinedError
	if err := again.Invite("bob"); !errors.As(err, &declined) {
		t.Errorf("the same key under a new name: %v", err)
	}
	if err := join(t, r, "carol").Invite("bob"); err != nil {
		t.Errorf("someone else inviting bob: %v", err)
	}
}

func TestInviteRefusesSelfAndOffline(t *testing.T) {
	r := room.New(room.Options{})
	alice := join(t, r, "alice")
	if err := alice.Invite("alice"); !errors.Is(err, room.ErrSelfInvite) {
		t.Errorf("self invite: %v", err)
	}
	if err := alice.Invite("nobody"); !errors.Is(err, room.ErrOffline) {
		t.Errorf("offline invite: %v", err)
	}
	if err := alice.Invite("Alice"); !errors.Is(err, room.ErrOffline) {
		t.Errorf("names are case-sensitive, Alice is not online: %v", err)
	}
}

func TestMutualInvitationsOpenAChat(t *testing.T) {
	r := room.New(room.Options{})
	alice, bob := join(t, r, "alice"), join(t, r, "bob")
	alice.Invite("bob")
	if err := bob.Invite("alice"); err != nil {
		t.Fatal(err)
	}
	one(t, events(alice), room.ChatOpened)
	one(t, events(bob), room.ChatOpened)
}

func TestInvitationExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := room.New(room.Options{})
		alice, bob := join(t, r, "alice"), join(t, r, "bob")
		alice.Invite("bob")
		inv := one(t, events(bob), room.Invited)
		// The clock is synctest's: these sleeps are the 60 s passing, at once.
		time.Sleep(59 * time.Second)
		synctest.Wait()
		if n := len(only(events(alice), room.InviteEnded)); n != 0 {
			t.Fatal("invitation ended before 60 s")
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		for _, m := range []room.Member{alice, bob} {
			if e := one(t, events(m), room.InviteEnded); e.Reason != room.ReasonExpired {
				t.Errorf("%s: %+v", m.Name(), e)
			}
		}
		if err := bob.Answer(inv.Invite, true); !errors.Is(err, room.ErrNoSuchInvite) {
			t.Errorf("answering an expired invitation: %v", err)
		}
	})
}

func TestLeavingEndsInvitationsAndChats(t *testing.T) {
	r := room.New(room.Options{})
	alice, bob, carol := join(t, r, "alice"), join(t, r, "bob"), join(t, r, "carol")
	alice.Invite("bob")
	bob.Answer(one(t, events(bob), room.Invited).Invite, true)
	chat := one(t, events(alice), room.ChatOpened).Chat
	carol.Invite("bob")
	events(carol)

	bob.Leave()
	closed := one(t, events(alice), room.ChatClosed)
	if closed.Chat != chat || closed.From != "bob" || closed.Reason != room.ReasonLeft {
		t.Errorf("chat closed %+v", closed)
	}
	if err := alice.SendPrivate(chat, "hello?"); !errors.Is(err, room.ErrChatClosed) {
		t.Errorf("writing to a chat whose partner left: %v", err)
	}
	if e := one(t, events(carol), room.InviteEnded); e.Reason != room.ReasonLeft {
		t.Errorf("carol's pending invitation: %+v", e)
	}
	if err := alice.CloseChat(chat); err != nil {
		t.Errorf("closing the read-only tab: %v", err)
	}
	if err := alice.CloseChat(chat); !errors.Is(err, room.ErrNoSuchChat) {
		t.Errorf("closing twice: %v", err)
	}
}

func TestClosingAChatTellsThePartner(t *testing.T) {
	r := room.New(room.Options{})
	alice, bob := join(t, r, "alice"), join(t, r, "bob")
	alice.Invite("bob")
	bob.Answer(one(t, events(bob), room.Invited).Invite, true)
	chat := one(t, events(alice), room.ChatOpened).Chat
	events(bob)
	if err := alice.CloseChat(chat); err != nil {
		t.Fatal(err)
	}
	if e := one(t, events(bob), room.ChatClosed); e.Reason != room.ReasonClosed || e.From != "alice" {
		t.Errorf("%+v", e)
	}
	if err := bob.SendPrivate(chat, "wait"); !errors.Is(err, room.ErrChatClosed) {
		t.Errorf("%v", err)
	}
	// They can start over.
	if err := bob.Invite("alice"); err != nil {
		t.Errorf("new invitation after a closed chat: %v", err)
	}
}

func TestCloseRemovesEveryoneWithTheReason(t *testing.T) {
	r := room.New(room.Options{})
	a, b := join(t, r, "a"), join(t, r, "b")
	a.Invite("b")
	r.Close("server is shutting down")
	r.Close("again")
	for _, m := range []room.Member{a, b} {
		<-m.Done()
		if err := m.Err(); !errors.Is(err, room.ErrClosed) || err.Error() != "server is shutting down" {
			t.Errorf("%s: Err() = %v", m.Name(), err)
		}
	}
	if _, err := r.Join("c", ""); !errors.Is(err, room.ErrClosed) {
		t.Errorf("join after close: %v", err)
	}
	a.Leave()
	if r.Online().Len() != 0 {
		t.Error("members left after close")
	}
}

func TestTheSameIdentityTakesOverAGhostWithoutAFlap(t *testing.T) {
	r := room.New(room.Options{})
	old, err := r.Join("alice", "key-a")
	if err != nil {
		t.Fatal(err)
	}
	bob := join(t, r, "bob")
	old.Invite("bob")
	bob.Answer(one(t, events(bob), room.Invited).Invite, true)
	chat := one(t, events(old), room.ChatOpened).Chat
	carol := join(t, r, "carol")
	carol.Invite("alice") // pending for alice
	events(bob)
	events(carol)

	if _, err := r.Join("alice", "key-b"); !errors.Is(err, room.ErrNameTaken) {
		t.Errorf("another identity: %v", err)
	}
	if _, err := r.Join("alice", ""); !errors.Is(err, room.ErrNameTaken) {
		t.Errorf("no identity: %v", err)
	}
	fresh, err := r.Join("alice", "key-a")
	if err != nil {
		t.Fatal(err)
	}
	if !fresh.Replaced() {
		t.Error("Replaced() false after a takeover")
	}
	<-old.Done()
	if !errors.Is(old.Err(), room.ErrTakenOver) || old.Err().Error() != "signed in from elsewhere" {
		t.Errorf("old session: %v", old.Err())
	}
	for _, m := range []room.Member{bob, carol} {
		for _, e := range events(m) {
			if e.Kind == room.Joined || e.Kind == room.Left || e.Kind == room.ChatClosed {
				t.Errorf("%s saw %v of alice", m.Name(), e.Kind)
			}
		}
	}
	got := events(fresh)
	if e := one(t, got, room.ChatOpened); e.Chat != chat || e.Peer("alice") != "bob" {
		t.Errorf("chat passed on as %+v", e)
	}
	if e := one(t, got, room.Invited); e.From != "carol" {
		t.Errorf("invitation passed on as %+v", e)
	}
	if err := bob.SendPrivate(chat, "still there?"); err != nil {
		t.Fatal(err)
	}
	if e := one(t, events(fresh), room.PrivateMessage); e.Text != "still there?" {
		t.Errorf("%+v", e)
	}
	if r.Online().Len() != 3 {
		t.Errorf("%d online", r.Online().Len())
	}
}

func TestKickRemovesWithAReasonEveryoneSees(t *testing.T) {
	r := room.New(room.Options{})
	alice, bob := join(t, r, "alice"), join(t, r, "bob")
	events(alice)
	if !r.Kick("bob", "kicked by alice: spam\x1b[2J") {
		t.Fatal("kick found nobody")
	}
	<-bob.Done()
	var ke *room.KickedError
	if !errors.As(bob.Err(), &ke) || ke.Reason != "kicked by alice: spam" {
		t.Errorf("bob: %v", bob.Err())
	}
	if e := one(t, events(alice), room.Left); e.Reason != "kicked by alice: spam" {
		t.Errorf("%+v", e)
	}
	if r.Kick("nobody", "x") {
		t.Error("kicked someone absent")
	}
}

// Commands cost what messages cost: spending and saying draw on one
// allowance.
func TestSpendingAndSayingShareOneAllowance(t *testing.T) {
	now := time.Unix(1e9, 0)
	r := room.New(room.Options{MessageRate: 1, MessageBurst: 3, Now: func() time.Time { return now }})
	a := join(t, r, "a")
	if err := a.Spend(); err != nil {
		t.Fatal(err)
	}
	if err := a.Say("one"); err != nil {
		t.Fatal(err)
	}
	if err := a.Spend(); err != nil {
		t.Fatal(err)
	}
	if err := a.Say("two"); !errors.Is(err, room.ErrSlowDown) {
		t.Errorf("a fourth send in a burst of 3: %v", err)
	}
	if err := a.Spend(); !errors.Is(err, room.ErrSlowDown) {
		t.Errorf("a fifth: %v", err)
	}
	now = now.Add(time.Second)
	if err := a.Spend(); err != nil {
		t.Errorf("a second later: %v", err)
	}
	a.Leave()
	if err := a.Spend(); !errors.Is(err, room.ErrNotMember) {
		t.Errorf("after leaving: %v", err)
	}
}

// A session far behind is told how many came and went, and who of the
// most recent changes.
func TestTheJournalNamesTheRecentAndCountsAll(t *testing.T) {
	r := room.New(room.Options{})
	before := r.Online()
	var ms []room.Member
	for i := range 400 {
		ms = append(ms, join(t, r, fmt.Sprintf("p%03d", i)))
	}
	for _, m := range ms[:100] {
		m.Leave()
	}
	n := r.News(before)
	if n.JoinedN != 400 || n.LeftN != 100 || n.Online.Len() != 300 {
		t.Errorf("counts: %d joined, %d left, %d online", n.JoinedN, n.LeftN, n.Online.Len())
	}
	// The journal holds the last 256 changes: p244 to p399 joining, then
	// p000 to p099 leaving; the oldest of each are named.
	if len(n.Joined) != room.NewsNames || n.Joined[0] != "p244" || len(n.Left) != room.NewsNames || n.Left[0] != "p000" {
		t.Errorf("names: joined %v, left %v", n.Joined, n.Left)
	}
}

// A change wakes a member once; it is woken again only after reading the
// news, however many come and go meanwhile.
func TestNewsWakesAMemberOnceUntilRead(t *testing.T) {
	r := room.New(room.Options{})
	a := join(t, r, "a")
	a.NewsRead()
	select {
	case <-a.Ready():
	default:
	}
	for i := range 10 {
		join(t, r, fmt.Sprintf("p%d", i))
	}
	wakes := 0
	for {
		select {
		case <-a.Ready():
			wakes++
			continue
		default:
		}
		break
	}
	if wakes != 1 || !a.HasNews() {
		t.Errorf("10 joins woke a %d times (news %v), want once", wakes, a.HasNews())
	}
	a.NewsRead()
	join(t, r, "late")
	select {
	case <-a.Ready():
	default:
		t.Error("a change after reading the news did not wake a")
	}
}
