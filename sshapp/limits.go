package sshapp

import "time"

// Limits bound what one client can make the server do. Zero fields take the
// defaults in DefaultLimits.
type Limits struct {
	// HandshakeTimeout bounds the SSH handshake, authentication included.
	HandshakeTimeout time.Duration
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
	HandshakeTimeout: 20 * time.Second,
	WriteTimeout:     10 * time.Second,
	InputRate:        8 << 10,
	InputBurst:       64 << 10,
	PasteMax:         64 << 10,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setD := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	setD(&l.HandshakeTimeout, d.HandshakeTimeout)
	setD(&l.WriteTimeout, d.WriteTimeout)
	set(&l.InputRate, d.InputRate)
	set(&l.InputBurst, d.InputBurst)
	set(&l.PasteMax, d.PasteMax)
	return l
}
