package names

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"chatroom/internal/atomicfile"
	"chatroom/keys"

	gossh "golang.org/x/crypto/ssh"
)

var _ Store = (*Files)(nil)

// Files is a Store kept in two human-readable files in the data directory. Every change is written to a
// temporary file, synced, renamed into place and the directory synced, under
// a lock file, so a crash leaves the old file or the new one and another
// process (chatroom names ...) can change the files while a server runs:
// the server reads them again when they change. Last-seen times are kept in
// memory and written by Flush.
type Files struct {
	dir string
	now func() time.Time

	mu       sync.Mutex
	names    map[string]*Binding
	bans     []Ban
	seen     map[string]time.Time // last-seen times not written yet
	namesVer fileVersion
	bansVer  fileVersion
}

// fileVersion tells whether a file changed since it was read.
type fileVersion struct {
	ino, size int64
	mtime     time.Time
}

func versionOf(path string) fileVersion {
	st, err := os.Stat(path)
	if err != nil {
		return fileVersion{}
	}
	v := fileVersion{size: st.Size(), mtime: st.ModTime()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		v.ino = int64(sys.Ino)
	}
	return v
}

// OpenFiles reads the store in dir. Missing files are an empty store.
func OpenFiles(dir string) (*Files, error) {
	s := &Files{dir: dir, now: time.Now, seen: make(map[string]time.Time)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.load(true); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Files) path(name string) string { return filepath.Join(s.dir, name) }

// load reads the files that changed (or all, if force). Called with s.mu held.
func (s *Files) load(force bool) error {
	if v := versionOf(s.path(NamesFile)); force || v != s.namesVer {
		names, err := readNames(s.path(NamesFile))
		if err != nil {
			return err
		}
		s.names, s.namesVer = names, v
	}
	if v := versionOf(s.path(BansFile)); force || v != s.bansVer {
		bans, err := readBans(s.path(BansFile))
		if err != nil {
			return err
		}
		s.bans, s.bansVer = bans, v
	}
	return nil
}

// refresh reads the files again if another process changed them. A file
// that fails to read keeps what was read before; the error is returned.
func (s *Files) refresh() error {
	return s.load(false)
}

// Owner is the binding of name, if it is bound.
func (s *Files) Owner(name string) (Binding, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.refresh()
	b := s.names[name]
	if b == nil {
		return Binding{}, false
	}
	return *b, true
}

// Claim makes name belong to key, if no other key owns it, and has it on
// disk before returning. For the owner it only notes that they were seen.
func (s *Files) Claim(name string, key gossh.PublicKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.names[name]; b != nil && keys.SameKey(b.Key, key) {
		s.seen[name] = s.now()
		return nil
	}
	return s.change(func() error {
		if b := s.names[name]; b != nil {
			if !keys.SameKey(b.Key, key) {
				return ErrOwned
			}
			s.seen[name] = s.now()
			return nil
		}
		now := s.now().UTC().Truncate(time.Second)
		s.names[name] = &Binding{Name: name, Fingerprint: keys.Fingerprint(key), Key: key, FirstSeen: now, LastSeen: now}
		return s.writeNames()
	})
}

// Release frees name, reporting whether it was bound.
func (s *Files) Release(name string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := false
	err := s.change(func() error {
		if s.names[name] == nil {
			return nil
		}
		found = true
		delete(s.names, name)
		delete(s.seen, name)
		return s.writeNames()
	})
	return found, err
}

// Seen notes that name's owner was here now; Flush writes it.
func (s *Files) Seen(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.names[name] != nil {
		s.seen[name] = s.now()
	}
}

// List lists every binding, by name.
func (s *Files) List() []Binding {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.refresh()
	out := make([]Binding, 0, len(s.names))
	for _, b := range s.names {
		c := *b
		if t, ok := s.seen[c.Name]; ok {
			c.LastSeen = t.UTC().Truncate(time.Second)
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Binding) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Flush writes the last-seen times noted since the last flush.
func (s *Files) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) == 0 {
		return nil
	}
	return s.change(s.writeNames)
}

// Ban records a ban.
func (s *Files) Ban(b Ban) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.change(func() error {
		s.bans = append(s.bans, b)
		return s.writeBans()
	})
}

// Unban lifts the bans that match what (a name, a fingerprint or an
// address) and reports how many there were.
func (s *Files) Unban(what string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	err := s.change(func() error {
		before := len(s.bans)
		s.bans = slices.DeleteFunc(s.bans, func(b Ban) bool {
			return b.Name == what || b.Fingerprint == what || b.Addr == what
		})
		n = before - len(s.bans)
		if n == 0 {
			return nil
		}
		return s.writeBans()
	})
	return n, err
}

// Bans lists the bans in force.
func (s *Files) Bans() []Ban {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.refresh()
	now := s.now()
	var out []Ban
	for _, b := range s.bans {
		if b.Until.IsZero() || now.Before(b.Until) {
			out = append(out, b)
		}
	}
	return out
}

// Banned lists the bans in force on fingerprint (if not empty) or addr.
func (s *Files) Banned(fingerprint, addr string) []Ban {
	var out []Ban
	for _, b := range s.Bans() {
		if fingerprint != "" && b.Fingerprint == fingerprint || addr != "" && b.Addr == addr {
			out = append(out, b)
		}
	}
	return out
}

// change runs a read-modify-write under the lock file: another process may
// have changed the files, so they are read again first. Called with s.mu held.
func (s *Files) change(apply func() error) error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	lock, err := os.OpenFile(s.path(lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	atomicfile.MatchOwner(lock, s.dir)
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if err := s.refresh(); err != nil {
		return err
	}
	return apply()
}

func (s *Files) writeNames() error {
	var b bytes.Buffer
	b.WriteString("# chatroom names: the key that owns each name, written by the server and\n")
	b.WriteString("# by \"chatroom names\". One name a line:\n")
	b.WriteString("# NAME FINGERPRINT FIRST-SEEN LAST-SEEN KEY\n")
	names := make([]string, 0, len(s.names))
	for n := range s.names {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		bd := s.names[n]
		if t, ok := s.seen[n]; ok && t.After(bd.LastSeen) {
			bd.LastSeen = t.UTC().Truncate(time.Second)
		}
		fmt.Fprintf(&b, "%s %s %s %s %s", bd.Name, bd.Fingerprint,
			bd.FirstSeen.Format(time.RFC3339), bd.LastSeen.Format(time.RFC3339),
			strings.TrimSpace(string(gossh.MarshalAuthorizedKey(bd.Key))))
		b.WriteByte('\n')
	}
	if err := atomicfile.Write(s.path(NamesFile), b.Bytes(), 0o600, true); err != nil {
		return err
	}
	clear(s.seen)
	s.namesVer = versionOf(s.path(NamesFile))
	return nil
}

func (s *Files) writeBans() error {
	var b bytes.Buffer
	b.WriteString("# chatroom bans, written by the server's /ban and /unban. One ban a line:\n")
	b.WriteString("# key FINGERPRINT UNTIL BY NAME REASON...  or  addr ADDRESS UNTIL BY NAME REASON...\n")
	b.WriteString("# or  keyaddr FINGERPRINT ADDRESS UNTIL BY NAME REASON... (a key, and guests from its address)\n")
	now := s.now()
	for _, bn := range s.bans {
		if !bn.Until.IsZero() && !now.Before(bn.Until) {
			continue // expired: forget it
		}
		kind, what := "key", bn.Fingerprint
		switch {
		case what == "":
			kind, what = "addr", bn.Addr
		case bn.Addr != "":
			kind, what = "keyaddr", bn.Fingerprint+" "+bn.Addr
		}
		until := "never"
		if !bn.Until.IsZero() {
			until = bn.Until.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(&b, "%s %s %s %s %s %s\n", kind, what, until, orDash(bn.By), orDash(bn.Name), bn.Reason)
	}
	if err := atomicfile.Write(s.path(BansFile), b.Bytes(), 0o600, true); err != nil {
		return err
	}
	s.bansVer = versionOf(s.path(BansFile))
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func fromDash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

func readNames(path string) (map[string]*Binding, error) {
	names := make(map[string]*Binding)
	err := readLines(path, func(n int, f []string) error {
		if len(f) < 6 {
			return fmt.Errorf("want NAME FINGERPRINT FIRST-SEEN LAST-SEEN KEY")
		}
		first, err1 := time.Parse(time.RFC3339, f[2])
		last, err2 := time.Parse(time.RFC3339, f[3])
		key, _, _, _, err3 := gossh.ParseAuthorizedKey([]byte(strings.Join(f[4:], " ")))
		if err := errors.Join(err1, err2, err3); err != nil {
			return err
		}
		if keys.Fingerprint(key) != f[1] {
			return fmt.Errorf("the fingerprint does not match the key")
		}
		names[f[0]] = &Binding{Name: f[0], Fingerprint: f[1], Key: key, FirstSeen: first, LastSeen: last}
		return nil
	})
	return names, err
}

func readBans(path string) ([]Ban, error) {
	var bans []Ban
	err := readLines(path, func(n int, f []string) error {
		var b Ban
		switch {
		case len(f) >= 6 && f[0] == "keyaddr":
			b.Fingerprint, b.Addr = f[1], f[2]
			f = append(f[:1], f[2:]...) // the rest reads as the other kinds do
		case len(f) >= 5 && f[0] == "key":
			b.Fingerprint = f[1]
		case len(f) >= 5 && f[0] == "addr":
			b.Addr = f[1]
		default:
			return fmt.Errorf("want key|addr WHAT UNTIL BY NAME REASON, or keyaddr FINGERPRINT ADDRESS UNTIL BY NAME REASON")
		}
		b.By, b.Name, b.Reason = fromDash(f[3]), fromDash(f[4]), strings.Join(f[5:], " ")
		if f[2] != "never" {
			t, err := time.Parse(time.RFC3339, f[2])
			if err != nil {
				return err
			}
			b.Until = t
		}
		bans = append(bans, b)
		return nil
	})
	return bans, err
}

// readLines calls fn with the fields of each line that is not blank or a
// comment. A missing file has no lines.
func readLines(path string, fn func(line int, fields []string) error) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if err := fn(n, strings.Fields(line)); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	return sc.Err()
}
