package cluster

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"chatroom/keys"
	"chatroom/names"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	gossh "golang.org/x/crypto/ssh"
)

// The buckets of the cluster's names.Store.
const (
	namesBucket   = "chatroom_names"
	bansBucket    = "chatroom_bans"
	ignoresBucket = "chatroom_ignores"
)

// Names is a names.Store on JetStream KV, shared by every node: the first
// key to claim a name anywhere owns it everywhere (create-if-absent), and
// a ban made on one node holds on all. Bans are mirrored in memory by a
// watch, so the check on every login costs no round trip.
type Names struct {
	names, bans, ignores jetstream.KeyValue
	now                  func() time.Time
	stop                 context.CancelFunc // ends the watch
	wctx                 context.Context
	watching             sync.WaitGroup
	watchMu              sync.Mutex
	watcher              jetstream.KeyWatcher
	conn                 *nats.Conn // the link
	ownConn              bool       // DialNames made it: Close closes it

	mu   sync.Mutex
	seen map[string]time.Time // last-seen times not yet written

	bansMu sync.RWMutex
	banned map[string]banRecord // by bucket key
	onBan  atomic.Pointer[func(names.Ban)]
}

// OnBan has f told of each ban that reaches this node from another, so
// that it closes the sessions the ban covers here.
func (s *Names) OnBan(f func(names.Ban)) { s.onBan.Store(&f) }

// record is a binding in the bucket.
type record struct {
	Fingerprint string `json:"fp"`
	Key         string `json:"key"` // authorized_keys format
	First       int64  `json:"first"`
	Last        int64  `json:"last"`
}

type banRecord struct {
	names.Ban
	Made int64 `json:"made"` // for the order of Bans
}

// DialNames connects to NATS and opens the cluster's names, for a command
// that needs no node (chatroom names --nats). Close closes the connection.
func DialNames(link Link, replicas int) (*Names, error) {
	nc, err := nats.Connect(link.URLs, append(link.options(), nats.Name("chatroom names"))...)
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	js, err := jetstream.New(nc)
	if err == nil {
		var s *Names
		if s, err = OpenNames(js, replicas); err == nil {
			s.ownConn = true
			return s, nil
		}
	}
	nc.Close()
	return nil, err
}

// OpenNames opens (making them if need be) the buckets on js.
func OpenNames(js jetstream.JetStream, replicas int) (*Names, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bucket := func(name, what string) (jetstream.KeyValue, error) {
		kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: name, Description: "chatroom: " + what,
			History: 1, Replicas: max(replicas, 1), Storage: jetstream.FileStorage})
		if err != nil {
			return nil, fmt.Errorf("nats: the %s bucket: %w", name, err)
		}
		return kv, nil
	}
	s := &Names{now: time.Now, seen: make(map[string]time.Time), banned: make(map[string]banRecord),
		conn: js.Conn()}
	var err error
	if s.names, err = bucket(namesBucket, "which key owns which name"); err != nil {
		return nil, err
	}
	if s.bans, err = bucket(bansBucket, "bans"); err != nil {
		return nil, err
	}
	if s.ignores, err = bucket(ignoresBucket, "whom each key ignores"); err != nil {
		return nil, err
	}
	var wctx context.Context
	wctx, s.stop = context.WithCancel(context.Background())
	s.wctx = wctx
	if err := s.watch(ctx, true); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// Rewatch watches the bans anew, after the link came back: a ban made
// meanwhile on another node closes the sessions it covers here, and one
// lifted meanwhile is forgotten.
func (s *Names) Rewatch() {
	ctx, cancel := ctx5()
	defer cancel()
	_ = s.watch(ctx, false)
}

// watch starts a watch of the bans, stopping the one before, and returns
// once it has read the bucket as it is. At the start (first), the bans it
// reads are not news.
func (s *Names) watch(ctx context.Context, first bool) error {
	w, err := s.bans.WatchAll(s.wctx)
	if err != nil {
		return fmt.Errorf("nats: watching the bans: %w", err)
	}
	s.watchMu.Lock()
	old := s.watcher
	s.watcher = w
	s.watchMu.Unlock()
	if old != nil {
		_ = old.Stop()
	}
	ready := make(chan struct{})
	s.watching.Add(1)
	go s.watchBans(w, ready, first)
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		return errors.New("nats: the bans bucket did not answer")
	}
}

func (s *Names) watchBans(w jetstream.KeyWatcher, ready chan struct{}, first bool) {
	defer s.watching.Done()
	defer w.Stop()
	present := make(map[string]bool) // during the first read
	for {
		var kv jetstream.KeyValueEntry
		select {
		case <-s.wctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			kv = e
		}
		if kv == nil {
			if ready != nil {
				s.bansMu.Lock()
				for k := range s.banned {
					if !present[k] {
						delete(s.banned, k) // lifted while not watching
					}
				}
				s.bansMu.Unlock()
				present = nil
				close(ready)
				ready = nil
			}
			continue
		}
		if present != nil {
			present[kv.Key()] = true
		}
		s.bansMu.Lock()
		var b banRecord
		fresh := false
		if kv.Operation() == jetstream.KeyValuePut && json.Unmarshal(kv.Value(), &b) == nil {
			_, known := s.banned[kv.Key()]
			fresh = !known && !(first && ready != nil) // not one of those in force at the start
			s.banned[kv.Key()] = b
		} else {
			delete(s.banned, kv.Key())
		}
		s.bansMu.Unlock()
		if f := s.onBan.Load(); fresh && f != nil && b.InForce(s.now()) {
			(*f)(b.Ban)
		}
	}
}

func ctx5() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Second)
}

// Claim gives name to key if no key owns it anywhere.
func (s *Names) Claim(name string, key gossh.PublicKey) (bool, error) {
	ctx, cancel := ctx5()
	defer cancel()
	now := s.now().Unix()
	fp := keys.Fingerprint(key)
	val, _ := json.Marshal(record{Fingerprint: fp, Key: keys.AuthorizedLine(key), First: now, Last: now})
	_, err := s.names.Create(ctx, nameKey(name), val)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return false, err
	}
	b, ok, err := s.Owner(name)
	switch {
	case err != nil:
		return false, err
	case !ok: // released a moment ago: try once more
		if _, err := s.names.Create(ctx, nameKey(name), val); err != nil {
			return false, err
		}
		return true, nil
	case b.Fingerprint != fp:
		return false, names.ErrOwned
	}
	s.Seen(name)
	return false, nil
}

// Owner is the binding of name, if it is bound.
func (s *Names) Owner(name string) (names.Binding, bool, error) {
	ctx, cancel := ctx5()
	defer cancel()
	kv, err := s.names.Get(ctx, nameKey(name))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return names.Binding{}, false, nil
	}
	if err != nil {
		return names.Binding{}, false, err
	}
	b, err := s.binding(name, kv.Value())
	return b, err == nil, err
}

func (s *Names) binding(name string, value []byte) (names.Binding, error) {
	var r record
	if err := json.Unmarshal(value, &r); err != nil {
		return names.Binding{}, fmt.Errorf("the binding of %q: %w", name, err)
	}
	k, _, _, _, err := gossh.ParseAuthorizedKey([]byte(r.Key))
	if err != nil {
		return names.Binding{}, fmt.Errorf("the binding of %q: %w", name, err)
	}
	last := time.Unix(r.Last, 0).UTC()
	s.mu.Lock()
	if t, ok := s.seen[name]; ok && t.After(last) {
		last = t.UTC().Truncate(time.Second)
	}
	s.mu.Unlock()
	return names.Binding{Name: name, Fingerprint: r.Fingerprint, Key: k, FirstSeen: time.Unix(r.First, 0).UTC(), LastSeen: last}, nil
}

// Seen notes that name's owner was here now; Flush writes it.
func (s *Names) Seen(name string) {
	s.mu.Lock()
	s.seen[name] = s.now()
	s.mu.Unlock()
}

// Flush writes the last-seen times noted since the last flush. A name
// released meanwhile stays released.
func (s *Names) Flush() error {
	s.mu.Lock()
	seen := s.seen
	s.seen = make(map[string]time.Time)
	s.mu.Unlock()
	// However many there are, a flush takes 10 s at most: past that, or
	// once NATS stops answering, the rest wait for the next one.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	if !s.conn.IsConnected() {
		cancel() // keep them all for the next flush
		errs = append(errs, errors.New("nats: not connected; last-seen times kept for later"))
	}
	for name, t := range seen {
		if ctx.Err() != nil {
			s.mu.Lock()
			if later, ok := s.seen[name]; !ok || later.Before(t) {
				s.seen[name] = t
			}
			s.mu.Unlock()
			continue
		}
		kv, err := s.names.Get(ctx, nameKey(name))
		if err == nil {
			var r record
			if json.Unmarshal(kv.Value(), &r) == nil && t.Unix() > r.Last {
				r.Last = t.Unix()
				val, _ := json.Marshal(r)
				_, err = s.names.Update(ctx, nameKey(name), val, kv.Revision())
			}
		}
		if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			if len(errs) == 0 {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
			cancel() // NATS is not answering: keep the rest for later
		}
	}
	return errors.Join(errs...)
}

// Release frees name, reporting whether it was bound.
func (s *Names) Release(name string) (bool, error) {
	ctx, cancel := ctx5()
	defer cancel()
	if _, err := s.names.Get(ctx, nameKey(name)); errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if err := s.names.Delete(ctx, nameKey(name)); err != nil {
		return false, err
	}
	s.mu.Lock()
	delete(s.seen, name)
	s.mu.Unlock()
	return true, nil
}

// List is every binding, by name.
func (s *Names) List() ([]names.Binding, error) {
	var out []names.Binding
	err := s.scan(func(b names.Binding, _ uint64) { out = append(out, b) })
	slices.SortFunc(out, func(a, b names.Binding) int { return strings.Compare(a.Name, b.Name) })
	return out, err
}

// scan reads every binding, with its revision, in one watch.
func (s *Names) scan(each func(b names.Binding, rev uint64)) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := s.names.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return err
	}
	defer w.Stop()
	for kv := range w.Updates() {
		if kv == nil {
			return nil
		}
		name, ok := keyName(kv.Key())
		if !ok {
			continue
		}
		b, err := s.binding(name, kv.Value())
		if err != nil {
			return err
		}
		each(b, kv.Revision())
	}
	return errors.New("nats: reading the names took too long")
}

// Expire releases the names not seen since before, and forgets the bans
// that have run out. Every node does it; a name claimed or seen since it
// was read keeps its newer revision and stays.
func (s *Names) Expire(ctx context.Context, before time.Time) (int, error) {
	if err := s.Flush(); err != nil {
		return 0, err
	}
	now := s.now()
	s.bansMu.RLock()
	var over []string
	for k, b := range s.banned {
		if !b.InForce(now) {
			over = append(over, k)
		}
	}
	s.bansMu.RUnlock()
	for _, k := range over {
		if err := s.bans.Delete(ctx, k); err != nil {
			return 0, err
		}
	}
	type old struct {
		name string
		rev  uint64
	}
	var unused []old
	err := s.scan(func(b names.Binding, rev uint64) {
		if b.LastSeen.Before(before) {
			unused = append(unused, old{b.Name, rev})
		}
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range unused {
		err := s.names.Delete(ctx, nameKey(u.name), jetstream.LastRevision(u.rev))
		switch {
		case err == nil:
			n++
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch), errors.Is(err, jetstream.ErrKeyExists):
		default:
			return n, err
		}
	}
	return n, nil
}

// Ban records a ban; every node's mirror has it within a moment, this
// node's at once.
func (s *Names) Ban(b names.Ban) error {
	if !b.Until.IsZero() {
		b.Until = b.Until.UTC().Truncate(time.Second)
	}
	rec := banRecord{Ban: b, Made: s.now().UnixNano()}
	val, _ := json.Marshal(rec)
	key := newID()
	ctx, cancel := ctx5()
	defer cancel()
	if _, err := s.bans.Put(ctx, key, val); err != nil {
		return err
	}
	s.bansMu.Lock()
	s.banned[key] = rec
	s.bansMu.Unlock()
	return nil
}

// Unban lifts the bans matching what (a name, a fingerprint or an address).
func (s *Names) Unban(what string) (int, error) {
	s.bansMu.RLock()
	var match []string
	for k, b := range s.banned {
		if b.Matches(what) {
			match = append(match, k)
		}
	}
	s.bansMu.RUnlock()
	ctx, cancel := ctx5()
	defer cancel()
	for _, k := range match {
		if err := s.bans.Delete(ctx, k); err != nil {
			return 0, err
		}
		s.bansMu.Lock()
		delete(s.banned, k)
		s.bansMu.Unlock()
	}
	return len(match), nil
}

// Bans lists the bans in force, oldest first.
func (s *Names) Bans() ([]names.Ban, error) {
	return s.bansWhere(func(names.Ban) bool { return true }), nil
}

// Banned lists the bans in force on fingerprint (if not empty) or addr.
func (s *Names) Banned(fingerprint, addr string) ([]names.Ban, error) {
	return s.bansWhere(func(b names.Ban) bool { return b.On(fingerprint, addr) }), nil
}

func (s *Names) bansWhere(match func(names.Ban) bool) []names.Ban {
	now := s.now()
	s.bansMu.RLock()
	var recs []banRecord
	for _, b := range s.banned {
		if b.InForce(now) && match(b.Ban) {
			recs = append(recs, b)
		}
	}
	s.bansMu.RUnlock()
	slices.SortFunc(recs, func(a, b banRecord) int { return cmp.Compare(a.Made, b.Made) })
	out := make([]names.Ban, len(recs))
	for i, r := range recs {
		out[i] = r.Ban
	}
	return out
}

// A fingerprint ("SHA256:..." with + and /) is a key in base64url.
func ownerKey(fp string) string { return base64.RawURLEncoding.EncodeToString([]byte(fp)) }

// Ignores is whom the key with fingerprint owner ignores.
func (s *Names) Ignores(owner string) ([]names.Ignore, error) {
	ctx, cancel := ctx5()
	defer cancel()
	kv, err := s.ignores.Get(ctx, ownerKey(owner))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var list []names.Ignore
	return list, json.Unmarshal(kv.Value(), &list)
}

// SetIgnores replaces whom owner ignores.
func (s *Names) SetIgnores(owner string, list []names.Ignore) error {
	ctx, cancel := ctx5()
	defer cancel()
	if len(list) == 0 {
		err := s.ignores.Delete(ctx, ownerKey(owner))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil
		}
		return err
	}
	val, _ := json.Marshal(list)
	_, err := s.ignores.Put(ctx, ownerKey(owner), val)
	return err
}

// Close flushes and stops watching the bans.
func (s *Names) Close() error {
	err := s.Flush()
	s.stop()
	s.watching.Wait()
	if s.ownConn {
		s.conn.Close()
	}
	return err
}

// Empty reports whether no name is bound in the cluster yet.
func (s *Names) Empty() (bool, error) {
	ctx, cancel := ctx5()
	defer cancel()
	st, err := s.names.Status(ctx)
	if err != nil {
		return false, err
	}
	return st.Values() == 0, nil
}

// Import copies a node's own store into the cluster's: its bindings (a
// name already bound in the cluster stays as it is) and its bans.
func (s *Names) Import(from names.Store) (int, error) {
	list, err := from.List()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, b := range list {
		val, _ := json.Marshal(record{Fingerprint: b.Fingerprint, Key: keys.AuthorizedLine(b.Key), First: b.FirstSeen.Unix(), Last: b.LastSeen.Unix()})
		ctx, cancel := ctx5()
		_, err := s.names.Create(ctx, nameKey(b.Name), val)
		cancel()
		switch {
		case err == nil:
			n++
		case !errors.Is(err, jetstream.ErrKeyExists):
			return n, err
		}
	}
	bans, err := from.Bans()
	if err != nil {
		return n, err
	}
	for _, b := range bans {
		if err := s.Ban(b); err != nil {
			return n, err
		}
	}
	return n, nil
}

var _ names.Store = (*Names)(nil)
