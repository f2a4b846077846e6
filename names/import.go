package names

import (
	"bufio"
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"chatroom/internal/atomicfile"
	"chatroom/keys"

	gossh "golang.org/x/crypto/ssh"
)

// importText makes the database at path from the text files that versions
// before it kept in dir (NamesFile, BansFile), if there are any, with every
// field; the files stay beside it, renamed with ".imported". A line that
// does not read stops the import, naming the file and line. The database
// is built under another name and renamed into place, so a crash leaves no
// half-imported store.
func importText(dir, path string) error {
	namesPath, bansPath := filepath.Join(dir, NamesFile), filepath.Join(dir, BansFile)
	if !exists(namesPath) && !exists(bansPath) {
		return nil
	}
	bindings, err := readNames(namesPath)
	if err != nil {
		return fmt.Errorf("importing names: %w (fix or delete that line, then start again)", err)
	}
	bans, err := readBans(bansPath)
	if err != nil {
		return fmt.Errorf("importing bans: %w (fix or delete that line, then start again)", err)
	}
	tmp := path + ".importing"
	os.Remove(tmp)
	s, err := open(tmp)
	if err != nil {
		return err
	}
	err = s.write(func(tx *sql.Tx) error {
		for _, b := range bindings {
			if _, err := tx.Exec("INSERT INTO names (name, fingerprint, key, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)",
				b.Name, b.Fingerprint, keys.AuthorizedLine(b.Key), stamp(b.FirstSeen), stamp(b.LastSeen)); err != nil {
				return err
			}
		}
		for _, b := range bans {
			until := ""
			if !b.Until.IsZero() {
				until = stamp(b.Until)
			}
			if _, err := tx.Exec("INSERT INTO bans (fingerprint, addr, until, banned_by, name, reason) VALUES (?, ?, ?, ?, ?, ?)",
				b.Fingerprint, b.Addr, until, b.By, b.Name, b.Reason); err != nil {
				return err
			}
		}
		return nil
	})
	if err = errors.Join(err, s.close()); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("importing %s: %w", dir, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	for _, p := range []string{namesPath, bansPath} {
		if exists(p) {
			if err := os.Rename(p, p+".imported"); err != nil {
				return err
			}
		}
	}
	return atomicfile.SyncDir(dir)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func fromDash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

func readNames(path string) ([]Binding, error) {
	var names []Binding
	seen := make(map[string]bool)
	err := readLines(path, func(n int, f []string) error {
		if len(f) >= 1 && seen[f[0]] {
			return fmt.Errorf("%q is bound twice", f[0])
		}
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
		seen[f[0]] = true
		names = append(names, Binding{Name: f[0], Fingerprint: f[1], Key: key, FirstSeen: first, LastSeen: last})
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
