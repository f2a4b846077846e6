package sshd

import (
	"time"

	"chatroom/internal/reason"
)

// Observer is told what the server does, for metrics. Its methods are
// called from many goroutines at once and must not block.
type Observer interface {
	// Connection is called when a connection is admitted (true) and ends.
	Connection(open bool)
	// Handshake is called when a connection has authenticated, d after it
	// was accepted.
	Handshake(d time.Duration)
	// Refused is called when a connection or session is turned away.
	Refused(why reason.Reason)
	// Session is called when a session with a terminal starts (true) and ends.
	Session(open bool)
	// Closed is called when the server ends a connection.
	Closed(why reason.Reason)
}

type nopObserver struct{}

func (nopObserver) Connection(bool)         {}
func (nopObserver) Handshake(time.Duration) {}
func (nopObserver) Refused(reason.Reason)   {}
func (nopObserver) Session(bool)            {}
func (nopObserver) Closed(reason.Reason)    {}
