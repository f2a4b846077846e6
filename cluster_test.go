package main_test

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"chatroom/internal/natstest"
	"chatroom/internal/termtest"
	"chatroom/internal/testkit"
)

// Two chatroom processes on one NATS serve one room. When one is killed
// outright (no goodbye, no release), its people leave the other's list
// within 10 s and their names are free again.
func TestTwoNodesServeOneRoomAndADeadOnesPeopleLeave(t *testing.T) {
	url := natstest.Server(t, t.TempDir(), 0).ClientURL()
	args := func(name string) []string {
		return []string{"--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--nats", url, "--node-name", name}
	}
	a := start(t, t.TempDir(), nil, args("node-a")...)
	b := start(t, t.TempDir(), nil, args("node-b")...)
	alice := testkit.Join(t, a.addr, "alice", termtest.Options{Width: 100, Height: 20})
	bob := testkit.Join(t, b.addr, "bob", termtest.Options{Width: 100, Height: 20})
	testkit.WaitText(t, alice, "bob")
	if err := alice.Send("hello from a\r"); err != nil {
		t.Fatal(err)
	}
	testkit.WaitText(t, bob, "alice: hello from a")
	if err := bob.Send("hello from b\r"); err != nil {
		t.Fatal(err)
	}
	testkit.WaitText(t, alice, "bob: hello from b")

	// bob's name is taken on a too, while he is on b.
	testkit.WaitText(t, testkit.Connect(t, a.addr, "bob"), `"bob" is taken`)

	killed := time.Now()
	if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := alice.WaitFor(15*time.Second, func(s string) bool { return strings.Contains(s, "bob left") }); err != nil {
		t.Fatalf("a did not see bob go: %v\n%s", err, alice.Screen())
	}
	if gone := time.Since(killed); gone > 10*time.Second {
		t.Errorf("bob left a's list %v after b died; the bound is 10 s", gone.Round(100*time.Millisecond))
	}
	testkit.Join(t, a.addr, "bob")
}
