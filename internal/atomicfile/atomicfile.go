// Package atomicfile writes files that a crash leaves whole, owned as their
// directory is.
package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Write writes data to a temporary file beside path, syncs it, puts it in
// place (replacing path, or only if path does not exist yet) and syncs the
// directory: after a crash path holds the old data or the new.
func Write(path string, data []byte, mode os.FileMode, replace bool) error {
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
	MatchOwner(tmp, dir)
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
		return SyncDir(dir)
	}
	// Link, unlike rename, fails when path exists: a key someone else just
	// made is never replaced.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return SyncDir(dir)
}

// MatchOwner gives f the owner of dir when we run as root: an operator's
// "sudo chatroom names ..." must leave files the service's own user can
// still read and write.
func MatchOwner(f *os.File, dir string) {
	if os.Geteuid() != 0 {
		return
	}
	if st, err := os.Stat(dir); err == nil {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			_ = f.Chown(int(sys.Uid), int(sys.Gid))
		}
	}
}

// SyncDir makes a directory's entries (a rename, a new file) durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
