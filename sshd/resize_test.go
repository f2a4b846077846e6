package sshd

import (
	"context"
	"testing"
	"time"

	"charm.land/ssh"
)

// Sizes that come before the Handler asks for them are held as their
// latest; after, each reaches it, clamped; they stop with the session.
func TestResizesAreHeldUntilAskedForThenPassedOn(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	in := make(chan ssh.Window)
	r := &resizes{}
	done := make(chan struct{})
	go func() { r.watch(ctx, in); close(done) }()
	in <- ssh.Window{Width: 10, Height: 5}
	in <- ssh.Window{Width: 0, Height: 9999} // the latest: 0 is the default, 9999 is cut
	got := make(chan Size, 10)
	r.set(func(sz Size) { got <- sz })
	// The watch may still hold the first when set comes: then both come,
	// in order.
	sz := <-got
	if sz == (Size{10, 5}) {
		sz = <-got
	}
	if sz != (Size{defaultWidth, maxHeight}) {
		t.Fatalf("held size: %v", sz)
	}
	in <- ssh.Window{Width: 30, Height: 20}
	if sz := <-got; sz != (Size{30, 20}) {
		t.Fatalf("later size: %v", sz)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the watch did not end with the session")
	}
	if len(got) != 0 {
		t.Fatalf("sizes that came from nowhere: %d", len(got))
	}
}
