package room

import (
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
		if p.node == node && p.id == id {
			return
		}
		r.dropRemote(p) // it moved: what it had here ends, as on its old node
	} else if m := r.members[name]; m != nil {
		err := ErrTakenOver
		if id == "" || !sameID(m.id, id) {
			err = errors.New("the name was taken on another server while this one was cut off")
		}
		// Quietly, as a takeover on one node: the name stays online.
		r.drop(m, err)
	} else {
		r.people.add(name)
		r.tellNews()
	}
	r.remote[name] = &member{room: r, name: name, id: id, node: node,
		chats: make(map[ChatID]*chat), invites: make(map[InviteID]*invite)}
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
	now := r.opts.Now()
	for _, inv := range p.invites {
		inv.stop()
		r.dropInvite(inv)
		local := inv.to
		if local == p {
			local = inv.from
		}
		r.deliver(local, &Event{Kind: InviteEnded, Time: now, From: inv.from.name, To: inv.to.name, Invite: inv.id, Reason: ReasonLeft})
	}
	for id, c := range p.chats {
		delete(p.chats, id)
		if c.open {
			c.open = false
			local := c.peer(p)
			r.deliver(local, &Event{Kind: ChatClosed, Time: now, From: p.name, To: local.name, Chat: id, Reason: ReasonLeft})
		}
	}
}

// IDOf is the identity of this node's member called name ("" for a guest,
// or no such member).
func (r *Room) IDOf(name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.members[name]; m != nil {
		return m.id
	}
	return ""
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
		// off the list at once rather than wait for that.
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
		// Opened on the invitee's node when they accepted; ev.From is ours.
		from, to := r.members[ev.From], r.remote[ev.To]
		if to == nil {
			return
		}
		if from == nil {
			r.deliver(to, &Event{Kind: ChatClosed, Time: r.opts.Now(), From: ev.From, To: ev.To, Chat: ev.Chat, Reason: ReasonLeft})
			return
		}
		c := &chat{id: ev.Chat, from: from, to: to, open: true}
		from.chats[c.id] = c
		to.chats[c.id] = c
		r.deliver(from, ev)
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

// stop stops the invitation's timer, if this node keeps it.
func (inv *invite) stop() {
	if inv.timer != nil {
		inv.timer.Stop()
	}
}
