package cluster

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"chatroom/internal/testkit"
	"chatroom/names"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// openNames opens the cluster's names on url, as a node of its own would.
func openNames(t *testing.T, url string) *Names {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenNames(js, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestANameBelongsToOneKeyOnEveryNode(t *testing.T) {
	url := natsServer(t, t.TempDir(), 0).ClientURL()
	a, b := openNames(t, url), openNames(t, url)
	for _, name := range []string{"alice", "bob.", "a..b"} {
		var wg sync.WaitGroup
		var won [2]bool
		for i, s := range []*Names{a, b} {
			wg.Go(func() {
				ok, err := s.Claim(name, testkit.KeyFor(t, fmt.Sprint(name, i)))
				if err != nil && !errors.Is(err, names.ErrOwned) {
					t.Errorf("%s on %d: %v", name, i, err)
				}
				won[i] = ok
			})
		}
		wg.Wait()
		if won[0] == won[1] {
			t.Errorf("%s: won on a %v, on b %v", name, won[0], won[1])
		}
		owner, ok, err := b.Owner(name)
		if err != nil || !ok || owner.Name != name {
			t.Errorf("%s: owner %+v %v %v", name, owner, ok, err)
		}
	}
	list, err := a.List()
	if err != nil || len(list) != 3 || list[0].Name != "a..b" {
		t.Errorf("list: %v %v", list, err)
	}
	if ok, err := a.Release("bob."); !ok || err != nil {
		t.Errorf("release: %v %v", ok, err)
	}
	if ok, err := b.Claim("bob.", testkit.KeyFor(t, "newcomer")); !ok || err != nil {
		t.Errorf("a released name: %v %v", ok, err)
	}
}

func TestABanOnOneNodeHoldsOnAll(t *testing.T) {
	url := natsServer(t, t.TempDir(), 0).ClientURL()
	a, b := openNames(t, url), openNames(t, url)
	if err := a.Ban(names.Ban{Fingerprint: "SHA256:x", Addr: "192.0.2.1", Name: "mallory", By: "mod", Reason: "spam"}); err != nil {
		t.Fatal(err)
	}
	if bans, _ := a.Banned("SHA256:x", ""); len(bans) != 1 {
		t.Errorf("the banning node does not see its ban: %v", bans)
	}
	if !testkit.Eventually(func() bool { bans, _ := b.Banned("", "192.0.2.1"); return len(bans) == 1 }) {
		t.Fatal("the other node does not see the ban")
	}
	if err := a.Ban(names.Ban{Addr: "192.0.2.9", Until: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if bans, _ := a.Bans(); len(bans) != 1 {
		t.Errorf("a ban that ran out is in force: %v", bans)
	}
	if n, err := b.Unban("mallory"); n != 1 || err != nil {
		t.Errorf("unban: %d %v", n, err)
	}
	if !testkit.Eventually(func() bool { bans, _ := a.Bans(); return len(bans) == 0 }) {
		t.Error("the unban did not reach the other node")
	}
}

func TestIgnoresAndImport(t *testing.T) {
	url := natsServer(t, t.TempDir(), 0).ClientURL()
	s := openNames(t, url)
	list := []names.Ignore{{Fingerprint: "SHA256:a+b/c", Name: "bob"}, {Name: "guest", Addr: "192.0.2.0"}}
	if err := s.SetIgnores("SHA256:me+/", list); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Ignores("SHA256:me+/"); err != nil || len(got) != 2 || got[0].Name != "bob" {
		t.Errorf("ignores: %v %v", got, err)
	}
	if err := s.SetIgnores("SHA256:me+/", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Ignores("SHA256:me+/"); len(got) != 0 {
		t.Errorf("ignores after clearing: %v", got)
	}

	local, err := names.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	for _, name := range []string{"carol", "dave"} {
		if _, err := local.Claim(name, testkit.KeyFor(t, name)); err != nil {
			t.Fatal(err)
		}
	}
	local.Ban(names.Ban{Addr: "198.51.100.1", Reason: "old"})
	if empty, err := s.Empty(); !empty || err != nil {
		t.Errorf("empty: %v %v", empty, err)
	}
	if n, err := s.Import(local); n != 2 || err != nil {
		t.Errorf("import: %d %v", n, err)
	}
	if _, err := s.Claim("dave", testkit.KeyFor(t, "someone else")); !errors.Is(err, names.ErrOwned) {
		t.Errorf("an imported name: %v", err)
	}
	if bans, _ := s.Banned("", "198.51.100.1"); len(bans) != 1 {
		t.Errorf("imported bans: %v", bans)
	}
}

// After the link comes back, the bans are watched anew: one made on
// another node since reaches this one, and closes what it covers here.
func TestBansAreWatchedAnewAfterTheLinkComesBack(t *testing.T) {
	dir := t.TempDir()
	ns := natsServer(t, dir, 0)
	port := ns.Addr().(*net.TCPAddr).Port
	a := node(t, ns.ClientURL(), "a")
	s, err := OpenNames(a.JetStream(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a.OnReconnect(s.Rewatch)
	enforced := make(chan names.Ban, 1)
	s.OnBan(func(b names.Ban) { enforced <- b })
	ns.Shutdown()
	ns.WaitForShutdown()
	ns2 := natsServer(t, dir, port)
	if !testkit.Eventually(a.Up) {
		t.Fatal("a did not link again")
	}
	other := openNames(t, ns2.ClientURL())
	if err := other.Ban(names.Ban{Addr: "203.0.113.9", Reason: "later"}); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-enforced:
		if b.Reason != "later" {
			t.Errorf("enforced %+v", b)
		}
	case <-time.After(testkit.Wait):
		t.Fatal("a ban made after the link came back did not reach a")
	}
	if bans, _ := s.Banned("", "203.0.113.9"); len(bans) != 1 {
		t.Errorf("a's bans: %v", bans)
	}
}

func TestExpireReleasesOnlyUnusedNames(t *testing.T) {
	url := natsServer(t, t.TempDir(), 0).ClientURL()
	s := openNames(t, url)
	s.now = func() time.Time { return time.Now().Add(-48 * time.Hour) }
	if _, err := s.Claim("old", testkit.KeyFor(t, "old")); err != nil {
		t.Fatal(err)
	}
	s.now = time.Now
	if _, err := s.Claim("new", testkit.KeyFor(t, "new")); err != nil {
		t.Fatal(err)
	}
	n, err := s.Expire(t.Context(), time.Now().Add(-24*time.Hour))
	if n != 1 || err != nil {
		t.Fatalf("expire: %d %v", n, err)
	}
	if _, ok, _ := s.Owner("old"); ok {
		t.Error("an unused name stayed")
	}
	if _, ok, _ := s.Owner("new"); !ok {
		t.Error("a name in use was released")
	}
}
