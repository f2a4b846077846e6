package main_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"chatroom/internal/natstest"
	"chatroom/internal/termtest"
	"chatroom/internal/testkit"
	"chatroom/keys"
	"chatroom/names"
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

	// Away on b shows on a.
	testkit.Say(t, bob, "/away lunch")
	seen := testkit.Eventually(func() bool { // asking until a's copy of the bucket has it
		testkit.Say(t, alice, "/whois bob")
		return alice.WaitFor(200*time.Millisecond, func(s string) bool {
			return strings.Contains(s, "online on another server (node-b), away (lunch).")
		}) == nil
	})
	if !seen {
		t.Errorf("a does not show bob away:\n%s", alice.Screen())
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

// A cluster's first node brings its own names along; a ban made on one
// node closes the banned key's sessions on another and keeps it out of
// every node; chatroom names works on the cluster.
func TestNamesAndBansHoldAcrossTheCluster(t *testing.T) {
	url := natstest.Server(t, t.TempDir(), 0).ClientURL()
	mod, dave, erin := testkit.NewKey(t), testkit.NewKey(t), testkit.NewKey(t)
	admins := filepath.Join(t.TempDir(), "admins")
	writeKeys(t, admins, mod)
	// Node a ran alone before, and erin has her name there.
	dataA := t.TempDir()
	local, err := names.Open(dataA)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := local.Claim("erin", erin.PublicKey()); err != nil {
		t.Fatal(err)
	}
	local.Close()
	args := func(name, data string) []string {
		return []string{"--listen", "127.0.0.1:0", "--data-dir", data, "--nats", url, "--node-name", name, "--admin-keys", admins}
	}
	a := start(t, t.TempDir(), nil, args("node-a", dataA)...)
	b := start(t, t.TempDir(), nil, args("node-b", t.TempDir())...)
	if !strings.Contains(a.logs(), "imported this node's names into the cluster") {
		t.Errorf("a did not import its names:\n%s", a.logs())
	}
	// erin's name is hers on b too.
	testkit.WaitText(t, testkit.Connect(t, b.addr, "erin", testkit.WithKey(dave)), `"erin" belongs to another key.`)
	out, code := runBinary(t, nil, "names", "list", "--nats", url)
	if code != 0 || !strings.Contains(out, "erin") || !strings.Contains(out, keys.Fingerprint(erin.PublicKey())) {
		t.Errorf("names list --nats: exit %d:\n%s", code, out)
	}

	if out, code := runBinary(t, nil, "names", "release", "erin", "--nats", url); code != 0 || !strings.Contains(out, "released erin") {
		t.Errorf("names release --nats: exit %d: %s", code, out)
	}
	testkit.Join(t, b.addr, "erin", testkit.WithKey(dave)).Close() // free again, on either node

	m := testkit.Join(t, a.addr, "mod", testkit.WithKey(mod))
	d := testkit.Join(t, b.addr, "dave", testkit.WithKey(dave))
	testkit.WaitText(t, m, "dave")
	testkit.Say(t, m, "/ban dave spamming")
	testkit.WaitText(t, m, "dave is banned; their server closes their sessions.")
	testkit.WaitDone(t, d)
	testkit.WaitText(t, d, "banned by mod: spamming")
	c, err := termtest.Dial(b.addr, "dave2", testkit.WithKey(dave))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	testkit.WaitDone(t, c)
	if !strings.Contains(c.Stderr(), "you are banned: spamming") {
		t.Errorf("dave, back on b, was told %q", c.Stderr())
	}
}

// deploy/haproxy.cfg, pointed at two nodes on this machine, carries
// clients to them with the PROXY protocol: each node sees the client's
// own address, and the balancer's health checks are not refused.
func TestHAProxyInFrontOfTwoNodes(t *testing.T) {
	testkit.NeedTool(t, "haproxy", "haproxy")
	if b, err := exec.Command("haproxy", "-c", "-f", "deploy/haproxy.cfg").CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, b)
	}
	url := natstest.Server(t, t.TempDir(), 0).ClientURL()
	args := func(name string) []string {
		return []string{"--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--nats", url, "--node-name", name,
			"--proxy-from", "127.0.0.1"}
	}
	a := start(t, t.TempDir(), nil, args("node-a")...)
	b := start(t, t.TempDir(), nil, args("node-b")...)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	front := l.Addr().String()
	l.Close()
	conf, err := os.ReadFile("deploy/haproxy.cfg")
	if err != nil {
		t.Fatal(err)
	}
	local := strings.NewReplacer("bind :22", "bind "+front, "10.0.0.11:2222", a.addr, "10.0.0.12:2222", b.addr,
		"inter 5s", "inter 200ms", "maxconn 20000", "maxconn 100").Replace(string(conf))
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	os.WriteFile(cfg, []byte(local), 0o644)
	hap := exec.Command("haproxy", "-db", "-f", cfg)
	var hlog testkit.LogBuffer
	hap.Stdout, hap.Stderr = &hlog, &hlog
	if err := hap.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hap.Process.Kill(); hap.Wait() })

	// Two clients from addresses of their own; leastconn puts them on
	// different nodes.
	var cs []*termtest.Client
	for i, name := range []string{"alice", "bob"} {
		var c *termtest.Client
		ok := testkit.Eventually(func() bool { // until haproxy listens
			c, err = termtest.Dial(front, name, termtest.Options{LocalIP: fmt.Sprintf("127.0.0.%d", 5+i)})
			return err == nil
		})
		if !ok {
			t.Fatalf("%s through haproxy: %v\n%s", name, err, hlog.String())
		}
		t.Cleanup(func() { c.Close() })
		testkit.WaitText(t, c, "Welcome, "+name+".")
		cs = append(cs, c)
	}
	testkit.WaitText(t, cs[0], "bob")
	logs := a.logs() + b.logs()
	for _, want := range []string{"remote=127.0.0.5:", "remote=127.0.0.6:"} {
		if !strings.Contains(logs, want) {
			t.Errorf("no node logged %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "no_proxy_header") {
		t.Errorf("a node refused the balancer:\n%s", logs)
	}
}

// A node whose NATS goes away tells the people on it, refuses their
// messages and new joins with a reason, and carries on when NATS is back.
func TestANodeCutOffFromNATSSaysSoAndRecovers(t *testing.T) {
	dir := t.TempDir()
	ns := natstest.Server(t, dir, 0)
	port := ns.Addr().(*net.TCPAddr).Port
	a := start(t, t.TempDir(), nil, "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--nats", ns.ClientURL(), "--node-name", "node-a")
	alice := testkit.Join(t, a.addr, "alice", termtest.Options{Width: 100, Height: 20})
	ns.Shutdown()
	ns.WaitForShutdown()
	testkit.WaitText(t, alice, "This server lost its link to the rest of the room")
	testkit.Say(t, alice, "anyone?")
	testkit.WaitText(t, alice, "the room is unreachable")
	// A newcomer is turned away at the names, which live in NATS too.
	testkit.WaitText(t, testkit.Connect(t, a.addr, "bob"), "The server cannot read its names just now; try again in a moment.")

	natstest.Server(t, dir, port)
	testkit.WaitText(t, alice, "This server is linked to the rest of the room again.")
	// What was not sent waits in the input line: Enter sends it now.
	testkit.Send(t, alice, "\r")
	testkit.WaitText(t, alice, "alice: anyone?")
	testkit.Join(t, a.addr, "carol")
}
