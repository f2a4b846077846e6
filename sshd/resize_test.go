package sshd

import (
	"strings"
	"testing"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// Sizes that come before the Handler asks for them are held as their
// latest; after, each reaches it.
func TestResizesAreHeldUntilAskedForThenPassedOn(t *testing.T) {
	r := &resizes{}
	r.push(clampSize(ssh.Window{Width: 10, Height: 5}))
	r.push(clampSize(ssh.Window{Width: 0, Height: 9999})) // the latest: 0 is the default, 9999 is cut
	var got []Size
	r.set(func(sz Size) { got = append(got, sz) })
	if len(got) != 1 || got[0] != (Size{defaultWidth, maxHeight}) {
		t.Fatalf("held sizes: %v", got)
	}
	r.push(Size{30, 20})
	if len(got) != 2 || got[1] != (Size{30, 20}) {
		t.Fatalf("later sizes: %v", got)
	}
}

// Window changes go to the connection's resizes once a terminal was asked
// for, and never on to the library; other requests pass in order.
func TestWindowChangesAreTakenFromTheRequests(t *testing.T) {
	change := func(w, h uint32) *gossh.Request {
		return &gossh.Request{Type: "window-change", Payload: gossh.Marshal(struct{ W, H, X, Y uint32 }{w, h, 0, 0})}
	}
	in, out := make(chan *gossh.Request, 10), make(chan *gossh.Request, 10)
	in <- change(10, 10) // before the terminal: refused
	in <- &gossh.Request{Type: "pty-req"}
	in <- change(50, 20)
	in <- &gossh.Request{Type: "window-change", Payload: []byte{0, 0, 0, 1}} // cut short
	in <- &gossh.Request{Type: "shell"}
	var rs resizes
	got := make(chan Size, 10)
	rs.set(func(sz Size) { got <- sz })
	go filterRequests(in, out, Limits{}.withDefaults(), &rs)
	var passed []string
	for range 2 {
		passed = append(passed, (<-out).Type)
	}
	close(in)
	for r := range out {
		passed = append(passed, r.Type)
	}
	if strings.Join(passed, " ") != "pty-req shell" {
		t.Errorf("passed on: %v", passed)
	}
	close(got)
	var sizes []Size
	for sz := range got {
		sizes = append(sizes, sz)
	}
	if len(sizes) != 1 || sizes[0] != (Size{50, 20}) {
		t.Errorf("sizes: %v", sizes)
	}
}
