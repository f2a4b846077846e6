package keys

import (
	"crypto/subtle"
	"strings"

	gossh "golang.org/x/crypto/ssh"
)

// Fingerprint is how a key is shown: its SHA256 fingerprint, or "none" for
// a client that logged in without one.
func Fingerprint(k gossh.PublicKey) string {
	if k == nil {
		return "none"
	}
	return gossh.FingerprintSHA256(k)
}

// AuthorizedLine is k as one line of an authorized_keys file, with no
// options or comment: how the name stores keep a key.
func AuthorizedLine(k gossh.PublicKey) string {
	return strings.TrimSpace(string(gossh.MarshalAuthorizedKey(k)))
}

// SameKey compares two keys in constant time.
func SameKey(a, b gossh.PublicKey) bool {
	if a == nil || b == nil {
		return false
	}
	x, y := a.Marshal(), b.Marshal()
	return len(x) == len(y) && subtle.ConstantTimeCompare(x, y) == 1
}
