package names

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"chatroom/internal/atomicfile"
	"chatroom/keys"

	gossh "golang.org/x/crypto/ssh"
	_ "modernc.org/sqlite" // the "sqlite" driver: pure Go, no cgo
)

var _ Store = (*DB)(nil)

// DB is a Store kept in an SQLite database (DBFile in the data directory)
// in WAL mode: each new binding is one small transaction, synced before
// Claim returns; readers never wait for a writer; another process
// (chatroom names ...) may read and change it while a server runs; and an
// operator can open it with the sqlite3 shell. Last-seen times are kept in
// memory and written in one transaction by Flush.
type DB struct {
	// Writes go through one connection, so that they queue here rather
	// than in SQLite's busy handler, which sleeps in steps of up to 100 ms;
	// reads have a few connections of their own, which WAL never blocks.
	w, r *sql.DB
	now  func() time.Time
	// The statements of every login, parsed once: parsing costs more
	// than running them.
	ownerQ, claimQ, ignoresQ *sql.Stmt

	// The bans, oldest first, as in the database: every login checks them
	// up to three times, and only the server changes them (chatroom names
	// changes names alone), so they are read from the file once.
	bansMu sync.RWMutex
	bans   []Ban
	// Who ignores anyone, by fingerprint: every join asks for its ignore
	// list, and nearly every list is empty, so those are answered without
	// a query. Only this server changes the lists.
	ignMu    sync.Mutex
	ignorers map[string]bool

	// Claims go to one goroutine, which saves all that are waiting in one
	// transaction: in a crowd of new visitors, one fsync serves many.
	claims  chan *claimReq
	closing sync.RWMutex // held to send on claims and work; Close takes it to close them
	closed  bool
	written chan struct{} // closed when the claim writer has stopped

	// What a session asks of the database runs on the database's own
	// goroutines (run): SQLite's frames are large, and a session's
	// goroutine that ran a query kept a stack grown to tens of KB for the
	// rest of the session and paid for growing it (copying stacks was 8%
	// of the CPU of 5,000 clients connecting).
	work chan func()

	mu   sync.Mutex
	seen map[string]time.Time // last-seen times not written yet
}

// migrations make the schema, version by version: migrations[i] takes
// version i to i+1. A database newer than this program is refused, not
// changed.
var migrations = []string{
	`CREATE TABLE names (
		name        TEXT PRIMARY KEY,
		fingerprint TEXT NOT NULL,
		key         TEXT NOT NULL, -- in authorized_keys form
		first_seen  TEXT NOT NULL, -- RFC 3339, UTC
		last_seen   TEXT NOT NULL
	) WITHOUT ROWID;
	CREATE INDEX names_last_seen ON names(last_seen);
	CREATE TABLE bans (
		id          INTEGER PRIMARY KEY,
		fingerprint TEXT NOT NULL DEFAULT '', -- '' for a ban on an address alone
		addr        TEXT NOT NULL DEFAULT '', -- IPv4 or an IPv6 /64, or ''
		until       TEXT NOT NULL DEFAULT '', -- RFC 3339, UTC; '' for ever
		banned_by   TEXT NOT NULL DEFAULT '',
		name        TEXT NOT NULL DEFAULT '',
		reason      TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX bans_fingerprint ON bans(fingerprint);
	CREATE INDEX bans_addr ON bans(addr);`,
	// Version 2: whom each key ignores, a key (with the name it had) or
	// a guest by name and address.
	`CREATE TABLE ignores (
		owner       TEXT NOT NULL, -- the ignoring key's fingerprint
		fingerprint TEXT NOT NULL, -- the ignored key's, or '' for a guest
		name        TEXT NOT NULL,
		addr        TEXT NOT NULL DEFAULT '', -- a guest's address
		PRIMARY KEY (owner, fingerprint, name, addr)
	);`,
}

// ErrUnreadable wraps the reason a database could not be opened.
var ErrUnreadable = errors.New("unreadable")

// Open opens the store in dir, making it if there is none. On the first
// start, names and bans in the text files of earlier versions (NamesFile,
// BansFile) are imported, and the files are kept beside the database,
// renamed with ".imported". A database that cannot be read is an error
// naming it; it is never replaced.
func Open(dir string) (*DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, DBFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := importText(dir, path); err != nil {
			return nil, err
		}
	}
	s, err := open(path)
	if err != nil {
		return nil, fmt.Errorf("%s is %w (%v): restore it from a backup, or move it aside to start with no names and bans", path, ErrUnreadable, err)
	}
	return s, nil
}

func open(path string) (*DB, error) {
	// The file is made here, not by SQLite, so that it is private and, if
	// root made it, the service's; SQLite gives its -wal and -shm files the
	// database's mode and owner.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	atomicfile.MatchOwner(f, filepath.Dir(path))
	f.Close()
	// synchronous(FULL): a binding is on disk, not just in the WAL's page
	// cache, when Claim returns. busy_timeout: another process writing
	// makes us wait, not fail. _txlock=immediate: a transaction that will
	// write takes the write lock at BEGIN, so two never deadlock upgrading.
	// cache_size: each connection caches 128 KiB of pages (the B-tree's
	// upper levels); the rest is the kernel's page cache, not our memory.
	// The path is a URI's: "?", "#" and "%" in it are escaped.
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
		"&_pragma=busy_timeout(10000)&_pragma=cache_size(-128)&_txlock=immediate"
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	s := &DB{w: w, r: r, now: time.Now, seen: make(map[string]time.Time)}
	err = s.check()
	if err == nil {
		err = s.migrate()
	}
	if err == nil {
		err = s.prepare()
	}
	if err == nil {
		s.bans, err = scanBans(s.r.Query(bansQuery + "ORDER BY id"))
	}
	if err == nil {
		s.ignorers, err = scanIgnorers(s.r.Query("SELECT DISTINCT owner FROM ignores"))
	}
	if err != nil {
		s.close()
		return nil, err
	}
	s.claims, s.written = make(chan *claimReq), make(chan struct{})
	go s.claimWriter()
	s.work = make(chan func())
	for range readers {
		go func() {
			for f := range s.work {
				f()
			}
		}()
	}
	return s, nil
}

var errClosed = errors.New("the names database is closed")

// run runs f on one of the database's goroutines and waits for it.
func (s *DB) run(f func()) error {
	s.closing.RLock()
	if s.closed {
		s.closing.RUnlock()
		return errClosed
	}
	done := make(chan struct{})
	s.work <- func() { f(); close(done) }
	s.closing.RUnlock()
	<-done
	return nil
}

// readers is how many lookups run at once; more wait their turn (a
// lookup takes tens of microseconds).
const readers = 4

func (s *DB) prepare() (err error) {
	if s.ownerQ, err = s.r.Prepare("SELECT fingerprint, key, first_seen, last_seen FROM names WHERE name = ?"); err != nil {
		return err
	}
	// Every join reads its ignores: parsing the query each time cost as
	// much as running it.
	if s.ignoresQ, err = s.r.Prepare("SELECT fingerprint, name, addr FROM ignores WHERE owner = ? ORDER BY rowid"); err != nil {
		return err
	}
	s.claimQ, err = s.w.Prepare(`INSERT INTO names (name, fingerprint, key, first_seen, last_seen)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`)
	return err
}

func (s *DB) close() error {
	for _, st := range []*sql.Stmt{s.ownerQ, s.claimQ, s.ignoresQ} {
		if st != nil {
			st.Close()
		}
	}
	return errors.Join(s.w.Close(), s.r.Close())
}

// check reads the whole file's structure, so that a damaged one is found
// at start and not by a join.
func (s *DB) check() error {
	var res string
	if err := s.w.QueryRow("PRAGMA quick_check").Scan(&res); err != nil {
		return err
	}
	if res != "ok" {
		return errors.New(res)
	}
	return nil
}

func (s *DB) migrate() error {
	tx, err := s.w.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if version > len(migrations) {
		return fmt.Errorf("its schema is version %d, newer than this chatroom knows (%d)", version, len(migrations))
	}
	if version == len(migrations) {
		return nil
	}
	for _, m := range migrations[version:] {
		if _, err := tx.Exec(m); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return err
	}
	return tx.Commit()
}

// Close writes what is pending and closes the database.
func (s *DB) Close() error {
	s.closing.Lock()
	if !s.closed {
		s.closed = true
		close(s.claims)
		close(s.work)
		<-s.written
	}
	s.closing.Unlock()
	return errors.Join(s.Flush(), s.close())
}

func stamp(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

func unstamp(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339, s)
}

// Owner is the binding of name, if it is bound.
func (s *DB) Owner(name string) (b Binding, ok bool, err error) {
	if err := s.run(func() { b, ok, err = s.owner(name) }); err != nil {
		return Binding{}, false, err
	}
	return b, ok, err
}

func (s *DB) owner(name string) (Binding, bool, error) {
	var fp, key, first, last string
	err := s.ownerQ.QueryRow(name).
		Scan(&fp, &key, &first, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return Binding{}, false, nil
	}
	if err != nil {
		return Binding{}, false, err
	}
	b, err := s.binding(name, fp, key, first, last)
	return b, err == nil, err
}

// binding makes a Binding of a row, with the last-seen time not yet
// written if it is later.
func (s *DB) binding(name, fp, key, first, last string) (Binding, error) {
	k, _, _, _, err1 := gossh.ParseAuthorizedKey([]byte(key))
	f, err2 := unstamp(first)
	l, err3 := unstamp(last)
	if err := errors.Join(err1, err2, err3); err != nil {
		return Binding{}, fmt.Errorf("the binding of %q: %w", name, err)
	}
	s.mu.Lock()
	if t, ok := s.seen[name]; ok && t.After(l) {
		l = t.UTC().Truncate(time.Second)
	}
	s.mu.Unlock()
	return Binding{Name: name, Fingerprint: fp, Key: k, FirstSeen: f, LastSeen: l}, nil
}

// Claim gives name to key if no key owns it, saved before it returns, and
// reports whether it did; for the owner it notes that they were seen.
func (s *DB) Claim(name string, key gossh.PublicKey) (bool, error) {
	now := stamp(s.now())
	r := &claimReq{name: name, fp: keys.Fingerprint(key), key: keys.AuthorizedLine(key), now: now, done: make(chan struct{})}
	s.closing.RLock()
	if s.closed {
		s.closing.RUnlock()
		return false, errClosed
	}
	s.claims <- r
	s.closing.RUnlock()
	<-r.done
	if r.err != nil {
		return false, r.err
	}
	if r.created {
		return true, nil
	}
	b, ok, err := s.Owner(name)
	switch {
	case err != nil:
		return false, err
	case !ok: // released in between
		return false, errors.New("the name was released while it was claimed; try again")
	case !keys.SameKey(b.Key, key):
		return false, ErrOwned
	}
	s.Seen(name)
	return false, nil
}

// claimReq is one Claim waiting for the claim writer.
type claimReq struct {
	name, fp, key, now string
	created            bool
	err                error
	done               chan struct{}
}

// maxBatch bounds the claims one transaction saves.
const maxBatch = 256

// claimWriter saves claims until Close: each transaction takes every
// claim waiting when it begins, and all of them are on disk (or all
// failed) when their Claims return.
func (s *DB) claimWriter() {
	defer close(s.written)
	var batch []*claimReq
	for r := range s.claims {
		batch = append(batch[:0], r)
	gather:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-s.claims:
				if !ok {
					break gather
				}
				batch = append(batch, r)
			default:
				break gather
			}
		}
		err := s.write(func(tx *sql.Tx) error {
			st := tx.Stmt(s.claimQ)
			for _, r := range batch {
				res, err := st.Exec(r.name, r.fp, r.key, r.now, r.now)
				if err != nil {
					return err
				}
				n, _ := res.RowsAffected()
				r.created = n == 1
			}
			return nil
		})
		for _, r := range batch {
			if err != nil {
				r.created, r.err = false, err // rolled back: none of them is saved
			}
			close(r.done)
		}
		clear(batch)
	}
}

// Release frees name, reporting whether it was bound.
func (s *DB) Release(name string) (bool, error) {
	var res sql.Result
	var err error
	if err := s.run(func() { res, err = s.w.Exec("DELETE FROM names WHERE name = ?", name) }); err != nil {
		return false, err
	}
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	delete(s.seen, name)
	s.mu.Unlock()
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// Seen notes that name's owner was here now; Flush writes it.
func (s *DB) Seen(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen[name] = s.now()
}

// Flush writes the last-seen times noted since the last flush, in one
// transaction. A name released meanwhile stays released.
func (s *DB) Flush() error {
	s.mu.Lock()
	seen := s.seen
	s.seen = make(map[string]time.Time)
	s.mu.Unlock()
	if len(seen) == 0 {
		return nil
	}
	err := s.write(func(tx *sql.Tx) error {
		st, err := tx.Prepare("UPDATE names SET last_seen = ?1 WHERE name = ?2 AND last_seen < ?1")
		if err != nil {
			return err
		}
		defer st.Close()
		for name, t := range seen {
			if _, err := st.Exec(stamp(t), name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil { // keep them for the next try
		s.mu.Lock()
		for name, t := range seen {
			if u, ok := s.seen[name]; !ok || t.After(u) {
				s.seen[name] = t
			}
		}
		s.mu.Unlock()
	}
	return err
}

func (s *DB) write(fn func(*sql.Tx) error) error {
	tx, err := s.w.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// List is every binding, by name.
func (s *DB) List() ([]Binding, error) {
	rows, err := s.r.Query("SELECT name, fingerprint, key, first_seen, last_seen FROM names ORDER BY name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Binding
	for rows.Next() {
		var name, fp, key, first, last string
		if err := rows.Scan(&name, &fp, &key, &first, &last); err != nil {
			return nil, err
		}
		b, err := s.binding(name, fp, key, first, last)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// Expire releases the names not seen since before, a batch at a time so
// that a join waits for one small transaction at most, and forgets bans
// that have run out. It says how many names it released.
func (s *DB) Expire(ctx context.Context, before time.Time) (int, error) {
	if err := s.Flush(); err != nil {
		return 0, err
	}
	now := s.now()
	s.bansMu.Lock()
	_, err := s.w.ExecContext(ctx, "DELETE FROM bans WHERE until != '' AND until <= ?", stamp(now))
	if err == nil {
		s.bans = slices.DeleteFunc(s.bans, func(b Ban) bool { return !b.InForce(now) })
	}
	s.bansMu.Unlock()
	if err != nil {
		return 0, err
	}
	total := 0
	for {
		res, err := s.w.ExecContext(ctx, `DELETE FROM names WHERE name IN
			(SELECT name FROM names WHERE last_seen < ? LIMIT 500)`, stamp(before))
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += int(n)
		if n < 500 {
			return total, nil
		}
	}
}

// Ban records a ban.
func (s *DB) Ban(b Ban) error {
	until := ""
	if !b.Until.IsZero() {
		until = stamp(b.Until)
	}
	s.bansMu.Lock()
	defer s.bansMu.Unlock()
	_, err := s.w.Exec("INSERT INTO bans (fingerprint, addr, until, banned_by, name, reason) VALUES (?, ?, ?, ?, ?, ?)",
		b.Fingerprint, b.Addr, until, b.By, b.Name, b.Reason)
	if err == nil {
		b.Until, _ = unstamp(until) // as it will read back: to the second, in UTC
		s.bans = append(s.bans, b)
	}
	return err
}

// Unban lifts the bans that match what (a name, a fingerprint or an
// address) and reports how many there were.
func (s *DB) Unban(what string) (int, error) {
	s.bansMu.Lock()
	defer s.bansMu.Unlock()
	res, err := s.w.Exec("DELETE FROM bans WHERE name = ?1 OR fingerprint = ?1 OR addr = ?1", what)
	if err != nil {
		return 0, err
	}
	s.bans = slices.DeleteFunc(s.bans, func(b Ban) bool { return b.Matches(what) })
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Bans lists the bans in force, oldest first.
func (s *DB) Bans() ([]Ban, error) {
	return s.bansWhere(func(Ban) bool { return true }), nil
}

// Banned lists the bans in force on fingerprint (if not empty) or addr.
func (s *DB) Banned(fingerprint, addr string) ([]Ban, error) {
	return s.bansWhere(func(b Ban) bool { return b.On(fingerprint, addr) }), nil
}

// bansWhere is the bans in force that match, oldest first.
func (s *DB) bansWhere(match func(Ban) bool) []Ban {
	now := s.now()
	s.bansMu.RLock()
	defer s.bansMu.RUnlock()
	var out []Ban
	for _, b := range s.bans {
		if b.InForce(now) && match(b) {
			out = append(out, b)
		}
	}
	return out
}

const bansQuery = "SELECT fingerprint, addr, until, banned_by, name, reason FROM bans "

func scanBans(rows *sql.Rows, err error) ([]Ban, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Ban
	for rows.Next() {
		var b Ban
		var until string
		if err := rows.Scan(&b.Fingerprint, &b.Addr, &until, &b.By, &b.Name, &b.Reason); err != nil {
			return nil, err
		}
		if b.Until, err = unstamp(until); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// Ignores is whom the key with fingerprint owner ignores, in the order added.
func (s *DB) Ignores(owner string) (list []Ignore, err error) {
	s.ignMu.Lock()
	some := s.ignorers[owner]
	s.ignMu.Unlock()
	if !some {
		return nil, nil
	}
	if err := s.run(func() { list, err = s.ignores(owner) }); err != nil {
		return nil, err
	}
	return list, err
}

func (s *DB) ignores(owner string) ([]Ignore, error) {
	rows, err := s.ignoresQ.Query(owner)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Ignore
	for rows.Next() {
		var ig Ignore
		if err := rows.Scan(&ig.Fingerprint, &ig.Name, &ig.Addr); err != nil {
			return nil, err
		}
		out = append(out, ig)
	}
	return out, rows.Err()
}

// SetIgnores replaces whom owner ignores with list, in one transaction.
func (s *DB) SetIgnores(owner string, list []Ignore) (err error) {
	if err := s.run(func() { err = s.setIgnores(owner, list) }); err != nil {
		return err
	}
	return err
}

func (s *DB) setIgnores(owner string, list []Ignore) error {
	// Marked first, so that a join meanwhile reads the file; unmarked only
	// once an empty list is saved.
	s.ignMu.Lock()
	s.ignorers[owner] = true
	s.ignMu.Unlock()
	err := s.saveIgnores(owner, list)
	if err == nil && len(list) == 0 {
		s.ignMu.Lock()
		delete(s.ignorers, owner)
		s.ignMu.Unlock()
	}
	return err
}

func (s *DB) saveIgnores(owner string, list []Ignore) error {
	tx, err := s.w.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec("DELETE FROM ignores WHERE owner = ?", owner); err != nil {
		return err
	}
	for _, ig := range list {
		if _, err := tx.Exec("INSERT OR IGNORE INTO ignores (owner, fingerprint, name, addr) VALUES (?, ?, ?, ?)",
			owner, ig.Fingerprint, ig.Name, ig.Addr); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// scanIgnorers reads the owners of ignore lists.
func scanIgnorers(rows *sql.Rows, err error) (map[string]bool, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	owners := make(map[string]bool)
	for rows.Next() {
		var owner string
		if err := rows.Scan(&owner); err != nil {
			return nil, err
		}
		owners[owner] = true
	}
	return owners, rows.Err()
}
