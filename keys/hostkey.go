// Package keys handles SSH keys: the server's host key and users' public keys.
package keys

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"chatroom/internal/atomicfile"

	gossh "golang.org/x/crypto/ssh"
)

// HostKeyFile is the name of the host key inside the data directory.
const HostKeyFile = "host_ed25519"

// HostKeyFileOrCreate loads the ed25519 host key at path, or makes one there
// (mode 0600, written to a temporary file and renamed, so a crash never
// leaves half a key) if none exists. Once made, the key is reused for ever,
// so returning clients never see it change.
func HostKeyFileOrCreate(path string) (gossh.Signer, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		signer, err := gossh.ParsePrivateKey(data)
		if err != nil {
			return nil, fmt.Errorf("host key %s: %w", path, err)
		}
		return signer, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("host key: %w", err)
	}

	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("host key: generate: %w", err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "chatroom host key")
	if err != nil {
		return nil, fmt.Errorf("host key: encode: %w", err)
	}
	if err := atomicfile.Write(path, pem.EncodeToMemory(block), 0o600, false); err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	// Read back what is on disk: if another process won a race to create the
	// key, its key is the one everybody must use.
	return HostKeyFileOrCreate(path)
}
