package room

import (
	"time"
)

// Kind tells what an Event is about.
type Kind uint8

// The kinds of event a member receives.
const (
	// Message is a main-room message by From.
	Message Kind = iota + 1
	// Joined says From joined the room. (Joins and leaves are not sent
	// as events: sessions read them from Broker.News.)
	Joined
	// Left says From was removed from the room, and Reason why: kicked or
	// banned. (Plain leaves are in Broker.News.)
	Left
	// Invited says From invites you (To) to a private chat; answer Invite.
	Invited
	// Answered says To answered your invitation Invite; see Accepted.
	Answered
	// InviteEnded says invitation Invite from From to To ended unanswered;
	// Reason says why (ReasonExpired, ReasonLeft).
	InviteEnded
	// ChatOpened says private chat Chat between From (the inviter) and To
	// is open; Reason is ReasonResumed when it carries on from a session
	// the member replaced.
	ChatOpened
	// PrivateMessage is a message by From in private chat Chat.
	PrivateMessage
	// ChatClosed says From ended private chat Chat; Reason says how
	// (ReasonClosed, ReasonLeft). The chat is read-only from now on.
	ChatClosed
	// Skipped says the member fell so far behind that the Skipped oldest
	// messages waiting for it were dropped. It is the member's own.
	Skipped
	// Notice is the server's Text for everyone on this node (a cluster
	// node that lost, or got back, its link to the others).
	Notice
)

// missable reports whether a member that falls behind may miss an event
// of this kind: it loses a line of the stream, not its state.
func (k Kind) missable() bool { return k == Message || k == Joined || k == Left }

// Reasons carried in an event's Reason.
const (
	ReasonExpired = "expired"
	ReasonLeft    = "left"
	ReasonClosed  = "closed the chat"
	ReasonResumed = "resumed"
)

// InviteID names one invitation.
type InviteID uint64

// ChatID names one private chat.
type ChatID uint64

// Event is something a member sees. Events are shared between members and
// must not be modified. All text in them is clean (see package clean).
type Event struct {
	Kind     Kind
	Time     time.Time
	From     string
	FromID   string // who From is (a key's fingerprint; "" for a guest), in Message, PrivateMessage and Invited
	To       string
	Text     string // what was said, in Message and PrivateMessage
	Reason   string // why, in Left, InviteEnded, ChatOpened and ChatClosed
	Invite   InviteID
	Chat     ChatID
	Accepted bool
	Action   bool      // a Message or PrivateMessage is an action (/me): "* alice waves"
	Skipped  int       // in Skipped events: how many messages were dropped
	Until    time.Time // in Invited events: when the invitation expires
}

// Peer is the other person of a two-person event, seen by me.
func (e *Event) Peer(me string) string {
	if e.From == me {
		return e.To
	}
	return e.From
}
