package sshd_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"chatroom/internal/termtest"
	"chatroom/internal/testkit"
	"chatroom/sshd"
)

func TestOneSessionPerConnection(t *testing.T) {
	ts := start(t, sshd.Limits{})
	c := testkit.Join(t, ts.Addr, "alice")
	_, err := c.Conn().NewSession()
	if err == nil || !strings.Contains(err.Error(), "chatroom allows one session per connection") {
		t.Errorf("second session: %v", err)
	}
	testkit.Say(t, c, "still fine")
	testkit.WaitText(t, c, "alice: still fine")
}

func TestAgentForwardingIsRefused(t *testing.T) {
	ts := start(t, sshd.Limits{})
	sess, err := testkit.DialConn(t, ts.Addr, "alice").NewSession()
	if err != nil {
		t.Fatal(err)
	}
	ok, err := sess.SendRequest("auth-agent-req@openssh.com", true, nil)
	if err != nil || ok {
		t.Errorf("agent forwarding request: ok=%v err=%v, want refused", ok, err)
	}
}

func TestTheEnvironmentIsBounded(t *testing.T) {
	ts := start(t, sshd.Limits{MaxEnv: 4, MaxEnvBytes: 100})
	sess, err := testkit.DialConn(t, ts.Addr, "alice").NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var accepted []bool
	for i := range 6 {
		err := sess.Setenv(fmt.Sprintf("V%d", i), "x")
		accepted = append(accepted, err == nil)
	}
	if fmt.Sprint(accepted) != "[true true true true false false]" {
		t.Errorf("env accepted %v, want the first 4", accepted)
	}
	sess2, err := testkit.DialConn(t, ts.Addr, "bob").NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess2.Setenv("BIG", strings.Repeat("x", 200)); err == nil {
		t.Error("a 200-byte variable was accepted with a 100-byte limit")
	}
	if err := sess2.Setenv("SMALL", "y"); err != nil {
		t.Errorf("a small variable after a refused one: %v", err)
	}
}

func TestAConnectionThatOpensNoChatIsClosed(t *testing.T) {
	ts := start(t, sshd.Limits{ShellTimeout: 300 * time.Millisecond})
	alice := testkit.Join(t, ts.Addr, "alice")
	conn := testkit.DialConn(t, ts.Addr, "idle")
	closed := make(chan error, 1)
	go func() { closed <- conn.Wait() }()
	select {
	case <-closed:
	case <-time.After(testkit.Wait):
		t.Fatal("a connection with no session stayed open")
	}
	// alice connected before idle did, so her timer ran out too: a chat is
	// not cut off.
	testkit.Say(t, alice, "still here")
	testkit.WaitText(t, alice, "alice: still here")
}

func TestAStalledHandshakeIsCut(t *testing.T) {
	ts := start(t, sshd.Limits{HandshakeTimeout: 300 * time.Millisecond})
	nc, err := net.Dial("tcp", ts.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetReadDeadline(time.Now().Add(testkit.Wait))
	// The server says hello and waits for ours, which never comes.
	if _, err := io.ReadAll(nc); err != nil {
		t.Fatalf("the connection was not closed by the server: %v", err)
	}
}

func TestAFullServerSaysSo(t *testing.T) {
	ts := start(t, sshd.Limits{MaxSessions: 2})
	testkit.Join(t, ts.Addr, "alice")
	bob := testkit.Join(t, ts.Addr, "bob")
	carol := testkit.Connect(t, ts.Addr, "carol")
	testkit.WaitDone(t, carol)
	if st := carol.ExitStatus(); st != 1 || !strings.Contains(carol.Stderr(), "chatroom: the server is full; try again later") {
		t.Errorf("exit %d, stderr %q", st, carol.Stderr())
	}
	testkit.Say(t, bob, "/quit")
	testkit.WaitDone(t, bob)
	testkit.Join(t, ts.Addr, "carol") // a place is free again
}

// stalled opens a TCP connection that reads the server's version line and
// then says nothing, holding a handshake open. It returns the first line.
func stalled(t *testing.T, addr, localIP string) (net.Conn, string) {
	t.Helper()
	d := net.Dialer{}
	if localIP != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(localIP)}
	}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetReadDeadline(time.Now().Add(testkit.Wait))
	line, _ := bufio.NewReader(nc).ReadString('\n')
	return nc, strings.TrimSpace(line)
}

func TestUnauthenticatedConnectionsAreCapped(t *testing.T) {
	ts := start(t, sshd.Limits{MaxUnauthenticated: 4, EarlyDropFrom: 4})
	var held []net.Conn
	for range 4 {
		nc, line := stalled(t, ts.Addr, "")
		if !strings.HasPrefix(line, "SSH-2.0-") {
			t.Fatalf("stalled connection got %q", line)
		}
		held = append(held, nc)
	}
	_, line := stalled(t, ts.Addr, "")
	if line != "chatroom: too many connections are starting; try again in a moment" {
		t.Errorf("fifth connection got %q", line)
	}
	// People already in are not affected, and the cap frees as handshakes end.
	for _, nc := range held {
		nc.Close()
	}
	if !testkit.Eventually(func() bool {
		c, err := termtest.Dial(ts.Addr, "alice", termtest.Options{})
		if err != nil {
			return false
		}
		defer c.Close()
		return c.WaitFor(testkit.Wait, func(s string) bool { return strings.Contains(s, "Welcome, alice.") }) == nil
	}) {
		t.Error("connections still refused after the stalled ones closed")
	}
}

const (
	addrMe    = "127.0.0.2"
	addrOther = "127.0.0.3"
)

func TestPerAddressHandshakesAreCapped(t *testing.T) {
	ts := start(t, sshd.Limits{LimitLoopback: true, PerAddrHandshakes: 2})
	stalled(t, ts.Addr, addrMe)
	stalled(t, ts.Addr, addrMe)
	if _, line := stalled(t, ts.Addr, addrMe); line != "chatroom: too many connections are starting from your address; try again in a moment" {
		t.Errorf("third handshake: %q", line)
	}
	testkit.Join(t, ts.Addr, "other", termtest.Options{LocalIP: addrOther})
}

func TestPerAddressConnectionsAreCapped(t *testing.T) {
	ts := start(t, sshd.Limits{LimitLoopback: true, PerAddrConnections: 3})
	var mine []*termtest.Client
	for i := range 3 {
		mine = append(mine, testkit.Join(t, ts.Addr, fmt.Sprintf("me%d", i), termtest.Options{LocalIP: addrMe}))
	}
	if _, err := termtest.Dial(ts.Addr, "me3", termtest.Options{LocalIP: addrMe}); err == nil ||
		!strings.Contains(err.Error(), `the server said "chatroom: too many connections from your address (at most 3)\r\n"`) {
		t.Errorf("fourth connection: %v", err)
	}
	testkit.Join(t, ts.Addr, "other", termtest.Options{LocalIP: addrOther})
	mine[0].Close()
	if !testkit.Eventually(func() bool {
		c, err := termtest.Dial(ts.Addr, "again", termtest.Options{LocalIP: addrMe})
		if err == nil {
			c.Close()
		}
		return err == nil
	}) {
		t.Error("a freed place was not given back")
	}
}

func TestPerAddressNewConnectionsAreCapped(t *testing.T) {
	ts := start(t, sshd.Limits{LimitLoopback: true, PerAddrNew: 3})
	for i := range 3 {
		testkit.Join(t, ts.Addr, fmt.Sprintf("me%d", i), termtest.Options{LocalIP: addrMe}).Close()
	}
	if _, err := termtest.Dial(ts.Addr, "me3", termtest.Options{LocalIP: addrMe}); err == nil ||
		!strings.Contains(err.Error(), `the server said "chatroom: too many new connections from your address; try again in 10m`) {
		t.Errorf("fourth new connection: %v", err)
	}
	testkit.Join(t, ts.Addr, "other", termtest.Options{LocalIP: addrOther})
}

func TestLoopbackIsExemptFromPerAddressLimitsByDefault(t *testing.T) {
	ts := start(t, sshd.Limits{PerAddrHandshakes: 1, PerAddrConnections: 1, PerAddrNew: 1})
	stalled(t, ts.Addr, "")
	stalled(t, ts.Addr, "")
	testkit.Join(t, ts.Addr, "alice")
	testkit.Join(t, ts.Addr, "bob")
}

func TestRepeatedFailedHandshakesArePenalised(t *testing.T) {
	ts := start(t, sshd.Limits{
		LimitLoopback: true, PenaltyFailures: 3, Penalty: time.Minute, HandshakeTimeout: 200 * time.Millisecond,
	})
	// Two ways to fail: hang up mid-handshake, and stall until the timeout.
	for i := range 3 {
		nc, _ := stalled(t, ts.Addr, addrMe)
		if i == 0 {
			nc.SetReadDeadline(time.Now().Add(testkit.Wait))
			io.ReadAll(nc) // the server gives up on us
		}
		nc.Close()
	}
	if !testkit.Eventually(func() bool {
		_, line := stalled(t, ts.Addr, addrMe)
		return line == "chatroom: too many failed connections from your address; try again in 1m0s"
	}) {
		t.Error("an address with repeated failed handshakes was not refused")
	}
	testkit.Join(t, ts.Addr, "fine", termtest.Options{LocalIP: addrOther})
}

func TestTheKeyExchangeIsStrict(t *testing.T) {
	// Terrapin (CVE-2023-48795): the server must offer strict KEX.
	ts := start(t, sshd.Limits{})
	nc, line := stalled(t, ts.Addr, "")
	if !strings.HasPrefix(line, "SSH-2.0-chatroom") {
		t.Fatalf("version line %q", line)
	}
	if _, err := io.WriteString(nc, "SSH-2.0-probe\r\n"); err != nil {
		t.Fatal(err)
	}
	// The first packet is the server's KEXINIT, in the clear:
	// uint32 length, byte padding, byte 20, 16 cookie bytes, name-list kex.
	r := bufio.NewReader(nc)
	head := make([]byte, 4+1+1+16+4)
	if _, err := io.ReadFull(r, head); err != nil {
		t.Fatal(err)
	}
	if head[5] != 20 {
		t.Fatalf("first packet is type %d, not KEXINIT", head[5])
	}
	n := int(head[22])<<24 | int(head[23])<<16 | int(head[24])<<8 | int(head[25])
	kex := make([]byte, n)
	if _, err := io.ReadFull(r, kex); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(kex), "kex-strict-s-v00@openssh.com") {
		t.Errorf("key exchange algorithms lack strict KEX: %s", kex)
	}
}

// Sockets that say nothing, or only their version line, cannot lock
// people out: 300 of them once filled the 128 places for handshakes. Each
// must send its version line within the version timeout, and the places
// are counted in thousands.
func TestSilentSocketsCannotLockPeopleOut(t *testing.T) {
	const silent, versionOnly = 1000, 300
	for _, limitLoopback := range []bool{false, true} {
		t.Run(fmt.Sprintf("limit-loopback=%v", limitLoopback), func(t *testing.T) {
			lim := sshd.Limits{LimitLoopback: limitLoopback, VersionTimeout: time.Second, HandshakeTimeout: 5 * time.Second}
			ts := start(t, lim)
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(addrMe)}}
			var quiet []net.Conn
			for i := range silent + versionOnly {
				c, err := d.Dial("tcp", ts.Addr)
				if err != nil {
					t.Fatalf("socket %d: %v", i, err)
				}
				t.Cleanup(func() { c.Close() })
				if i < silent {
					quiet = append(quiet, c)
				} else {
					c.Write([]byte("SSH-2.0-idle\r\n"))
				}
			}
			began := time.Now()
			c := testkit.Connect(t, ts.Addr, "alice", termtest.Options{LocalIP: addrOther, Timeout: lim.HandshakeTimeout})
			testkit.WaitText(t, c, "Welcome, alice.")
			t.Logf("behind %d silent and %d version-only sockets, a client got in after %v", silent, versionOnly, time.Since(began))

			// The silent ones are gone by the version timeout (and a
			// moment for the server to get round to all of them).
			deadline := time.Now().Add(lim.VersionTimeout + 3*time.Second)
			for i, q := range quiet {
				q.SetReadDeadline(deadline)
				if _, err := io.Copy(io.Discard, q); err != nil {
					t.Fatalf("silent socket %d still open %v after the last was opened: %v", i, time.Since(began), err)
				}
			}
		})
	}
}
