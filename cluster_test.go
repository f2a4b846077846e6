package main_test

import (
	"path/filepath"
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
	mod := testkit.NewKey(t)
	admins := filepath.Join(t.TempDir(), "admins")
	writeKeys(t, admins, mod)
	args := func(name string) []string {
		return []string{"--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--nats", url, "--node-name", name, "--admin-keys", admins, "--lookup-interval", "1ns", "--message-burst", "50"}
	}
	a := start(t, t.TempDir(), nil, append(args("node-a"), "--metrics-listen", "127.0.0.1:0")...)
	b := start(t, t.TempDir(), nil, args("node-b")...)
	opts := testkit.WithKey(mod)
	opts.Width, opts.Height = 100, 20
	alice := testkit.Join(t, a.addr, "alice", opts)
	carol := testkit.Join(t, a.addr, "carol", termtest.Options{Width: 100, Height: 20})
	bob := testkit.Join(t, b.addr, "bob", termtest.Options{Width: 100, Height: 20})
	testkit.WaitText(t, alice, "bob")
	testkit.WaitText(t, bob, "carol")
	// A moderator sees which server someone is on.
	testkit.Say(t, alice, "/whois bob")
	testkit.WaitText(t, alice, "bob: a guest (no key), online on another server (node-b).")
	testkit.Say(t, alice, "/whois carol")
	testkit.WaitText(t, alice, ", on node-a.")
	testkit.Say(t, alice, "hello from a")
	testkit.WaitText(t, bob, "alice: hello from a")
	testkit.Say(t, bob, "hello from b")
	testkit.WaitText(t, alice, "bob: hello from b")

	// A private chat across the nodes; carol, on alice's node, sees none of it.
	testkit.Say(t, alice, "/invite bob")
	testkit.WaitText(t, bob, "alice invites you to a private chat")
	testkit.Send(t, bob, testkit.KeyAltY)
	testkit.WaitText(t, alice, "Private chat with bob opened in the tab")
	testkit.WaitText(t, bob, "Private chat with alice opened in the tab")
	testkit.Send(t, bob, testkit.KeyCtrlN)
	testkit.Say(t, bob, "only for you")
	testkit.Send(t, alice, testkit.KeyCtrlN)
	testkit.WaitText(t, alice, "bob: only for you")
	testkit.Say(t, alice, "same here")
	testkit.WaitText(t, bob, "alice: same here")
	// alice, on carol's node, has it all by now; carol has only the room.
	testkit.Say(t, carol, "public")
	testkit.WaitText(t, carol, "carol: public")
	if s := carol.Screen(); strings.Contains(s, "only for you") || strings.Contains(s, "same here") {
		t.Errorf("carol sees the private chat:\n%s", s)
	}

	// a's metrics know the cluster.
	m := metricsAddr.FindStringSubmatch(a.logs())
	if m == nil {
		t.Fatalf("no metrics address logged:\n%s", a.logs())
	}
	scraped := scrape(t, "http://"+m[1]+"/metrics")
	for name, want := range map[string]float64{
		"chatroom_cluster_up":                     1,
		`chatroom_cluster_members{node="node-a"}`: 2,
		`chatroom_cluster_members{node="node-b"}`: 1,
		`chatroom_messages_total{kind="room"}`:    3,
	} {
		if got := metric(t, scraped, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if metric(t, scraped, "chatroom_cluster_relay_seconds_count") < 3 {
		t.Error("no relay latency recorded")
	}

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
