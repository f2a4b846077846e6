package sshd

import (
	"cmp"
	"time"
)

// Limits bound what clients can make the server do. Zero fields take the
// defaults in DefaultLimits (LimitLoopback is off unless set).
type Limits struct {
	// VersionTimeout is how long a new connection has to send its SSH
	// version line, the first thing a client says.
	VersionTimeout time.Duration
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
	// SendBuffer is the kernel's send buffer for each connection. Left to
	// itself Linux grows it to 4 MiB, which with the SSH window hides a
	// client that stopped reading for most of a minute of busy chat, and
	// costs kernel memory per connection.
	SendBuffer int
	// ExitGrace is how long a connection may stay open after its session
	// ended; clients normally hang up at once.
	ExitGrace time.Duration
	// MaxKeySize is the largest public key accepted at authentication, in
	// bytes as sent (no real key is near it; a certificate can be huge).
	MaxKeySize int
}

// DefaultLimits are the limits a zero Limits takes.
var DefaultLimits = Limits{
	VersionTimeout:     5 * time.Second,
	HandshakeTimeout:   20 * time.Second,
	MaxUnauthenticated: 4096,
	EarlyDropFrom:      3072,
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
	SendBuffer:         256 << 10,
	ExitGrace:          2 * time.Second,
	MaxKeySize:         8 << 10,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	l.VersionTimeout = cmp.Or(l.VersionTimeout, d.VersionTimeout)
	l.HandshakeTimeout = cmp.Or(l.HandshakeTimeout, d.HandshakeTimeout)
	l.MaxUnauthenticated = cmp.Or(l.MaxUnauthenticated, d.MaxUnauthenticated)
	l.EarlyDropFrom = min(cmp.Or(l.EarlyDropFrom, d.EarlyDropFrom), l.MaxUnauthenticated)
	l.PerAddrHandshakes = cmp.Or(l.PerAddrHandshakes, d.PerAddrHandshakes)
	l.PerAddrConnections = cmp.Or(l.PerAddrConnections, d.PerAddrConnections)
	l.PerAddrNew = cmp.Or(l.PerAddrNew, d.PerAddrNew)
	l.PerAddrWindow = cmp.Or(l.PerAddrWindow, d.PerAddrWindow)
	l.PenaltyFailures = cmp.Or(l.PenaltyFailures, d.PenaltyFailures)
	l.Penalty = cmp.Or(l.Penalty, d.Penalty)
	l.KeepaliveInterval = cmp.Or(l.KeepaliveInterval, d.KeepaliveInterval)
	l.KeepaliveMax = cmp.Or(l.KeepaliveMax, d.KeepaliveMax)
	l.MaxSessions = cmp.Or(l.MaxSessions, d.MaxSessions)
	l.ShellTimeout = cmp.Or(l.ShellTimeout, d.ShellTimeout)
	l.MaxEnv = cmp.Or(l.MaxEnv, d.MaxEnv)
	l.MaxEnvBytes = cmp.Or(l.MaxEnvBytes, d.MaxEnvBytes)
	l.WriteTimeout = cmp.Or(l.WriteTimeout, d.WriteTimeout)
	l.SendBuffer = cmp.Or(l.SendBuffer, d.SendBuffer)
	l.ExitGrace = cmp.Or(l.ExitGrace, d.ExitGrace)
	l.MaxKeySize = cmp.Or(l.MaxKeySize, d.MaxKeySize)
	return l
}
