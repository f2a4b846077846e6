// Package sshapp turns SSH sessions into chat sessions: it decides who may
// log in and under which name (identity: keys, guests, bans, the allow
// list), keeps the directory of who is online through this server, runs
// the moderators' commands, and hands each session's terminal to tui. Like
// ssh-chat's Host, it is the one part that knows both SSH and chat.
package sshapp

import (
	"sync"
	"sync/atomic"
	"time"

	"chatroom/internal/reason"
	"chatroom/keys"
	"chatroom/names"
	"chatroom/room"
	"chatroom/sshd"
	"chatroom/tui"

	"log/slog"
)

// Config is what a Host needs.
type Config struct {
	// Room is the chat everyone joins.
	Room room.Broker
	// Names gives each name to the first key that joins with it, and
	// keeps bans.
	Names names.Store
	// Admins are the keys of moderators (/kick, /ban, /release ...).
	Admins *keys.KeySet
	// Allowed, if set, are the only keys that may connect (see SetAllowed).
	Allowed *keys.KeySet
	// NewNamesPerHour bounds the names each address (IPv4, IPv6 /64) may
	// bind in an hour; 0 is no limit. LimitLoopback applies it to loopback.
	NewNamesPerHour int
	LimitLoopback   bool
	// Limits bound each session's input; zero fields take the defaults.
	Limits tui.Limits
	// Logger receives one line per event; nil logs nothing.
	Logger *slog.Logger
	// Observer is told what happens, for metrics; nil observes nothing.
	Observer Observer
}

// Observer is told how chat sessions go, for metrics. Its methods are
// called from many goroutines at once and must not block.
type Observer interface {
	// Closed is called when the server ends a session.
	Closed(why reason.Reason)
	// Delivered is called when a message has been written to a terminal,
	// delay after it was sent.
	Delivered(delay time.Duration)
}

type nopObserver struct{}

func (nopObserver) Closed(reason.Reason)    {}
func (nopObserver) Delivered(time.Duration) {}

// Host runs the chat for an sshd.Server: Serve is its Handler, KeyOK and
// GuestOK its authentication policy.
type Host struct {
	room      room.Broker
	names     names.Store
	admins    atomic.Pointer[keys.KeySet]
	allowed   atomic.Pointer[keys.KeySet]
	directory directory
	seats     seats // every session, in the room or on the join screen
	newNames  newNames
	watching  sync.Once
	limits    tui.Limits
	log       *slog.Logger
	obs       Observer
}

// New makes a Host.
func New(cfg Config) *Host {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	h := &Host{room: cfg.Room, names: cfg.Names, limits: cfg.Limits, log: cfg.Logger, obs: cfg.Observer}
	h.newNames = newNames{per: cfg.NewNamesPerHour, limitLoopback: cfg.LimitLoopback, now: time.Now}
	h.admins.Store(cfg.Admins)
	h.allowed.Store(cfg.Allowed)
	return h
}

// Serve runs one chat session on an SSH terminal session.
func (h *Host) Serve(s *sshd.Session) {
	id := h.identify(s)
	if why, banned := h.banned(id); banned {
		s.Refuse(reason.Banned, why)
		return
	}
	seat := &seat{h: h, id: id, log: s.Log, stop: &tui.Stopper{}}
	seat.read, _ = s.KeyMemo.(*ownerRead)
	h.seats.add(seat)
	defer h.seats.remove(seat)
	h.watching.Do(func() { go h.endAllAt(s.Closing) })
	select {
	case <-s.Closing: // too late to be found by endAllAt
		seat.end(0, shuttingDown)
	default:
	}
	defer seat.leave()
	why := tui.Run(s.Context(), tui.Options{
		Room:      h.room,
		Directory: seat,
		Name:      s.User,
		In:        s.In,
		Out:       s.Out,
		Size:      s.Size,
		Resize:    s.OnResize,
		Env:       s.Env,
		Stop:      seat.stop,
		Log:       s.Log,
		Limits:    h.limits,
		Delivered: h.obs.Delivered,
	})
	if why != 0 {
		s.Log.Warn("closed", "why", why)
		h.obs.Closed(why)
	}
}

const shuttingDown = "The server is shutting down."

// endAllAt ends every session when closing is closed: those in the room
// hear it from the room as it closes; this tells those on the join screen.
// One goroutine for the whole server, rather than a channel every session
// watches.
func (h *Host) endAllAt(closing <-chan struct{}) {
	<-closing
	for _, st := range h.seats.matching(func(*seat) bool { return true }) {
		st.end(0, shuttingDown)
	}
}
