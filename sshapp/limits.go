package sshapp

import "time"

// Limits bound what clients can make the server do. Zero fields take the
// defaults in DefaultLimits (LimitLoopback is off unless set).
type Limits struct {
	// HandshakeTimeout bounds the SSH handshake, authentication included.
	HandshakeTimeout time.Duration
	// MaxUnauthenticated caps connections still in their handshake; from
	// EarlyDropFrom on, new ones are dropped at random, more often as the
	// cap nears.
	MaxUnauthenticated, EarlyDropFrom int
	// Per address (IPv6 by /64): handshakes at once, connections open, and
	// new connections within PerAddrWindow.
	PerAddrHandshakes, PerAddrConnections, PerAddrNew int
	PerAddrWindow                                     time.Duration
	// PenaltyFailures failed or stalled handshakes within PerAddrWindow
	// refuse an address for Penalty, doubling on repeat up to ten times.
	PenaltyFailures int
	Penalty         time.Duration
	// LimitLoopback applies the per-address limits to loopback too.
	LimitLoopback bool
	// KeepaliveInterval is how often a silent client is asked for a sign
	// of life; KeepaliveMax unanswered in a row close the connection.
	KeepaliveInterval time.Duration
	KeepaliveMax      int
	// MaxSessions caps the chat sessions at once; past it, "server full".
	MaxSessions int
	// ShellTimeout closes a connection that opens no chat in this time.
	ShellTimeout time.Duration
	// MaxEnv and MaxEnvBytes bound the environment a session may send.
	MaxEnv, MaxEnvBytes int
	// WriteTimeout closes a connection whose writes block this long: a client
	// that stopped reading.
	WriteTimeout time.Duration
	// InputRate and InputBurst bound the bytes of input a session may send
	// (a token bucket); input past them is dropped, and four times the rate
	// for five seconds ends the session.
	InputRate, InputBurst int
	// PasteMax is the largest bracketed paste; a larger one is dropped.
	PasteMax int
}

// DefaultLimits are the limits a zero Limits takes.
var DefaultLimits = Limits{
	HandshakeTimeout:   20 * time.Second,
	MaxUnauthenticated: 128,
	EarlyDropFrom:      64,
	PerAddrHandshakes:  8,
	PerAddrConnections: 16,
	PerAddrNew:         32,
	PerAddrWindow:      10 * time.Minute,
	PenaltyFailures:    5,
	Penalty:            time.Minute,
	KeepaliveInterval:  15 * time.Second,
	KeepaliveMax:       3,
	MaxSessions:        5000,
	ShellTimeout:       10 * time.Second,
	MaxEnv:             32,
	MaxEnvBytes:        1 << 10,
	WriteTimeout:       10 * time.Second,
	InputRate:          8 << 10,
	InputBurst:         64 << 10,
	PasteMax:           64 << 10,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	for _, f := range []struct{ v, def *int }{
		{&l.MaxUnauthenticated, &d.MaxUnauthenticated}, {&l.EarlyDropFrom, &d.EarlyDropFrom},
		{&l.PerAddrHandshakes, &d.PerAddrHandshakes}, {&l.PerAddrConnections, &d.PerAddrConnections},
		{&l.PerAddrNew, &d.PerAddrNew}, {&l.PenaltyFailures, &d.PenaltyFailures},
		{&l.KeepaliveMax, &d.KeepaliveMax}, {&l.MaxSessions, &d.MaxSessions},
		{&l.MaxEnv, &d.MaxEnv}, {&l.MaxEnvBytes, &d.MaxEnvBytes},
		{&l.InputRate, &d.InputRate}, {&l.InputBurst, &d.InputBurst}, {&l.PasteMax, &d.PasteMax},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	for _, f := range []struct{ v, def *time.Duration }{
		{&l.HandshakeTimeout, &d.HandshakeTimeout}, {&l.PerAddrWindow, &d.PerAddrWindow},
		{&l.Penalty, &d.Penalty}, {&l.KeepaliveInterval, &d.KeepaliveInterval},
		{&l.ShellTimeout, &d.ShellTimeout}, {&l.WriteTimeout, &d.WriteTimeout},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	l.EarlyDropFrom = min(l.EarlyDropFrom, l.MaxUnauthenticated)
	return l
}
