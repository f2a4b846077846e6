package main

import (
	"bufio"
	"chatroom/keys"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// writeNames writes a names file in the text form of chatroom's earlier
// versions, which chatroom imports into its database on its first start:
// n names, seed0 to seed<n-1>, each bound to a fresh ed25519 key. It is
// how a benchmark seeds a store with many names.
func writeNames(w io.Writer, n int, now time.Time) error {
	bw := bufio.NewWriter(w)
	stamp := now.UTC().Format(time.RFC3339)
	for i := range n {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		k, err := gossh.NewPublicKey(pub)
		if err != nil {
			return err
		}
		fmt.Fprintf(bw, "seed%d %s %s %s %s\n", i, gossh.FingerprintSHA256(k), stamp, stamp,
			keys.AuthorizedLine(k))
	}
	return bw.Flush()
}
