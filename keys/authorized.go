package keys

import (
	"fmt"
	"os"
	"strings"

	gossh "golang.org/x/crypto/ssh"
)

// KeySet is a set of public keys from an authorized_keys file.
type KeySet struct {
	keys []gossh.PublicKey
}

// LoadAuthorizedKeys reads an authorized_keys file (options and comments
// are allowed and ignored). A line that is not a key is an error naming the
// file and line.
func LoadAuthorizedKeys(path string) (*KeySet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	set := &KeySet{}
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		k, _, _, _, err := gossh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n+1, err)
		}
		set.keys = append(set.keys, k)
	}
	return set, nil
}

// Contains reports whether k is in the set. Each comparison takes the same
// time whatever the keys hold.
func (s *KeySet) Contains(k gossh.PublicKey) bool {
	if s == nil || k == nil {
		return false
	}
	found := false
	for _, have := range s.keys {
		if SameKey(have, k) {
			found = true
		}
	}
	return found
}

// Len is how many keys the set holds.
func (s *KeySet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.keys)
}
