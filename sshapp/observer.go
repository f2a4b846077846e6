package sshapp

import "time"

// Observer is told what the server does, for metrics. Its methods are
// called from many goroutines at once and must not block.
//
// Reasons are short words from a fixed set. Refusals: starting (too many
// handshakes overall), addr_starting, addr_connections, addr_new, penalty,
// server_full, shutting_down, exec, no_terminal, subsystem, second_session.
// Closes: keepalive, write_stall, input_flood, paste_flood, shell_timeout,
// slow_consumer, crash.
type Observer interface {
	// Connection is called when a connection is admitted (true) and ends.
	Connection(open bool)
	// Handshake is called when a connection has authenticated, d after it
	// was accepted.
	Handshake(d time.Duration)
	// Refused is called when a connection or session is turned away.
	Refused(reason string)
	// Session is called when a chat session starts (true) and ends.
	Session(open bool)
	// Closed is called when the server ends a connection or session.
	Closed(reason string)
	// Delivered is called when a message has been written to a terminal,
	// delay after it was sent.
	Delivered(delay time.Duration)
}

type nopObserver struct{}

func (nopObserver) Connection(bool)         {}
func (nopObserver) Handshake(time.Duration) {}
func (nopObserver) Refused(string)          {}
func (nopObserver) Session(bool)            {}
func (nopObserver) Closed(string)           {}
func (nopObserver) Delivered(time.Duration) {}
