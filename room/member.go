package room

import (
	"sync/atomic"

	"golang.org/x/time/rate"
)

// member is one person in this process's room. What a delivery touches
// comes first, in one allocation: the queue, then the flags read after it.
type member struct {
	q        queue
	out      atomic.Bool // done is closed
	news     atomic.Bool // who is online changed since NewsRead
	room     *Room
	name     string
	id       string // who this is, beyond the name; "" for nobody in particular
	node     string // the node of someone elsewhere in a cluster, for whom this stands in; "" here
	replaced bool   // took the place of a session of the same identity
	done     chan struct{}
	sends    *rate.Limiter // messages and invitations
	listed   bool          // in room.unwoken; guarded by room.newsMu

	// Guarded by room.mu.
	gone    bool
	err     error
	chats   map[ChatID]*chat
	invites map[InviteID]*invite // sent and received
}

// Name is the member's chat name.
func (m *member) Name() string { return m.name }

// Replaced reports whether the member took the place of an earlier session
// of the same identity (see JoinAs).
func (m *member) Replaced() bool { return m.replaced }

// Ready has a value whenever events are waiting; collect them with Take.
func (m *member) Ready() <-chan struct{} { return m.q.ready }

// Nudge leaves a value in Ready, so that whoever waits on it wakes.
func (m *member) Nudge() { m.q.wake() }

// HasNews reports whether who is online changed since NewsRead.
func (m *member) HasNews() bool { return m.news.Load() }

// NewsRead lowers the news flag: the next change raises it again.
func (m *member) NewsRead() {
	m.news.Store(false)
	m.room.listForNews(m)
}

// Take appends the waiting events, oldest first, to buf and returns it.
func (m *member) Take(buf []*Event) []*Event { return m.q.take(buf, m.room.opts.Now) }

// Done is closed when the member is out of the room: it left, was removed,
// or the room closed. Events already waiting can still be taken.
func (m *member) Done() <-chan struct{} { return m.done }

// Out reports whether Done is closed.
func (m *member) Out() bool { return m.out.Load() }

// close marks the member out and wakes it: Ready tells of Done too.
// Called with room.mu held, once.
func (m *member) close() {
	m.out.Store(true)
	close(m.done)
	m.q.wake()
}

// Err says why the member is out: nil after Leave, ErrTakenOver, a
// *KickedError, or a *ClosedError. It is only meaningful once Done is closed.
func (m *member) Err() error {
	m.room.mu.Lock()
	defer m.room.mu.Unlock()
	return m.err
}

// Leave takes the member out of the room; everyone sees them leave once.
// Calling it again, or after the member was removed, does nothing.
func (m *member) Leave() {
	r := m.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if !m.gone {
		r.remove(m, nil, "")
	}
}

// Spend takes one send from the member's allowance.
func (m *member) Spend() error {
	r := m.room
	r.mu.Lock()
	defer r.mu.Unlock()
	return m.canSend()
}

// Say sends text to the main room.
func (m *member) Say(text string) error { return m.say(text, false) }

// Act sends an action (/me): to the main room, or to private chat chat.
func (m *member) Act(chat ChatID, text string) error {
	if chat != 0 {
		return m.sendPrivate(chat, text, true)
	}
	return m.say(text, true)
}

func (m *member) say(text string, action bool) error {
	r := m.room
	text, err := r.opts.Text.Message(text)
	if err != nil {
		return err
	}
	if r.opts.Relay != nil {
		r.mu.Lock()
		err := m.canSend()
		r.mu.Unlock()
		if err != nil {
			return err
		}
		return r.opts.Relay(&Event{Kind: Message, Time: r.opts.Now(), From: m.name, FromID: m.id, Text: text, Action: action})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := m.canSend(); err != nil {
		return err
	}
	r.messages.Add(1)
	r.broadcast(&Event{Kind: Message, Time: r.opts.Now(), From: m.name, FromID: m.id, Text: text, Action: action})
	return nil
}
