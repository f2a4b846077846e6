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
	"path/filepath"
	"syscall"

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
	if err := writeFileAtomic(path, pem.EncodeToMemory(block), 0o600, false); err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	// Read back what is on disk: if another process won a race to create the
	// key, its key is the one everybody must use.
	return HostKeyFileOrCreate(path)
}

// writeFileAtomic writes data to a temporary file beside path, syncs it,
// puts it in place (replacing path, or only if path does not exist yet) and
// syncs the directory: after a crash path holds the old data or the new.
func writeFileAtomic(path string, data []byte, mode os.FileMode, replace bool) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	matchOwner(tmp, dir)
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if replace {
		if err := os.Rename(tmp.Name(), path); err != nil {
			return err
		}
		return syncDir(dir)
	}
	// Link, unlike rename, fails when path exists: a key someone else just
	// made is never replaced.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(dir)
}

// matchOwner gives f the owner of dir when we run as root: an operator's
// "sudo chatroom names ..." must leave files the service's own user can
// still read and write.
func matchOwner(f *os.File, dir string) {
	if os.Geteuid() != 0 {
		return
	}
	if st, err := os.Stat(dir); err == nil {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			_ = f.Chown(int(sys.Uid), int(sys.Gid))
		}
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
