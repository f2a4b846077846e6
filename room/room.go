// Package room is the chat broker: who is online, the main room, invitations
// and private chats. It knows nothing of SSH or terminals; members receive
// plain events through bounded queues and the broker never waits for them.
package room

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

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

// ErrSlowConsumer is why a member is removed when its queue overflows.
var ErrSlowConsumer = errors.New("disconnected: your connection could not keep up with the room")

// ClosedError is why members are removed when the room closes.
type ClosedError struct{ Reason string }

func (e *ClosedError) Error() string        { return e.Reason }
func (e *ClosedError) Is(target error) bool { return target == ErrClosed }

// Options configure a Room. Zero fields take the defaults.
type Options struct {
	// QueueLen is how many events a member may have waiting (default 256).
	QueueLen int
	// QueueBytes is how many bytes of events may wait (default 96 KiB).
	QueueBytes int
	// InviteTTL is how long an invitation stays open (default 60 s).
	InviteTTL time.Duration
	// MessageRate is how many messages and invitations a member may send
	// a second once MessageBurst is spent (default 2 and 5).
	MessageRate  float64
	MessageBurst int
	// Text bounds one message (default DefaultTextLimits).
	Text TextLimits
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Defaults are the options a zero Options takes.
var Defaults = Options{
	QueueLen:     256,
	QueueBytes:   96 << 10,
	InviteTTL:    60 * time.Second,
	MessageRate:  2,
	MessageBurst: 5,
	Text:         DefaultTextLimits,
}

// Room is the broker. Its zero value is not usable; call New.
type Room struct {
	opts Options

	mu       sync.Mutex // guards everything below; never held during I/O
	closed   bool
	members  map[string]*Member
	online   *Presence
	invites  map[InviteID]*invite
	nextID   uint64
	evicting []*Member // members whose queue overflowed, to remove

	// Counters for Stats, updated with the lock held, read without it.
	messages, private, invitations, slow atomic.Uint64
}

// Stats counts what the room has done since it was made.
type Stats struct {
	Members       int    // in the room now
	Messages      uint64 // main-room messages
	Private       uint64 // private messages
	Invitations   uint64 // invitations sent
	SlowConsumers uint64 // members removed because they could not keep up
}

// Stats reports the room's counters.
func (r *Room) Stats() Stats {
	r.mu.Lock()
	n := len(r.members)
	r.mu.Unlock()
	return Stats{Members: n, Messages: r.messages.Load(), Private: r.private.Load(),
		Invitations: r.invitations.Load(), SlowConsumers: r.slow.Load()}
}

type invite struct {
	id       InviteID
	from, to *Member
	timer    *time.Timer
}

type chat struct {
	id       ChatID
	from, to *Member
	open     bool
}

func (c *chat) peer(m *Member) *Member {
	if c.from == m {
		return c.to
	}
	return c.from
}

// New makes an empty, open room.
func New(opts Options) *Room {
	d := Defaults
	if opts.QueueLen <= 0 {
		opts.QueueLen = d.QueueLen
	}
	if opts.QueueBytes <= 0 {
		opts.QueueBytes = d.QueueBytes
	}
	if opts.InviteTTL <= 0 {
		opts.InviteTTL = d.InviteTTL
	}
	if opts.MessageRate <= 0 {
		opts.MessageRate = d.MessageRate
	}
	if opts.MessageBurst <= 0 {
		opts.MessageBurst = d.MessageBurst
	}
	if opts.Text.Bytes <= 0 {
		opts.Text.Bytes = d.Text.Bytes
	}
	if opts.Text.Lines <= 0 {
		opts.Text.Lines = d.Text.Lines
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Room{
		opts:    opts,
		members: make(map[string]*Member),
		online:  &Presence{},
		invites: make(map[InviteID]*invite),
	}
}

// Member is one person in the room. Its methods are safe for concurrent use.
type Member struct {
	room     *Room
	name     string
	id       string // who this is, beyond the name; "" for nobody in particular
	replaced bool   // took the place of a session of the same identity
	q        *queue
	done     chan struct{}
	sends    *rate.Limiter // messages and invitations

	// Guarded by room.mu.
	gone    bool
	err     error
	chats   map[ChatID]*chat
	invites map[InviteID]*invite // sent and received
}

// Name is the member's chat name.
func (m *Member) Name() string { return m.name }

// Replaced reports whether the member took the place of an earlier session
// of the same identity (see JoinAs).
func (m *Member) Replaced() bool { return m.replaced }

// Ready has a value whenever events are waiting; collect them with Take.
func (m *Member) Ready() <-chan struct{} { return m.q.ready }

// Take appends the waiting events, oldest first, to buf and returns it.
func (m *Member) Take(buf []*Event) []*Event { return m.q.take(buf) }

// Done is closed when the member is out of the room: it left, was removed,
// or the room closed. Events already waiting can still be taken.
func (m *Member) Done() <-chan struct{} { return m.done }

// Err says why the member is out: nil after Leave, ErrSlowConsumer,
// ErrTakenOver, a *KickedError, or a *ClosedError. It is only meaningful once Done is closed.
func (m *Member) Err() error {
	m.room.mu.Lock()
	defer m.room.mu.Unlock()
	return m.err
}

// Join adds a member named name. Exactly one of several concurrent joins of
// one name succeeds; the others get ErrNameTaken.
func (r *Room) Join(name string) (*Member, error) { return r.JoinAs(name, "") }

// JoinAs is Join for a member with an identity (a key fingerprint, say; ""
// for none). If name is held by a member of the same identity, the new
// member takes its place: the old one is removed with ErrTakenOver, its
// private chats and invitations pass to the new one, and the others see
// no one leave or join. Identities are compared in constant time.
func (r *Room) JoinAs(name, id string) (*Member, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.unlock()
	if r.closed {
		return nil, ErrClosed
	}
	m := &Member{
		room:    r,
		name:    name,
		id:      id,
		q:       newQueue(r.opts.QueueLen, r.opts.QueueBytes),
		done:    make(chan struct{}),
		sends:   rate.NewLimiter(rate.Limit(r.opts.MessageRate), r.opts.MessageBurst),
		chats:   make(map[ChatID]*chat),
		invites: make(map[InviteID]*invite),
	}
	if old := r.members[name]; old != nil {
		if id == "" || !sameID(old.id, id) {
			return nil, ErrNameTaken
		}
		r.takeOver(old, m)
		return m, nil
	}
	r.members[name] = m
	r.online = r.online.with(name)
	r.broadcast(&Event{Kind: Joined, Time: r.opts.Now(), From: name, Online: r.online})
	return m, nil
}

func sameID(a, b string) bool {
	return len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// ErrTakenOver is why a member is removed when the same person signs in
// again elsewhere.
var ErrTakenOver = errors.New("signed in from elsewhere")

// takeOver puts m in old's place. Called with r.mu held.
func (r *Room) takeOver(old, m *Member) {
	old.gone, old.err = true, ErrTakenOver
	close(old.done)
	m.replaced = true
	r.members[m.name] = m
	now := r.opts.Now()
	// The chats go on with the new session; it hears of each so it can
	// show them.
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
		r.deliver(m, &Event{Kind: ChatOpened, Time: now, From: c.from.name, To: c.to.name, Chat: id, Text: ReasonResumed})
	}
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

// KickedError is why a member was removed by Kick.
type KickedError struct{ Reason string }

func (e *KickedError) Error() string { return e.Reason }

// Kick removes the member called name. Everyone sees them leave, with
// reason; they get a *KickedError with it. It reports whether anyone was
// removed.
func (r *Room) Kick(name, reason string) bool {
	reason = CleanLine(reason, 200)
	r.mu.Lock()
	defer r.unlock()
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
	return r.online
}

// Close removes every member with the given reason and refuses new joins.
// It is safe to call more than once.
func (r *Room) Close(reason string) {
	r.mu.Lock()
	defer r.unlock()
	if r.closed {
		return
	}
	r.closed = true
	for _, inv := range r.invites {
		inv.timer.Stop()
	}
	clear(r.invites)
	err := &ClosedError{Reason: reason}
	for name, m := range r.members {
		m.gone, m.err = true, err
		close(m.done)
		delete(r.members, name)
	}
	r.online = &Presence{}
}

// Leave takes the member out of the room; everyone sees them leave once.
// Calling it again, or after the member was removed, does nothing.
func (m *Member) Leave() {
	r := m.room
	r.mu.Lock()
	defer r.unlock()
	if !m.gone {
		r.remove(m, nil, "")
	}
}

// Say sends text to the main room.
func (m *Member) Say(text string) error {
	r := m.room
	text, err := r.opts.Text.Clean(text)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.unlock()
	if err := m.canSend(); err != nil {
		return err
	}
	r.messages.Add(1)
	r.broadcast(&Event{Kind: Message, Time: r.opts.Now(), From: m.name, Text: text})
	return nil
}

// Invite asks the member called name to a private chat. If name has already
// invited m, this accepts that invitation instead.
func (m *Member) Invite(name string) error {
	r := m.room
	r.mu.Lock()
	defer r.unlock()
	if m.gone {
		return ErrNotMember
	}
	if name == m.name {
		return ErrSelfInvite
	}
	to := r.members[name]
	if to == nil {
		return ErrOffline
	}
	for _, c := range m.chats {
		if c.open && c.peer(m) == to {
			return ErrAlreadyChatting
		}
	}
	for _, inv := range m.invites {
		switch {
		case inv.from == m && inv.to == to:
			return ErrAlreadyInvited
		case inv.from == to && inv.to == m:
			r.answer(inv, true)
			return nil
		}
	}
	// Each invitation puts a dialog in front of someone: it counts as a message.
	if err := m.canSend(); err != nil {
		return err
	}
	r.invitations.Add(1)
	r.nextID++
	inv := &invite{id: InviteID(r.nextID), from: m, to: to}
	inv.timer = time.AfterFunc(r.opts.InviteTTL, func() { r.expire(inv) })
	r.invites[inv.id] = inv
	m.invites[inv.id] = inv
	to.invites[inv.id] = inv
	r.deliver(to, &Event{Kind: Invited, Time: r.opts.Now(), From: m.name, To: to.name, Invite: inv.id})
	return nil
}

// Answer accepts or declines invitation id, which must be addressed to m.
// On acceptance both people get a ChatOpened event.
func (m *Member) Answer(id InviteID, accept bool) error {
	r := m.room
	r.mu.Lock()
	defer r.unlock()
	if m.gone {
		return ErrNotMember
	}
	inv := r.invites[id]
	if inv == nil || inv.to != m {
		return ErrNoSuchInvite
	}
	r.answer(inv, accept)
	return nil
}

// SendPrivate sends text to private chat id.
func (m *Member) SendPrivate(id ChatID, text string) error {
	r := m.room
	text, err := r.opts.Text.Clean(text)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.unlock()
	if m.gone {
		return ErrNotMember
	}
	c := m.chats[id]
	if c == nil {
		return ErrNoSuchChat
	}
	if !c.open {
		return ErrChatClosed
	}
	if err := m.canSend(); err != nil {
		return err
	}
	r.private.Add(1)
	ev := &Event{Kind: PrivateMessage, Time: r.opts.Now(), From: m.name, To: c.peer(m).name, Text: text, Chat: id}
	r.deliver(c.from, ev)
	r.deliver(c.to, ev)
	return nil
}

// CloseChat ends private chat id for m. The other person is told and their
// side becomes read-only.
func (m *Member) CloseChat(id ChatID) error {
	r := m.room
	r.mu.Lock()
	defer r.unlock()
	c := m.chats[id]
	if c == nil {
		return ErrNoSuchChat
	}
	delete(m.chats, id)
	if c.open {
		c.open = false
		r.deliver(c.peer(m), &Event{Kind: ChatClosed, Time: r.opts.Now(), From: m.name, To: c.peer(m).name, Chat: id, Text: ReasonClosed})
	}
	return nil
}

// canSend checks that m is in the room and within its message rate.
// Called with r.mu held.
func (m *Member) canSend() error {
	if m.gone {
		return ErrNotMember
	}
	if !m.sends.AllowN(m.room.opts.Now(), 1) {
		return &SlowDownError{Rate: m.room.opts.MessageRate}
	}
	return nil
}

func (r *Room) answer(inv *invite, accept bool) {
	inv.timer.Stop()
	r.dropInvite(inv)
	now := r.opts.Now()
	r.deliver(inv.from, &Event{Kind: Answered, Time: now, From: inv.from.name, To: inv.to.name, Invite: inv.id, Accepted: accept})
	if !accept {
		return
	}
	r.nextID++
	c := &chat{id: ChatID(r.nextID), from: inv.from, to: inv.to, open: true}
	inv.from.chats[c.id] = c
	inv.to.chats[c.id] = c
	ev := &Event{Kind: ChatOpened, Time: now, From: inv.from.name, To: inv.to.name, Chat: c.id}
	r.deliver(inv.from, ev)
	r.deliver(inv.to, ev)
}

func (r *Room) expire(inv *invite) {
	r.mu.Lock()
	defer r.unlock()
	if r.invites[inv.id] != inv {
		return // answered, cancelled or closed in the meantime
	}
	r.dropInvite(inv)
	ev := &Event{Kind: InviteEnded, Time: r.opts.Now(), From: inv.from.name, To: inv.to.name, Invite: inv.id, Text: ReasonExpired}
	r.deliver(inv.from, ev)
	r.deliver(inv.to, ev)
}

func (r *Room) dropInvite(inv *invite) {
	delete(r.invites, inv.id)
	delete(inv.from.invites, inv.id)
	delete(inv.to.invites, inv.id)
}

// remove takes m out and tells the others. Called with r.mu held.
func (r *Room) remove(m *Member, err error, why string) {
	m.gone, m.err = true, err
	close(m.done)
	delete(r.members, m.name)
	r.online = r.online.without(m.name)
	now := r.opts.Now()
	for _, inv := range m.invites {
		inv.timer.Stop()
		r.dropInvite(inv)
		other := inv.to
		if other == m {
			other = inv.from
		}
		r.deliver(other, &Event{Kind: InviteEnded, Time: now, From: inv.from.name, To: inv.to.name, Invite: inv.id, Text: ReasonLeft})
	}
	for id, c := range m.chats {
		delete(m.chats, id)
		if c.open {
			c.open = false
			p := c.peer(m)
			r.deliver(p, &Event{Kind: ChatClosed, Time: now, From: m.name, To: p.name, Chat: id, Text: ReasonLeft})
		}
	}
	r.broadcast(&Event{Kind: Left, Time: now, From: m.name, Text: why, Online: r.online})
}

// broadcast delivers ev to every member. Called with r.mu held.
func (r *Room) broadcast(ev *Event) {
	for _, m := range r.members {
		r.deliver(m, ev)
	}
}

// deliver queues ev for m without waiting. A member whose queue is full is
// marked for removal; it is removed when the lock is released, so one slow
// member never delays the others. Called with r.mu held.
func (r *Room) deliver(m *Member, ev *Event) {
	if m.gone || m.q.push(ev) {
		return
	}
	for _, e := range r.evicting {
		if e == m {
			return
		}
	}
	r.evicting = append(r.evicting, m)
}

// unlock removes slow consumers, whose removal may overflow others in turn,
// and then releases r.mu.
func (r *Room) unlock() {
	for len(r.evicting) > 0 {
		m := r.evicting[0]
		r.evicting = r.evicting[1:]
		if !m.gone {
			r.slow.Add(1)
			r.remove(m, ErrSlowConsumer, "too slow to keep up")
		}
	}
	r.evicting = nil
	r.mu.Unlock()
}
