package keys

import gossh "golang.org/x/crypto/ssh"

// Fingerprint is how a key is shown: its SHA256 fingerprint, or "none" for
// a client that logged in without one.
func Fingerprint(k gossh.PublicKey) string {
	if k == nil {
		return "none"
	}
	return gossh.FingerprintSHA256(k)
}
