package sshd_test

import (
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"chatroom/internal/termtest"
	"chatroom/internal/testkit"
	"chatroom/keys"
	"chatroom/sshd"

	gossh "golang.org/x/crypto/ssh"
)

// selfSigned is a certificate for k signed by k itself, with a KeyId of
// idLen bytes: anyone can make one, and fill it with what they like.
func selfSigned(t *testing.T, k gossh.Signer, idLen int) gossh.Signer {
	t.Helper()
	cert := &gossh.Certificate{
		Key:             k.PublicKey(),
		CertType:        gossh.UserCert,
		KeyId:           strings.Repeat("x", idLen),
		ValidPrincipals: []string{"alice"},
		ValidBefore:     gossh.CertTimeInfinity,
	}
	if err := cert.SignCert(rand.Reader, k); err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewCertSigner(cert, k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A certificate is not a key: one that fills its KeyId with 200,000 bytes
// once made a 267 KB line in the names file. Keys are refused at login
// unless they are plain keys of a sane size; the client goes on to its
// next method.
func TestCertificatesAndHugeKeysAreTurnedDown(t *testing.T) {
	ts := start(t, sshd.Limits{})
	k := testkit.NewKey(t)
	for _, tc := range []struct {
		name string
		key  gossh.Signer
	}{
		{"a self-signed certificate", selfSigned(t, k, 16)},
		{"a certificate with a 200,000-byte KeyId", selfSigned(t, k, 200_000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			only := termtest.Options{Auth: []gossh.AuthMethod{gossh.PublicKeys(tc.key)}, Timeout: testkit.Wait}
			if _, err := termtest.Dial(ts.Addr, "alice", only); err == nil {
				t.Fatal("logged in with a certificate")
			}
			c := testkit.Connect(t, ts.Addr, "alice", testkit.WithKey(tc.key))
			testkit.WaitText(t, c, "Welcome, alice. (guest)")
		})
	}
	c := testkit.Connect(t, ts.Addr, "alice", testkit.WithKey(k))
	testkit.WaitText(t, c, "Welcome, alice. (key "+keys.Fingerprint(k.PublicKey())+")")

	small := start(t, sshd.Limits{MaxKeySize: 40})
	c = testkit.Connect(t, small.Addr, "bob", testkit.WithKey(k)) // an ed25519 key is 51 bytes
	testkit.WaitText(t, c, "Welcome, bob. (guest)")
}

// After its session ends the connection goes too, even if the client
// would keep it open: otherwise it holds a place against the per-address
// limit for ever, with no keepalives and no timeout left to end it.
func TestAConnectionDoesNotOutliveItsSession(t *testing.T) {
	ts := start(t, sshd.Limits{ExitGrace: 200 * time.Millisecond})
	for _, how := range []string{"quit", "refused"} {
		t.Run(how, func(t *testing.T) {
			conn := testkit.DialConn(t, ts.Addr, "alice")
			sess, err := conn.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			if how == "quit" {
				if err := sess.RequestPty("xterm", 24, 80, nil); err != nil {
					t.Fatal(err)
				}
				in, _ := sess.StdinPipe()
				if err := sess.Shell(); err != nil {
					t.Fatal(err)
				}
				in.Write([]byte("/quit\r"))
			} else {
				sess.Start("uptime") // refused: commands are not supported
			}
			sess.Wait()
			closed := make(chan error, 1)
			go func() { closed <- conn.Wait() }()
			select {
			case <-closed:
			case <-time.After(testkit.Wait):
				t.Fatal("the connection outlived its session")
			}
		})
	}
}
