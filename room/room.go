// Package room is the chat broker: who is online, the main room, invitations
// and private chats. It knows nothing of SSH or terminals; members receive
// plain events through bounded queues and the broker never waits for them.
package room

import (
	"cmp"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"chatroom/internal/clean"

	"golang.org/x/time/rate"
)

// Errors returned by room operations. Their text is fit to show a user.
var (
	ErrNameTaken       = errors.New("name is taken")
	ErrClosed          = errors.New("the room is closed")
	ErrNotMember       = errors.New("you are no longer in the room")
	ErrSelfInvite      = errors.New("you cannot invite yourself")
	ErrOffline         = errors.New("is not online")
	ErrAlreadyChatting = errors.New("you already have a private chat with them")
	ErrAlreadyInvited  = errors.New("you already invited them; waiting for an answer")
	ErrNoSuchInvite    = errors.New("that invitation is no longer open")
	ErrNoSuchChat      = errors.New("no such private chat")
	ErrChatClosed      = errors.New("this private chat is closed")
)

// ErrSlowDown is matched by the error for a member who sends too fast.
var ErrSlowDown = errors.New("slow down")

// SlowDownError says a member sent faster than the room allows.
type SlowDownError struct{ Rate float64 }

func (e *SlowDownError) Error() string {
	return fmt.Sprintf("slow down: at most %g messages a second", e.Rate)
}

func (e *SlowDownError) Is(target error) bool { return target == ErrSlowDown }

// DeclinedError refuses an invitation to someone who declined the last one
// from the same person a short while ago.
type DeclinedError struct {
	Name string
	Wait time.Duration // until they may be invited again
}

func (e *DeclinedError) Error() string {
	return fmt.Sprintf("%s declined your last invitation; you may invite them again in %s", e.Name, roundUp(e.Wait))
}

// roundUp says d in whole minutes, or seconds under a minute.
func roundUp(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%ds", int((d+time.Second-1)/time.Second))
	}
	return fmt.Sprintf("%d min", int((d+time.Minute-1)/time.Minute))
}

// ClosedError is why members are removed when the room closes.
type ClosedError struct{ Reason string }

func (e *ClosedError) Error() string        { return e.Reason }
func (e *ClosedError) Is(target error) bool { return target == ErrClosed }

// Options configure a Room. Zero fields take the defaults.
type Options struct {
	// QueueLen bounds a member's backlog, in events (default 2048). An
	// event is shared by everyone who gets it, so a backlog costs a
	// pointer an event, 16 KiB when full; past it the oldest messages are
	// dropped, never the member.
	QueueLen int
	// InviteTTL is how long an invitation stays open (default 60 s).
	InviteTTL time.Duration
	// DeclineWait is how long someone whose invitation was declined waits
	// before inviting the same person again (default 10 minutes), so that
	// invitations cannot be used to pester. The two are told apart by
	// key where they have one, else by name.
	DeclineWait time.Duration
	// MessageRate is how many messages and invitations a member may send
	// a second once MessageBurst is spent (default 2 and 5).
	MessageRate  float64
	MessageBurst int
	// Text bounds one message (default clean.DefaultLimits).
	Text clean.Limits
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Relay, if set, makes the room one node's part of a cluster: main-room
	// messages and kicks' notices go to Relay instead of to the members,
	// and come back, in the cluster's order, through Deliver. It is
	// called without the room's lock; its error is the sender's.
	Relay func(*Event) error
	// Gone, if set, is told the name of each member that leaves this node
	// (not one whose place another session of the same key took here).
	// It is called with the room's lock held and must not block.
	Gone func(name string)
	// Route, if set, carries an event for someone on another node of a
	// cluster to that node, which hands it to its room's Apply. It is
	// called with the room's lock held and must not block.
	Route func(node string, ev *Event)
	// FirstID is where invitation and chat numbers start; the nodes of a
	// cluster start far apart so that their numbers never meet.
	FirstID uint64
}

// Defaults are the options a zero Options takes.
var Defaults = Options{
	QueueLen:     2048,
	InviteTTL:    60 * time.Second,
	DeclineWait:  10 * time.Minute,
	MessageRate:  2,
	MessageBurst: 5,
	Text:         clean.DefaultLimits,
}

// Room is the broker. Its zero value is not usable; call New.
type Room struct {
	opts Options

	mu      sync.Mutex // guards everything below; never held during I/O
	closed  bool
	members map[string]*member
	remote  map[string]*member // stand-ins for the people on other nodes of a cluster
	people  *presence
	invites map[InviteID]*invite
	nextID  uint64
	// declined holds, for who invited whom (identities), when they may
	// invite again after a decline.
	declined map[[2]string]time.Time

	// The members to wake at the next change of who is online: those
	// who read the news since they were last woken. A change wakes only
	// them, so a crowd arriving costs each member one wake per read,
	// not one per arrival.
	newsMu          sync.Mutex // guards unwoken and member.listed; taken inside mu
	unwoken, waking []*member

	// Counters for Stats, updated with the lock held, read without it.
	messages, private, invitations atomic.Uint64
}

// Stats counts what the room has done since it was made.
type Stats struct {
	Members     int    // in the room now
	Messages    uint64 // main-room messages
	Private     uint64 // private messages
	Invitations uint64 // invitations sent
}

// Stats reports the room's counters.
func (r *Room) Stats() Stats {
	r.mu.Lock()
	n := len(r.members)
	r.mu.Unlock()
	return Stats{Members: n, Messages: r.messages.Load(), Private: r.private.Load(),
		Invitations: r.invitations.Load()}
}

// New makes an empty, open room.
func New(opts Options) *Room {
	d := Defaults
	opts.QueueLen = cmp.Or(opts.QueueLen, d.QueueLen)
	opts.InviteTTL = cmp.Or(opts.InviteTTL, d.InviteTTL)
	opts.DeclineWait = cmp.Or(opts.DeclineWait, d.DeclineWait)
	opts.MessageRate = cmp.Or(opts.MessageRate, d.MessageRate)
	opts.MessageBurst = cmp.Or(opts.MessageBurst, d.MessageBurst)
	opts.Text.Bytes = cmp.Or(opts.Text.Bytes, d.Text.Bytes)
	opts.Text.Lines = cmp.Or(opts.Text.Lines, d.Text.Lines)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Room{
		opts:     opts,
		members:  make(map[string]*member),
		people:   newPresence(opts.Now),
		invites:  make(map[InviteID]*invite),
		declined: make(map[[2]string]time.Time),
		nextID:   opts.FirstID,
	}
}

// Broker is the room as sessions use it. *Room is the broker of one
// process; another (several nodes on NATS, say) can take its place without
// the sessions knowing. It is declared here, beside the events it carries,
// because its methods return a Member.
type Broker interface {
	// Join enters the room as name; see (*Room).Join.
	Join(name, id string) (Member, error)
	// Online is who is in the room now.
	Online() *Presence
	// News is who came and went since a snapshot: sessions read it when
	// they draw, after their member says there is news.
	News(since *Presence) News
	// Kick removes the member called name, with a reason everyone sees.
	Kick(name, reason string) bool
}

// Locator is a Broker of several nodes: it says where someone online is,
// and carries what their node knows of them to the others.
type Locator interface {
	// Locate says where name is, if they are online.
	Locate(name string) (Location, bool)
	// SetAway tells every node that name, a member of this one, is away
	// for why, or back.
	SetAway(name string, away bool, why string)
}

// Location is where someone online in a cluster is.
type Location struct {
	Node string  // the node's name
	Here bool    // the node is this one
	ID   string  // their identity; "" for a guest
	Away *string // why they are away, if they are
}

// Member is one person's place in the room. Its methods are safe for
// concurrent use.
type Member interface {
	// Name is the member's chat name.
	Name() string
	// Replaced reports whether the member took the place of an earlier
	// session of the same identity.
	Replaced() bool
	// Ready has a value whenever events are waiting, or news, or the
	// member is out of the room: collect them with Take, HasNews and Done.
	Ready() <-chan struct{}
	// Nudge leaves a value in Ready, so that a session can wait on that
	// one channel and be woken through it by anything else too.
	Nudge()
	// HasNews reports whether who is online changed since NewsRead.
	HasNews() bool
	// NewsRead lowers the news flag: call it before reading Broker.News,
	// and the next change wakes the member again.
	NewsRead()
	// Take appends the waiting events, oldest first, to buf and returns it.
	Take(buf []*Event) []*Event
	// Done is closed when the member is out of the room: it left, was
	// removed, or the room closed. Events already waiting can still be taken.
	Done() <-chan struct{}
	// Out reports whether Done is closed, without touching the channel: a
	// session asks after every wake-up, and in a big room each cache line
	// a delivery touches counts.
	Out() bool
	// Err says why the member is out: nil after Leave, ErrTakenOver, a
	// *KickedError, or a *ClosedError. It is only
	// meaningful once Done is closed.
	Err() error
	// Leave takes the member out; everyone sees them leave once.
	Leave()
	// Say sends text to the main room.
	Say(text string) error
	// Spend takes one send from the member's allowance, as a message
	// would, for something else that costs the server (a command); it
	// fails as Say does when the member sends too fast.
	Spend() error
	// Invite asks the member called name to a private chat.
	Invite(name string) error
	// Answer accepts or declines an invitation addressed to this member.
	Answer(id InviteID, accept bool) error
	// SendPrivate sends text to a private chat.
	SendPrivate(id ChatID, text string) error
	// Act sends an action (/me) to the main room (chat 0) or a private chat.
	Act(chat ChatID, text string) error
	// CloseChat ends a private chat; the other person is told.
	CloseChat(id ChatID) error
}

// Join adds a member named name, of identity id (a key fingerprint, say;
// "" for nobody in particular). Exactly one of several concurrent joins of
// one name succeeds; the others get ErrNameTaken. If name is held by a
// member of the same identity, the new member takes its place: the old one
// is removed with ErrTakenOver, its private chats and invitations pass to
// the new one, and the others see no one leave or join. Identities are
// compared in constant time.
func (r *Room) Join(name, id string) (Member, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	m := &member{
		q:       queue{max: r.opts.QueueLen, ready: make(chan struct{}, 1)},
		room:    r,
		name:    name,
		id:      id,
		done:    make(chan struct{}),
		sends:   rate.NewLimiter(rate.Limit(r.opts.MessageRate), r.opts.MessageBurst),
		chats:   make(map[ChatID]*chat),
		invites: make(map[InviteID]*invite),
	}
	m.q.evs = m.q.small[:0]
	if old := r.members[name]; old != nil {
		if id == "" || !sameID(old.id, id) {
			return nil, ErrNameTaken
		}
		r.takeOver(old, m)
		r.listForNews(m)
		return m, nil
	}
	if p := r.remote[name]; p != nil {
		// The cluster gave this node the name: the same key moved here
		// (its chats go on), or another's claim lapsed (what the
		// stand-in had here ends). It stays on the list.
		m.replaced = id != "" && sameID(p.id, id)
		if m.replaced {
			r.takeBack(p, m)
		} else {
			r.dropRemote(p)
		}
		r.members[name] = m
		r.listForNews(m)
		return m, nil
	}
	r.members[name] = m
	r.people.add(name)
	r.listForNews(m) // woken by its own arrival, as by any other
	r.tellNews()
	return m, nil
}

func sameID(a, b string) bool {
	return len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// ErrTakenOver is why a member is removed when the same person signs in
// again elsewhere.
var ErrTakenOver = errors.New("signed in from elsewhere")

// takeOver puts m in old's place. Called with r.mu held.
func (r *Room) takeOver(old, m *member) {
	old.gone, old.err = true, ErrTakenOver
	old.close()
	m.replaced = true
	r.members[m.name] = m
	now := r.opts.Now()
	r.moveChats(old, m)
	for id, inv := range old.invites {
		delete(old.invites, id)
		m.invites[id] = inv
		if inv.from == old {
			inv.from = m
		} else {
			inv.to = m
			r.deliver(m, &Event{Kind: Invited, Time: now, From: inv.from.name, To: m.name, Invite: id})
		}
	}
}

// moveChats gives m the open chats of old, the same person's earlier
// session: they go on, and m hears of each so it can show them. Called
// with r.mu held.
func (r *Room) moveChats(old, m *member) {
	now := r.opts.Now()
	for id, c := range old.chats {
		delete(old.chats, id)
		if !c.open {
			continue
		}
		if c.from == old {
			c.from = m
		} else {
			c.to = m
		}
		m.chats[id] = c
		r.deliver(m, &Event{Kind: ChatOpened, Time: now, From: c.from.name, To: c.to.name, Chat: id, Reason: ReasonResumed})
	}
}

// KickedError is why a member was removed by Kick.
type KickedError struct{ Reason string }

func (e *KickedError) Error() string { return e.Reason }

// Kick removes the member called name. Everyone sees them leave, with
// reason; they get a *KickedError with it. It reports whether anyone was
// removed.
func (r *Room) Kick(name, reason string) bool {
	reason = clean.Line(reason, 200)
	if r.opts.Relay != nil {
		r.mu.Lock()
		_, here := r.members[name]
		_, there := r.remote[name]
		r.mu.Unlock()
		return (here || there) && r.opts.Relay(&Event{Kind: Left, Time: r.opts.Now(), From: name, Reason: reason}) == nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.members[name]
	if m == nil {
		return false
	}
	r.remove(m, &KickedError{Reason: reason}, reason)
	return true
}

// Online is who is in the room now.
func (r *Room) Online() *Presence {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.people.online()
}

// News is who came and went since the snapshot since (nil: since the
// room opened).
func (r *Room) News(since *Presence) News {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.people.news(since)
}

// Close removes every member with the given reason and refuses new joins.
// It is safe to call more than once.
func (r *Room) Close(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.closed = true
	for _, inv := range r.invites {
		inv.stop()
	}
	clear(r.invites)
	clear(r.remote)
	err := &ClosedError{Reason: reason}
	for name, m := range r.members {
		m.gone, m.err = true, err
		m.close()
		delete(r.members, name)
		if r.opts.Gone != nil {
			r.opts.Gone(name)
		}
	}
	r.people = newPresence(r.opts.Now)
}

// canSend checks that m is in the room and within its message rate.
// Called with r.mu held.
func (m *member) canSend() error {
	if m.gone {
		return ErrNotMember
	}
	if !m.sends.AllowN(m.room.opts.Now(), 1) {
		return &SlowDownError{Rate: m.room.opts.MessageRate}
	}
	return nil
}

// remove takes m out and tells the others. Called with r.mu held.
func (r *Room) remove(m *member, err error, why string) {
	r.drop(m, err)
	r.people.remove(m.name, why != "")
	r.tellNews()
	if why != "" {
		// A removal with a reason (a kick, a ban) is news for everyone,
		// told on its own line.
		r.broadcast(&Event{Kind: Left, Time: r.opts.Now(), From: m.name, Reason: why})
	}
}

// drop takes m out of the room and ends its invitations and chats; who is
// online is the caller's to change. Called with r.mu held.
func (r *Room) drop(m *member, err error) {
	r.out(m, err)
	r.endInvites(m)
	r.endChats(m)
}

// out marks m gone with err and takes it out of the members. Called with
// r.mu held.
func (r *Room) out(m *member, err error) {
	m.gone, m.err = true, err
	m.close()
	delete(r.members, m.name)
	if r.opts.Gone != nil {
		r.opts.Gone(m.name)
	}
}

// endChats ends m's open chats, telling the other side. Called with r.mu
// held.
func (r *Room) endChats(m *member) {
	now := r.opts.Now()
	for id, c := range m.chats {
		delete(m.chats, id)
		if c.open {
			c.open = false
			p := c.peer(m)
			r.deliver(p, &Event{Kind: ChatClosed, Time: now, From: m.name, To: p.name, Chat: id, Reason: ReasonLeft})
		}
	}
}

// tellNews raises every member's news flag, waking those whose flag was
// down. Called with r.mu held.
func (r *Room) tellNews() {
	r.newsMu.Lock()
	r.unwoken, r.waking = r.waking[:0], r.unwoken
	for _, m := range r.waking {
		m.listed = false
	}
	r.newsMu.Unlock()
	for i, m := range r.waking {
		if !m.gone && m.news.CompareAndSwap(false, true) {
			m.q.wake()
		}
		r.waking[i] = nil
	}
}

// listForNews has the next change of who is online wake m.
func (r *Room) listForNews(m *member) {
	r.newsMu.Lock()
	defer r.newsMu.Unlock()
	if !m.listed {
		m.listed = true
		r.unwoken = append(r.unwoken, m)
	}
}

// broadcast delivers ev to every member. Called with r.mu held.
func (r *Room) broadcast(ev *Event) {
	for _, m := range r.members {
		r.deliver(m, ev)
	}
}

// deliver queues ev for m without waiting, or routes it to m's node if m
// stands in for someone on another node. Called with r.mu held.
func (r *Room) deliver(m *member, ev *Event) {
	switch {
	case m.node != "":
		if r.opts.Route != nil && !m.gone {
			r.opts.Route(m.node, ev)
		}
	case !m.gone:
		m.q.push(ev)
	}
}
