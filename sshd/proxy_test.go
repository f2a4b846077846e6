package sshd_test

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"chatroom/internal/termtest"
	"chatroom/internal/testkit"
	"chatroom/sshd"

	"github.com/pires/go-proxyproto"
)

// proxyV2 is the binary PROXY header a balancer sends for client.
func proxyV2(t *testing.T, client string) []byte {
	t.Helper()
	src, err := net.ResolveTCPAddr("tcp", client)
	if err != nil {
		t.Fatal(err)
	}
	h := proxyproto.HeaderProxyFromAddrs(2, src, &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 2222})
	b, err := h.Format()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Behind a balancer listed in ProxyFrom, the address in the PROXY header is
// the client's: the per-address limits count it, and the log names it.
func TestABalancerPassesOnTheClientsAddress(t *testing.T) {
	var log testkit.LogBuffer
	ts := startWith(t, func(c *sshd.Config) {
		c.Limits = sshd.Limits{LimitLoopback: true, PerAddrConnections: 1}
		c.ProxyFrom = []netip.Prefix{netip.MustParsePrefix(addrMe + "/32")}
	}, &log)
	viaBalancer := func(header []byte) termtest.Options {
		return termtest.Options{LocalIP: addrMe, Preamble: header}
	}
	// Two clients behind one balancer are two addresses, one in each
	// version of the protocol.
	testkit.Join(t, ts.Addr, "alice", viaBalancer([]byte("PROXY TCP4 203.0.113.7 127.0.0.1 40000 2222\r\n")))
	testkit.Join(t, ts.Addr, "bob", viaBalancer(proxyV2(t, "[2001:db8::7]:40001")))
	for _, want := range []string{"remote=203.0.113.7:40000", "remote=[2001:db8::7]:40001"} {
		if !testkit.Eventually(func() bool { return strings.Contains(log.String(), want) }) {
			t.Errorf("the log has no %s:\n%s", want, log.String())
		}
	}
	// The limit of one connection an address holds for the client's.
	_, err := termtest.Dial(ts.Addr, "carol", viaBalancer([]byte("PROXY TCP4 203.0.113.7 127.0.0.1 40002 2222\r\n")))
	if err == nil || !strings.Contains(err.Error(), "too many connections from your address (at most 1)") {
		t.Errorf("a second connection from 203.0.113.7: %v", err)
	}
}

// A balancer's connection must open with the header; anyone else's header
// is not believed.
func TestOnlyBalancersMaySayWhoTheClientIs(t *testing.T) {
	var log testkit.LogBuffer
	ts := startWith(t, func(c *sshd.Config) {
		c.ProxyFrom = []netip.Prefix{netip.MustParsePrefix(addrMe + "/32")}
	}, &log)
	if _, err := termtest.Dial(ts.Addr, "alice", termtest.Options{LocalIP: addrMe}); err == nil {
		t.Error("a balancer's connection without a PROXY header was let in")
	}
	if !testkit.Eventually(func() bool { return strings.Contains(log.String(), "why=no_proxy_header") }) {
		t.Errorf("the log does not say why:\n%s", log.String())
	}
	// x/crypto skips lines before the version line, so a header from
	// elsewhere costs nothing but is not believed.
	testkit.Join(t, ts.Addr, "mallory", termtest.Options{LocalIP: addrOther,
		Preamble: []byte("PROXY TCP4 198.51.100.9 127.0.0.1 40000 2222\r\n")})
	if !testkit.Eventually(func() bool { return strings.Contains(log.String(), "remote="+addrOther) }) {
		t.Errorf("the log does not name mallory's own address:\n%s", log.String())
	}
	if strings.Contains(log.String(), "198.51.100.9") {
		t.Errorf("a header from outside ProxyFrom was believed:\n%s", log.String())
	}
}
