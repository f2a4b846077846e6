package room

import (
	"cmp"
	"errors"
	"fmt"
)

// A room can be one node's part of a room that several nodes serve (see
// package cluster). Then the room holds this node's members and a stand-in
// for each person online on another node. What everyone must see
// (messages, and kicks' notices) goes to Options.Relay, which puts it in
// one order and gives it back to every node's Deliver. What concerns a
// stand-in (an invitation, an answer, a private message, a chat's end) goes
// to Options.Route, for that person's node alone, whose Apply keeps its
// copy of the invitation or chat and tells its member.

// UnreachableError refuses what needs the other nodes while the link to
// them is down.
type UnreachableError struct{ Why string }

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("the room is unreachable (%s); try again in a moment", e.Why)
}

// AddRemote says that name (identity id) is online on node. A member of
// this node with that name is removed: the same key took over there
// (ErrTakenOver), or after a split the other node's claim won.
func (r *Room) AddRemote(name, id, node string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	if r.remote == nil {
		r.remote = make(map[string]*member)
	}
	if p := r.remote[name]; p != nil {
		switch {
		case p.node == node && p.id == id:
			return
		case id != "" && sameID(p.id, id):
			// The same key moved from one node to another: its chats
			// with people here go on, routed to its new node.
			p.node = node
			r.endInvites(p)
			return
		}
		r.dropRemote(p) // someone else now: what the other had here ends
	} else if m := r.members[name]; m != nil {
		if id != "" && sameID(m.id, id) {
			// The same key signed in on another node: its chats go on
			// there, as a takeover on one node.
			r.remote[name] = r.handOver(m, node)
			return
		}
		// Quietly: the name stays online, someone else's now.
		r.drop(m, errors.New("the name was taken on another server while this one was cut off"))
	} else {
		r.people.add(name)
		r.tellNews()
	}
	r.remote[name] = newStandIn(r, name, id, node)
}

func newStandIn(r *Room, name, id, node string) *member {
	return &member{room: r, name: name, id: id, node: node,
		chats: make(map[ChatID]*chat), invites: make(map[InviteID]*invite)}
}

// takeBack puts m, who joined here, in the place of stand-in p of the same
// key: the chats p had with people here go on with m, as after a
// takeover on one node. Called with r.mu held.
func (r *Room) takeBack(p, m *member) {
	delete(r.remote, p.name)
	p.gone = true
	r.endInvites(p)
	r.moveChats(p, m)
}

// handOver takes m out of this node because the same key took its place
// on node: its invitations end, and its open chats go on there. Each is
// routed to node as ChatOpened with ReasonResumed; a chat with someone
// here stays, with a stand-in for m in it. Called with r.mu held.
func (r *Room) handOver(m *member, node string) *member {
	r.endInvites(m)
	p := newStandIn(r, m.name, m.id, node)
	now := r.opts.Now()
	for id, c := range m.chats {
		delete(m.chats, id)
		if !c.open {
			continue
		}
		peer := c.peer(m)
		if c.from == m {
			c.from = p
		} else {
			c.to = p
		}
		if peer.node == "" {
			p.chats[id] = c // a chat with someone here goes on here
		} else {
			delete(peer.chats, id) // between two other nodes now
		}
		r.deliver(p, &Event{Kind: ChatOpened, Time: now, From: c.from.name, To: c.to.name, Chat: id, Reason: ReasonResumed})
	}
	r.out(m, ErrTakenOver)
	return p
}

// endInvites ends m's invitations, telling the other side. Called with
// r.mu held.
func (r *Room) endInvites(m *member) {
	now := r.opts.Now()
	for _, inv := range m.invites {
		inv.stop()
		r.dropInvite(inv)
		other := inv.to
		if other == m {
			other = inv.from
		}
		r.deliver(other, &Event{Kind: InviteEnded, Time: now, From: inv.from.name, To: inv.to.name, Invite: inv.id, Reason: ReasonLeft})
	}
}

// RemoveRemote says that name left node (or node died). Invitations and
// chats with them end, as when someone here leaves.
func (r *Room) RemoveRemote(name, node string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p := r.remote[name]; p != nil && (node == "" || p.node == node) {
		r.dropRemote(p)
		r.people.remove(name, false)
		r.tellNews()
	}
}

// dropRemote forgets stand-in p and ends what this node's members had with
// it. Its node may say the same; the second word finds nothing to end.
// Called with r.mu held.
func (r *Room) dropRemote(p *member) {
	delete(r.remote, p.name)
	p.gone = true
	r.endInvites(p)
	r.endChats(p)
}

// IDOf is the identity of this node's member called name ("" for a
// guest), and whether there is one.
func (r *Room) IDOf(name string) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.members[name]; m != nil {
		return m.id, true
	}
	return "", false
}

// Deliver hands this node's members an event the cluster relayed: a
// message, or a kick's notice (Left, whose member here is removed).
func (r *Room) Deliver(ev *Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	switch ev.Kind {
	case Message:
		r.messages.Add(1)
	case Left:
		// The kicked member's node removes it; the others take the name
		// off the list at once rather than wait for that. (Their leaving
		// the online bucket may have done so already: the notice is
		// news all the same.)
		if m := r.members[ev.From]; m != nil {
			r.drop(m, &KickedError{Reason: ev.Reason})
		} else if p := r.remote[ev.From]; p != nil {
			r.dropRemote(p)
		}
		if r.people.has(ev.From) {
			r.people.remove(ev.From, true)
			r.tellNews()
		}
	default:
		return
	}
	r.broadcast(ev)
}

// Apply takes an event another node routed here about one of this node's
// members and someone on that node: it keeps this node's copy of the
// invitation or chat as the other node's says, and tells the member.
// What no longer matches (someone left meanwhile) is dropped, or answered
// so that the other side ends it too.
func (r *Room) Apply(ev *Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	switch ev.Kind {
	case Invited:
		to, from := r.members[ev.To], r.remote[ev.From]
		if from == nil {
			return
		}
		if to == nil || r.invites[ev.Invite] != nil {
			r.deliver(from, &Event{Kind: InviteEnded, Time: r.opts.Now(), From: ev.From, To: ev.To, Invite: ev.Invite, Reason: ReasonLeft})
			return
		}
		inv := &invite{id: ev.Invite, from: from, to: to} // its node keeps the timer
		r.invites[inv.id] = inv
		from.invites[inv.id] = inv
		to.invites[inv.id] = inv
		r.deliver(to, ev)
	case Answered:
		inv := r.invites[ev.Invite]
		if inv == nil || inv.from.node != "" {
			return
		}
		inv.stop()
		r.dropInvite(inv)
		r.deliver(inv.from, ev)
		if !ev.Accepted {
			r.rememberDecline(inv.from.who(), inv.to.who(), r.opts.Now())
		}
	case InviteEnded:
		if inv := r.invites[ev.Invite]; inv != nil {
			inv.stop()
			r.dropInvite(inv)
			for _, m := range []*member{inv.from, inv.to} {
				if m.node == "" {
					r.deliver(m, ev)
				}
			}
		}
	case ChatOpened:
		// Opened on the invitee's node when they accepted, or resumed
		// here after someone's key took over on this node.
		from, to := r.person(ev.From), r.person(ev.To)
		switch {
		case from == nil && to == nil:
			return
		case from == nil || to == nil:
			// One of them left meanwhile: the other side ends it too.
			if there := cmp.Or(from, to); there.node != "" {
				r.deliver(there, &Event{Kind: ChatClosed, Time: r.opts.Now(), From: ev.From, To: ev.To, Chat: ev.Chat, Reason: ReasonLeft})
			}
			return
		case from.chats[ev.Chat] != nil || to.chats[ev.Chat] != nil:
			return // known here already
		}
		c := &chat{id: ev.Chat, from: from, to: to, open: true}
		from.chats[c.id] = c
		to.chats[c.id] = c
		for _, m := range []*member{from, to} {
			if m.node == "" {
				r.deliver(m, ev)
			}
		}
	case PrivateMessage:
		if to := r.members[ev.To]; to != nil {
			if c := to.chats[ev.Chat]; c != nil && c.open && c.peer(to).name == ev.From {
				r.private.Add(1)
				r.deliver(to, ev)
			}
		}
	case ChatClosed:
		if to := r.members[ev.To]; to != nil {
			if c := to.chats[ev.Chat]; c != nil && c.open && c.peer(to).name == ev.From {
				c.open = false
				delete(c.peer(to).chats, ev.Chat)
				r.deliver(to, ev)
			}
		}
	}
}

// Notice tells every member of this node text, as the server.
func (r *Room) Notice(text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.broadcast(&Event{Kind: Notice, Time: r.opts.Now(), Text: text})
}

// person is this node's member called name, or its stand-in for them.
// Called with r.mu held.
func (r *Room) person(name string) *member {
	if m := r.members[name]; m != nil {
		return m
	}
	return r.remote[name]
}

// stop stops the invitation's timer, if this node keeps it.
func (inv *invite) stop() {
	if inv.timer != nil {
		inv.timer.Stop()
	}
}
