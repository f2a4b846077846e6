package room

import (
	"errors"
	"fmt"
)

// A room can be one node's part of a room that several nodes serve (see
// package cluster). Then the room holds this node's members, knows by
// name who is online on the other nodes, and hands what everyone must see
// (messages, and kicks' notices) to Options.Relay rather than to its
// members: the cluster puts it in one order and gives it back to every
// node's Deliver.

// ErrElsewhere refuses what this node cannot yet do for someone on another
// node.
var ErrElsewhere = errors.New("is on another server of this room; private chats across servers are not supported yet")

// UnreachableError refuses what needs the other nodes while the link to
// them is down.
type UnreachableError struct{ Why string }

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("the room is unreachable (%s); try again in a moment", e.Why)
}

// remote is someone online on another node.
type remote struct {
	id, node string
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
		r.remote = make(map[string]remote)
	}
	if m := r.members[name]; m != nil {
		err := ErrTakenOver
		if id == "" || !sameID(m.id, id) {
			err = errors.New("the name was taken on another server while this one was cut off")
		}
		// Quietly, as a takeover on one node: the name stays online.
		r.drop(m, err)
		r.remote[name] = remote{id: id, node: node}
		return
	}
	if _, ok := r.remote[name]; !ok {
		r.people.add(name)
		r.tellNews()
	}
	r.remote[name] = remote{id: id, node: node}
}

// RemoveRemote says that name left node (or node died).
func (r *Room) RemoveRemote(name, node string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.remote[name]; ok && (node == "" || p.node == node) {
		delete(r.remote, name)
		r.people.remove(name, false)
		r.tellNews()
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

// Remote reports the node name is online on, if it is another's.
func (r *Room) Remote(name string) (node string, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.remote[name]
	return p.node, ok
}

// Deliver hands this node's members an event the cluster relayed: a
// message, a kick's notice (Left, whose member here is removed), or a
// Notice.
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
		}
		delete(r.remote, ev.From)
		if r.people.has(ev.From) {
			r.people.remove(ev.From, true)
			r.tellNews()
		}
	}
	r.broadcast(ev)
}

// relay hands ev to the cluster, or to every member here if there is no
// cluster. Called without r.mu held: relaying is I/O.
func (r *Room) relay(ev *Event) error {
	if r.opts.Relay != nil {
		return r.opts.Relay(ev)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.broadcast(ev)
	return nil
}

// Notice tells every member of this node text, as the server.
func (r *Room) Notice(text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.broadcast(&Event{Kind: Notice, Time: r.opts.Now(), Text: text})
}
