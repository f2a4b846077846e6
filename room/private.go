package room

import "time"

// Invitations and private chats.

type invite struct {
	id       InviteID
	from, to *member
	timer    *time.Timer
}

type chat struct {
	id       ChatID
	from, to *member
	open     bool
}

func (c *chat) peer(m *member) *member {
	if c.from == m {
		return c.to
	}
	return c.from
}

// Invite asks the member called name to a private chat. If name has already
// invited m, this accepts that invitation instead.
func (m *member) Invite(name string) error {
	r := m.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.gone {
		return ErrNotMember
	}
	if name == m.name {
		return ErrSelfInvite
	}
	to := r.members[name]
	if to == nil {
		to = r.remote[name] // on another node
	}
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
	now := r.opts.Now()
	if until, ok := r.declined[[2]string{m.who(), to.who()}]; ok {
		if now.Before(until) {
			return &DeclinedError{Name: name, Wait: until.Sub(now)}
		}
		delete(r.declined, [2]string{m.who(), to.who()})
	}
	// Each invitation interrupts someone: it counts as a message.
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
	r.deliver(to, &Event{Kind: Invited, Time: now, From: m.name, FromID: m.id, To: to.name, Invite: inv.id, Until: now.Add(r.opts.InviteTTL)})
	return nil
}

// Answer accepts or declines invitation id, which must be addressed to m.
// On acceptance both people get a ChatOpened event.
func (m *member) Answer(id InviteID, accept bool) error {
	r := m.room
	r.mu.Lock()
	defer r.mu.Unlock()
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
func (m *member) SendPrivate(id ChatID, text string) error { return m.sendPrivate(id, text, false) }

func (m *member) sendPrivate(id ChatID, text string, action bool) error {
	r := m.room
	text, err := r.opts.Text.Message(text)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
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
	ev := &Event{Kind: PrivateMessage, Time: r.opts.Now(), From: m.name, FromID: m.id, To: c.peer(m).name, Text: text, Chat: id, Action: action}
	r.deliver(c.from, ev)
	r.deliver(c.to, ev)
	return nil
}

// CloseChat ends private chat id for m. The other person is told and their
// side becomes read-only.
func (m *member) CloseChat(id ChatID) error {
	r := m.room
	r.mu.Lock()
	defer r.mu.Unlock()
	c := m.chats[id]
	if c == nil {
		return ErrNoSuchChat
	}
	delete(m.chats, id)
	if c.open {
		c.open = false
		r.deliver(c.peer(m), &Event{Kind: ChatClosed, Time: r.opts.Now(), From: m.name, To: c.peer(m).name, Chat: id, Reason: ReasonClosed})
	}
	return nil
}

func (r *Room) answer(inv *invite, accept bool) {
	inv.stop()
	r.dropInvite(inv)
	now := r.opts.Now()
	r.deliver(inv.from, &Event{Kind: Answered, Time: now, From: inv.from.name, To: inv.to.name, Invite: inv.id, Accepted: accept})
	if !accept {
		r.rememberDecline(inv.from.who(), inv.to.who(), now)
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
	defer r.mu.Unlock()
	if r.invites[inv.id] != inv {
		return // answered, cancelled or closed in the meantime
	}
	r.dropInvite(inv)
	ev := &Event{Kind: InviteEnded, Time: r.opts.Now(), From: inv.from.name, To: inv.to.name, Invite: inv.id, Reason: ReasonExpired}
	r.deliver(inv.from, ev)
	r.deliver(inv.to, ev)
}

func (r *Room) dropInvite(inv *invite) {
	delete(r.invites, inv.id)
	delete(inv.from.invites, inv.id)
	delete(inv.to.invites, inv.id)
}

// rememberDecline keeps from from inviting to for DeclineWait. Entries
// past their time are swept when the map grows, so it holds only the
// declines of the last DeclineWait.
func (r *Room) rememberDecline(from, to string, now time.Time) {
	if len(r.declined) >= 1024 && len(r.declined)%1024 == 0 {
		for k, until := range r.declined {
			if !now.Before(until) {
				delete(r.declined, k)
			}
		}
	}
	r.declined[[2]string{from, to}] = now.Add(r.opts.DeclineWait)
}

// who is the member's identity: its id if it has one (a key), else its
// name, marked so that no id can equal it.
func (m *member) who() string {
	if m.id != "" {
		return m.id
	}
	return "\x00" + m.name
}
