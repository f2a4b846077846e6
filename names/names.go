// Package names says who owns which name and who is banned: the first key
// to join with a name owns it. Stores implement Store; DB keeps them in an
// SQLite database in the data directory.
package names

import (
	"context"
	"errors"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// ErrOwned is returned when a name belongs to another key.
var ErrOwned = errors.New("belongs to another key")

// Store is who owns which name and who is banned. Its methods are safe for
// concurrent use; lookups (Owner, Banned) are on every login's path and
// must stay cheap. An error means the store could not answer; callers
// fail closed.
type Store interface {
	// Claim gives name to key if no key owns it yet, has it saved before
	// it returns, and reports whether it did; for the owner it notes that
	// they were seen. A name owned by another key is ErrOwned. A claim
	// that fails leaves nothing behind.
	Claim(name string, key gossh.PublicKey) (bool, error)
	// Owner is the binding of name, if it is bound.
	Owner(name string) (Binding, bool, error)
	// Seen notes that name's owner was here now; it is saved in batches.
	Seen(name string)
	// Release frees name, reporting whether it was bound.
	Release(name string) (bool, error)
	// List is every binding, by name.
	List() ([]Binding, error)
	// Expire releases the names not seen since before, and forgets the
	// bans that have run out, without holding up claims for long.
	Expire(ctx context.Context, before time.Time) (int, error)
	// Ban records a ban.
	Ban(b Ban) error
	// Unban lifts the bans matching what (a name, a fingerprint or an
	// address) and says how many there were.
	Unban(what string) (int, error)
	// Bans lists the bans in force.
	Bans() ([]Ban, error)
	// Banned lists the bans in force that name fingerprint (if not empty)
	// or addr; what each ban covers is the caller's policy.
	Banned(fingerprint, addr string) ([]Ban, error)
	// Ignores is whom the key with fingerprint owner ignores.
	Ignores(owner string) ([]Ignore, error)
	// SetIgnores replaces whom owner ignores.
	SetIgnores(owner string, list []Ignore) error
	// Flush saves what is kept in batches (last-seen times).
	Flush() error
	// Close flushes and lets go of the store.
	Close() error
}

// Ignore is someone a key-holder ignores: a key, with the name it had, or a
// guest by name and address.
type Ignore struct {
	Fingerprint string // "" for a guest
	Name        string
	Addr        string // a guest's address (IPv4, or an IPv6 /64)
}

// Binding says a name belongs to a key.
type Binding struct {
	Name        string
	Fingerprint string
	Key         gossh.PublicKey
	FirstSeen   time.Time
	LastSeen    time.Time
}

// Ban keeps a key or an address out until a time (zero: for ever). A ban
// on a key also holds the address the key was banned from, if it was
// online then.
type Ban struct {
	Fingerprint string // a key's, or "" for a ban on an address alone
	Addr        string // an address (IPv4, or an IPv6 /64), or ""
	Until       time.Time
	By          string // the moderator who banned
	Name        string // the name the person had
	Reason      string
}

// InForce reports whether the ban holds at now.
func (b Ban) InForce(now time.Time) bool { return b.Until.IsZero() || b.Until.After(now) }

// On reports whether the ban names fingerprint (if not empty) or addr (if
// not empty): what Store.Banned lists.
func (b Ban) On(fingerprint, addr string) bool {
	return fingerprint != "" && b.Fingerprint == fingerprint || addr != "" && b.Addr == addr
}

// Matches reports whether what (a name, a fingerprint or an address) is
// one of the ban's: what Store.Unban lifts.
func (b Ban) Matches(what string) bool {
	return b.Name == what || b.Fingerprint == what || b.Addr == what
}

// Files in the data directory.
const (
	DBFile    = "names.db" // the store
	NamesFile = "names"    // which key owns which name, in versions before the database
	BansFile  = "bans"     // who may not come in, ditto
)
