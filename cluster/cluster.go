// Package cluster lets several chatroom nodes serve one room on NATS. Each
// node keeps its own members in a room.Room; what is shared lives in
// JetStream:
//
//   - who is online where: a KV bucket, one key a name, claimed with
//     create-if-absent, so that exactly one of two joins of a name wins
//     across the cluster; every node watches it to list everyone;
//   - the main room: a stream that puts every message, and every kick's
//     notice, in one order, which every node reads back and delivers;
//   - which nodes are alive: a heartbeat a second on a plain subject.
//     Names held by a node silent for DeadAfter are released by the others.
//
// What concerns one person alone (an invitation, an answer, a private
// message, a chat's end) goes on a plain subject to their node only. The
// names store (Names) keeps bindings, bans and ignores in KV buckets.
package cluster

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"chatroom/internal/clean"
	"chatroom/room"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The names of what the nodes share in NATS.
const (
	onlineBucket = "chatroom_online"
	roomStream   = "CHATROOM_ROOM"
	roomSubject  = "chatroom.room"
	beatSubject  = "chatroom.nodes"
	nodeSubject  = "chatroom.node." // + a node's id: what concerns its members alone
)

// Link is how to reach NATS.
type Link struct {
	// URLs are the NATS servers, comma-separated (nats://, or tls:// for
	// TLS, which the servers may also ask for themselves).
	URLs string
	// Creds is a NATS credentials file, if the servers want one.
	Creds string
	// CA is a PEM file of the authorities that sign the servers'
	// certificates, if not the system's; Cert and Key are this node's
	// own, if the servers want clients to show one.
	CA, Cert, Key string
}

// options are the connection options the link needs.
func (l Link) options() []nats.Option {
	var opts []nats.Option
	if l.Creds != "" {
		opts = append(opts, nats.UserCredentials(l.Creds))
	}
	if l.CA != "" {
		opts = append(opts, nats.RootCAs(l.CA))
	}
	if l.Cert != "" || l.Key != "" {
		opts = append(opts, nats.ClientCert(l.Cert, l.Key))
	}
	return opts
}

// Config is what a node needs.
type Config struct {
	Link
	// Name is this node's name, shown to moderators (default: host name).
	Name string
	// Replicas is how many NATS servers keep each bucket and the room's
	// stream (default 1; 3 on a cluster of three or more survives losing one).
	Replicas int
	// Room configures this node's part of the room (Relay and Gone are the
	// node's own).
	Room room.Options
	// Heartbeat is how often the node says it is alive (default 1 s), and
	// DeadAfter how long a silent node keeps its names (default 6 s).
	Heartbeat, DeadAfter time.Duration
	// Log receives what happens to the link.
	Log *slog.Logger

	// NATS are more connection options (tests use them).
	NATS []nats.Option
}

// Node is one chatroom process's place in the cluster. It is a
// room.Broker.
type Node struct {
	cfg     Config
	id      string // unique to this run of this node
	log     *slog.Logger
	nc      *nats.Conn
	js      jetstream.JetStream
	online  jetstream.KeyValue
	room    *room.Room
	up      atomic.Bool
	started time.Time
	ctx     context.Context
	stop    context.CancelFunc
	done    sync.WaitGroup
	claims  [64]sync.Mutex // a name's joins on this node, one at a time

	mu        sync.Mutex
	entries   map[string]entry     // the online bucket, as last watched
	mine      map[string]uint64    // revisions of the names this node holds
	seen      map[string]time.Time // last heartbeat of each node
	gone      []gone               // names to release, for the releaser
	backHooks []func()             // called when the link comes back
	wake      chan struct{}

	relayed atomic.Pointer[func(time.Duration)]
	lastSeq atomic.Uint64 // of the room's stream, delivered here
	ccMu    sync.Mutex
	cc      jetstream.ConsumeContext
	watchMu sync.Mutex
	watcher jetstream.KeyWatcher

	outMu  sync.Mutex
	outbox []routed // events for other nodes, in order
	outNew chan struct{}
}

// routed is an event for someone on another node.
type routed struct {
	node string
	ev   *room.Event
}

// entry is who holds a name, as the online bucket has it.
type entry struct {
	ID       string  `json:"id,omitempty"` // the key's fingerprint; "" for a guest
	Node     string  `json:"node"`
	NodeName string  `json:"node_name,omitempty"`
	Away     *string `json:"away,omitempty"` // why, while they are away
	rev      uint64
}

type gone struct {
	name string
	rev  uint64
}

// Start connects to NATS, makes the bucket and the stream if they are not
// there, and starts watching them. It returns once the node knows who is
// online.
func Start(cfg Config) (*Node, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = time.Second
	}
	if cfg.DeadAfter <= 0 {
		cfg.DeadAfter = 6 * cfg.Heartbeat
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	n := &Node{cfg: cfg, id: newID(), log: cfg.Log, started: time.Now(),
		entries: make(map[string]entry), mine: make(map[string]uint64),
		seen: make(map[string]time.Time), wake: make(chan struct{}, 1),
		outNew: make(chan struct{}, 1)}
	n.ctx, n.stop = context.WithCancel(context.Background())
	ropts := cfg.Room
	ropts.Relay, ropts.Gone, ropts.Route = n.relay, n.leaving, n.route
	ropts.FirstID = firstID()
	n.room = room.New(ropts)

	opts := append([]nats.Option{
		nats.Name("chatroom " + cfg.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { n.lost(err) }),
		nats.ReconnectHandler(func(*nats.Conn) { n.back() }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { n.log.Warn("nats", "err", err) }),
	}, cfg.NATS...)
	nc, err := nats.Connect(cfg.URLs, append(opts, cfg.options()...)...)
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	n.nc = nc
	if err := n.setUp(); err != nil {
		n.stop()
		nc.Close()
		return nil, err
	}
	n.up.Store(true)
	return n, nil
}

// firstID is where this node's invitation and chat numbers start: a random
// point in 2^62, so that two nodes' runs of numbers never meet.
func firstID() uint64 {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return binary.BigEndian.Uint64(b) >> 2
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (n *Node) setUp() error {
	js, err := jetstream.New(n.nc)
	if err != nil {
		return err
	}
	n.js = js
	ctx, cancel := context.WithTimeout(n.ctx, 10*time.Second)
	defer cancel()
	if err := n.ensure(ctx); err != nil {
		return err
	}

	if _, err := n.nc.Subscribe(nodeSubject+n.id, n.arrived); err != nil {
		return err
	}
	n.done.Add(1)
	go n.send()

	// Heartbeats first, so that no node is thought dead for our silence.
	if _, err := n.nc.Subscribe(beatSubject, n.heard); err != nil {
		return err
	}
	n.beat()

	if err := n.watchOnline(ctx); err != nil {
		return err
	}

	if err := n.consume(ctx); err != nil {
		return err
	}
	n.done.Add(2)
	go func() {
		defer n.done.Done()
		<-n.ctx.Done()
		n.ccMu.Lock()
		n.cc.Stop()
		n.ccMu.Unlock()
	}()
	go n.tick()
	return nil
}

// consume reads the room's stream from after the last message delivered
// here (from now, the first time), replacing the reader it had: after the
// link comes back, a fresh reader resumes at once where the old one might
// wait out its heartbeats.
func (n *Node) consume(ctx context.Context) error {
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy}
	if last := n.lastSeq.Load(); last > 0 {
		cfg = jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: last + 1}
	}
	cons, err := n.js.OrderedConsumer(ctx, roomStream, cfg)
	if err != nil {
		return fmt.Errorf("nats: reading the room's stream: %w", err)
	}
	cc, err := cons.Consume(n.delivered, jetstream.PullHeartbeat(time.Second))
	if err != nil {
		return fmt.Errorf("nats: reading the room's stream: %w", err)
	}
	n.ccMu.Lock()
	old := n.cc
	n.cc = cc
	n.ccMu.Unlock()
	if old != nil {
		old.Stop()
	}
	return nil
}

// ensure makes the bucket and the stream if they are not there. They are
// kept on disk: a NATS server that restarts still has them.
func (n *Node) ensure(ctx context.Context) error {
	var err error
	n.online, err = n.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: onlineBucket, Description: "chatroom: who is online, on which node",
		History: 1, Replicas: n.cfg.Replicas, Storage: jetstream.FileStorage,
	})
	if err != nil {
		return fmt.Errorf("nats: the online bucket: %w", err)
	}
	if _, err := n.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: roomStream, Description: "chatroom: the main room, in one order",
		Subjects: []string{roomSubject}, MaxAge: time.Hour, MaxMsgs: 10000,
		Replicas: n.cfg.Replicas, Storage: jetstream.FileStorage,
	}); err != nil {
		return fmt.Errorf("nats: the room's stream: %w", err)
	}
	return nil
}

// Close takes this node's members out (their names are released) and
// leaves the cluster.
func (n *Node) Close(reason string) {
	n.room.Close(reason)
	// A moment to release its people's names; past it the others do.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	n.release(ctx)
	cancel()
	n.stop()
	n.done.Wait()
	n.nc.Close()
}

// JetStream is the node's link to JetStream, for its names store.
func (n *Node) JetStream() jetstream.JetStream { return n.js }

// Room is this node's part of the room.
func (n *Node) Room() *room.Room { return n.room }

// ID is this run of this node's id in the cluster.
func (n *Node) ID() string { return n.id }

// Up reports whether the node is linked to the cluster.
func (n *Node) Up() bool { return n.up.Load() }

// Locate says where name is; it is the room.Locator of a cluster.
func (n *Node) Locate(name string) (room.Location, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	e, ok := n.entries[name]
	if !ok {
		return room.Location{}, false
	}
	return room.Location{Node: cmp.Or(e.NodeName, e.Node), Here: e.Node == n.id, ID: e.ID, Away: e.Away}, true
}

// SetAway puts name's away reason (nil: back) in its entry, for every node
// to show.
func (n *Node) SetAway(name string, away bool, why string) {
	var reason *string
	if away {
		reason = &why
	}
	n.mu.Lock()
	rev, ok := n.mine[name]
	n.mu.Unlock()
	if !ok || !n.up.Load() {
		return
	}
	id, _ := n.room.IDOf(name)
	val, _ := json.Marshal(entry{ID: id, Node: n.id, NodeName: n.cfg.Name, Away: reason})
	ctx, cancel := context.WithTimeout(n.ctx, 5*time.Second)
	defer cancel()
	rev, err := n.online.Update(ctx, nameKey(name), val, rev)
	if err != nil {
		n.log.Warn("nats: marking someone away", "name", name, "err", err)
		return
	}
	n.mu.Lock()
	if _, still := n.mine[name]; still {
		n.mine[name] = rev
	}
	n.mu.Unlock()
}

// OnReconnect has f called each time the link comes back (the names
// store watches its bans anew).
func (n *Node) OnReconnect(f func()) {
	n.mu.Lock()
	n.backHooks = append(n.backHooks, f)
	n.mu.Unlock()
}

func (n *Node) onBack() []func() {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.backHooks)
}

// OnRelay has f told how long each main-room message took from its
// sending (on any node) to its arrival here, for metrics.
func (n *Node) OnRelay(f func(time.Duration)) { n.relayed.Store(&f) }

// Members counts the people online, by node name.
func (n *Node) Members() map[string]int {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make(map[string]int)
	for _, e := range n.entries {
		out[cmp.Or(e.NodeName, e.Node)]++
	}
	return out
}

// Online is who is online on every node.
func (n *Node) Online() *room.Presence { return n.room.Online() }

// News is who came and went on every node since a snapshot.
func (n *Node) News(since *room.Presence) room.News { return n.room.News(since) }

// Kick removes name wherever they are; everyone sees why.
func (n *Node) Kick(name, reason string) bool { return n.room.Kick(name, reason) }

var seed = maphash.MakeSeed()

// Join claims name across the cluster, then joins this node's room. Of
// several joins of one name anywhere, exactly one wins; the same key on
// another node takes that session's place.
func (n *Node) Join(name, id string) (room.Member, error) {
	if err := room.ValidateName(name); err != nil {
		return nil, err
	}
	if !n.up.Load() {
		return nil, &room.UnreachableError{Why: "this server lost its link to the others"}
	}
	lock := &n.claims[maphash.String(seed, name)%uint64(len(n.claims))]
	lock.Lock()
	defer lock.Unlock()
	ctx, cancel := context.WithTimeout(n.ctx, 5*time.Second)
	defer cancel()
	key := nameKey(name)
	val, _ := json.Marshal(entry{ID: id, Node: n.id, NodeName: n.cfg.Name})
	// A claim can lose a race with a release of the same name (its
	// earlier session leaving, in a reconnect storm): then it tries again.
	for range 3 {
		rev, err := n.online.Create(ctx, key, val)
		switch {
		case err == nil:
			return n.joinHere(ctx, name, id, rev)
		case !errors.Is(err, jetstream.ErrKeyExists):
			return nil, n.failed(err)
		}
		kv, err := n.online.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			continue // released a moment ago
		case err != nil:
			return nil, n.failed(err)
		}
		var held entry
		_ = json.Unmarshal(kv.Value(), &held)
		same := id != "" && subtle.ConstantTimeCompare([]byte(held.ID), []byte(id)) == 1
		switch {
		case held.Node == n.id:
			// Ours: whoever holds it here keeps it unless this is the same
			// key (a takeover); a session gone but not yet released
			// holds nothing.
			if hereID, here := n.room.IDOf(name); here && (id == "" || subtle.ConstantTimeCompare([]byte(hereID), []byte(id)) != 1) {
				return nil, room.ErrNameTaken
			}
		case same:
			// The same key on another node: its node sees the name move
			// here and lets that session go, as on one node.
			n.room.AddRemote(name, held.ID, held.Node) // the watch may not have it yet
		default:
			return nil, room.ErrNameTaken
		}
		rev, err = n.online.Update(ctx, key, val, kv.Revision())
		switch {
		case err == nil:
			return n.joinHere(ctx, name, id, rev)
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch), errors.Is(err, jetstream.ErrKeyNotFound):
			continue
		default:
			return nil, n.failed(err)
		}
	}
	return nil, errRace
}

// joinHere joins this node's room under the claim at rev, or lets the
// claim go if the room refuses.
func (n *Node) joinHere(ctx context.Context, name, id string, rev uint64) (room.Member, error) {
	m, err := n.room.Join(name, id)
	if err != nil {
		_ = n.online.Delete(ctx, nameKey(name), jetstream.LastRevision(rev))
		return nil, err
	}
	n.hold(name, rev)
	return m, nil
}

// errRace refuses a join that lost a race for its name on another node.
var errRace = fmt.Errorf("%w (by a moment)", room.ErrNameTaken)

func (n *Node) failed(err error) error {
	n.log.Warn("nats: claiming a name", "err", err)
	return &room.UnreachableError{Why: "the cluster did not answer"}
}

func (n *Node) hold(name string, rev uint64) {
	n.mu.Lock()
	n.mine[name] = rev
	n.mu.Unlock()
}

// leaving is the room's Gone: the name is released by the releaser, at
// the revision this node claimed (a claim made since, here or on another
// node, stays).
func (n *Node) leaving(name string) {
	n.mu.Lock()
	if rev, ok := n.mine[name]; ok {
		delete(n.mine, name)
		n.gone = append(n.gone, gone{name, rev})
	}
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// release deletes the names of members who left.
func (n *Node) release(ctx context.Context) {
	n.mu.Lock()
	list := n.gone
	n.gone = nil
	n.mu.Unlock()
	for i, g := range list {
		if !n.up.Load() || ctx.Err() != nil {
			// Cut off, or out of time: the other nodes release these
			// names when this node falls silent, or this node claims
			// them anew when its link is back.
			n.log.Warn("nats: names left to release", "count", len(list)-i)
			return
		}
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := n.online.Delete(c, nameKey(g.name), jetstream.LastRevision(g.rev)); err != nil &&
			!errors.Is(err, jetstream.ErrKeyRevisionMismatch) && !errors.Is(err, jetstream.ErrKeyExists) {
			n.log.Warn("nats: releasing a name", "name", g.name, "err", err)
		}
		cancel()
	}
}

// watchOnline starts watching the online bucket, replacing the watch it
// had (after the link comes back, a fresh watch is sure where the old one
// might have stalled), and returns once it has read the bucket as it is.
func (n *Node) watchOnline(ctx context.Context) error {
	w, err := n.online.WatchAll(n.ctx)
	if err != nil {
		return fmt.Errorf("nats: watching the online bucket: %w", err)
	}
	n.watchMu.Lock()
	old := n.watcher
	n.watcher = w
	n.watchMu.Unlock()
	if old != nil {
		_ = old.Stop()
	}
	ready := make(chan struct{})
	n.done.Add(1)
	go n.watch(w, ready)
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		return errors.New("nats: the online bucket did not answer")
	}
}

// watch keeps the room's list of people on other nodes as the bucket says.
// It begins with every key the bucket holds; once they are read, a name
// this node still lists that the bucket no longer has went while the
// node was not watching.
func (n *Node) watch(w jetstream.KeyWatcher, ready chan struct{}) {
	defer n.done.Done()
	defer w.Stop()
	present := make(map[string]bool) // during the first read
	for {
		var kv jetstream.KeyValueEntry
		var ok bool
		select {
		case <-n.ctx.Done():
			return
		case kv, ok = <-w.Updates():
			if !ok {
				return
			}
		}
		if kv == nil {
			if ready != nil {
				n.forgetAllBut(present)
				present = nil
				close(ready)
				ready = nil
			}
			continue
		}
		name, ok := keyName(kv.Key())
		if !ok {
			continue
		}
		if present != nil && kv.Operation() == jetstream.KeyValuePut {
			present[name] = true
		}
		switch kv.Operation() {
		case jetstream.KeyValuePut:
			var e entry
			if json.Unmarshal(kv.Value(), &e) != nil {
				continue
			}
			e.rev = kv.Revision()
			if e.Away != nil {
				why := clean.Line(*e.Away, 100)
				e.Away = &why
			}
			n.mu.Lock()
			n.entries[name] = e
			n.mu.Unlock()
			if e.Node != n.id {
				n.room.AddRemote(name, e.ID, e.Node)
			}
		default:
			n.forget(name)
			n.mu.Lock()
			_, mine := n.mine[name]
			n.mu.Unlock()
			if mine {
				// Another node released the name of someone still here:
				// it thought this node gone (cut off a moment ago, its
				// heartbeats not heard yet), perhaps after this node
				// reclaimed its names. Put it back.
				n.done.Add(1)
				go func() {
					defer n.done.Done()
					n.reclaimOne(name)
				}()
			}
		}
	}
}

// forget takes name, gone from the bucket, off the list if it was
// another node's.
func (n *Node) forget(name string) {
	n.mu.Lock()
	old, had := n.entries[name]
	delete(n.entries, name)
	n.mu.Unlock()
	if had && old.Node != n.id {
		n.room.RemoveRemote(name, old.Node)
	}
}

// forgetAllBut forgets the names not in present.
func (n *Node) forgetAllBut(present map[string]bool) {
	n.mu.Lock()
	var gone []string
	for name := range n.entries {
		if !present[name] {
			gone = append(gone, name)
		}
	}
	n.mu.Unlock()
	for _, name := range gone {
		n.forget(name)
	}
}

// heartbeat is what a node says every Heartbeat.
type heartbeat struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

func (n *Node) beat() {
	b, _ := json.Marshal(heartbeat{ID: n.id, Name: n.cfg.Name})
	_ = n.nc.Publish(beatSubject, b)
}

func (n *Node) heard(msg *nats.Msg) {
	var hb heartbeat
	if json.Unmarshal(msg.Data, &hb) != nil || hb.ID == "" {
		return
	}
	n.mu.Lock()
	n.seen[hb.ID] = time.Now()
	n.mu.Unlock()
}

// tick beats, releases names whose members left, and sweeps the names of
// nodes gone silent.
func (n *Node) tick() {
	defer n.done.Done()
	t := time.NewTicker(n.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-n.wake:
			n.release(n.ctx)
		case <-t.C:
			if !n.up.Load() {
				continue
			}
			n.beat()
			n.release(n.ctx)
			n.sweep()
		}
	}
}

// sweep releases the names held by nodes not heard from for DeadAfter.
// Every live node does it; the revision makes it safe.
func (n *Node) sweep() {
	now := time.Now()
	if now.Sub(n.started) < n.cfg.DeadAfter {
		return // every live node has had time to be heard
	}
	type stale struct {
		name string
		rev  uint64
	}
	var dead []stale
	n.mu.Lock()
	for id, t := range n.seen {
		if now.Sub(t) > 10*n.cfg.DeadAfter {
			delete(n.seen, id) // a node long gone (each run has an id of its own)
		}
	}
	for name, e := range n.entries {
		if e.Node != n.id && now.Sub(n.seen[e.Node]) > n.cfg.DeadAfter {
			dead = append(dead, stale{name, e.rev})
		}
	}
	n.mu.Unlock()
	for _, s := range dead {
		ctx, cancel := context.WithTimeout(n.ctx, 5*time.Second)
		err := n.online.Delete(ctx, nameKey(s.name), jetstream.LastRevision(s.rev))
		cancel()
		if err == nil {
			n.log.Info("released the name of a silent node", "name", s.name)
		}
	}
}

// The link to NATS.

func (n *Node) lost(err error) {
	if n.ctx.Err() != nil || !n.up.Swap(false) {
		return // closing, or already told
	}
	n.log.Warn("nats: lost the link to the cluster", "err", err)
	n.room.Notice("This server lost its link to the rest of the room: messages cannot be sent until it is back.")
}

func (n *Node) back() {
	n.log.Info("nats: the link to the cluster is back")
	ctx, cancel := context.WithTimeout(n.ctx, 10*time.Second)
	if err := n.consume(ctx); err != nil {
		n.log.Warn("nats: reading the room's stream again", "err", err)
	}
	if err := n.watchOnline(ctx); err != nil {
		n.log.Warn("nats: watching the online bucket again", "err", err)
	}
	for _, f := range n.onBack() {
		f()
	}
	cancel()
	n.reclaim()
	n.up.Store(true)
	n.room.Notice("This server is linked to the rest of the room again.")
}

// reclaim puts this node's members back in the online bucket after the
// link came back: the others may have released them meanwhile. A name
// someone else took meanwhile is theirs; the watch removes ours.
func (n *Node) reclaim() {
	n.mu.Lock()
	held := make(map[string]uint64, len(n.mine))
	for name, rev := range n.mine {
		held[name] = rev
	}
	n.mu.Unlock()
	for name := range held {
		n.reclaimOne(name)
	}
}

// reclaimOne puts name, one of this node's members, back in the online
// bucket if it is not there. If they left meanwhile, the claim is let go.
func (n *Node) reclaimOne(name string) {
	ctx, cancel := context.WithTimeout(n.ctx, 5*time.Second)
	defer cancel()
	kv, err := n.online.Get(ctx, nameKey(name))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		id, _ := n.room.IDOf(name)
		val, _ := json.Marshal(entry{ID: id, Node: n.id, NodeName: n.cfg.Name})
		rev, err := n.online.Create(ctx, nameKey(name), val)
		if err != nil {
			return
		}
		n.mu.Lock()
		_, still := n.mine[name]
		if still {
			n.mine[name] = rev
		}
		n.mu.Unlock()
		if !still {
			_ = n.online.Delete(ctx, nameKey(name), jetstream.LastRevision(rev))
		}
	} else if err == nil {
		var e entry
		if json.Unmarshal(kv.Value(), &e) == nil && e.Node != n.id {
			n.room.AddRemote(name, e.ID, e.Node)
		}
	}
}

// The main room.

// wireEvent is an event on the wire.
type wireEvent struct {
	Kind     room.Kind `json:"k"`
	Time     int64     `json:"t"`
	From     string    `json:"f"`
	FromID   string    `json:"fid,omitempty"`
	To       string    `json:"to,omitempty"`
	Text     string    `json:"x,omitempty"`
	Reason   string    `json:"r,omitempty"`
	Invite   uint64    `json:"inv,omitempty"`
	Chat     uint64    `json:"chat,omitempty"`
	Accepted bool      `json:"acc,omitempty"`
	Action   bool      `json:"a,omitempty"`
	Until    int64     `json:"until,omitempty"`
}

func wire(ev *room.Event) []byte {
	w := wireEvent{Kind: ev.Kind, Time: ev.Time.UnixNano(), From: ev.From, FromID: ev.FromID, To: ev.To,
		Text: ev.Text, Reason: ev.Reason, Invite: uint64(ev.Invite), Chat: uint64(ev.Chat), Accepted: ev.Accepted, Action: ev.Action}
	if !ev.Until.IsZero() {
		w.Until = ev.Until.UnixNano()
	}
	b, _ := json.Marshal(w)
	return b
}

// unwire decodes an event from another node, cleaning it: room text is
// clean, and another node's word for it is not enough.
func (n *Node) unwire(data []byte) (*room.Event, bool) {
	var w wireEvent
	if json.Unmarshal(data, &w) != nil || room.ValidateName(w.From) != nil {
		return nil, false
	}
	if w.To != "" && room.ValidateName(w.To) != nil {
		return nil, false
	}
	text, err := n.cfg.Room.Text.Message(w.Text)
	if (w.Kind == room.Message || w.Kind == room.PrivateMessage) && err != nil {
		return nil, false
	}
	ev := &room.Event{Kind: w.Kind, Time: time.Unix(0, w.Time), From: w.From, FromID: clean.Line(w.FromID, 128), To: w.To,
		Text: text, Reason: clean.Line(w.Reason, 200), Invite: room.InviteID(w.Invite), Chat: room.ChatID(w.Chat),
		Accepted: w.Accepted, Action: w.Action}
	if w.Until != 0 {
		ev.Until = time.Unix(0, w.Until)
	}
	return ev, true
}

// relay is the room's Relay: the event goes into the stream, and comes
// back to every node (this one too) in the stream's order.
func (n *Node) relay(ev *room.Event) error {
	if !n.up.Load() {
		return &room.UnreachableError{Why: "this server lost its link to the others"}
	}
	b := wire(ev)
	ctx, cancel := context.WithTimeout(n.ctx, 5*time.Second)
	defer cancel()
	if _, err := n.js.Publish(ctx, roomSubject, b); err != nil {
		n.log.Warn("nats: publishing to the room", "err", err)
		return &room.UnreachableError{Why: "the cluster did not take the message"}
	}
	return nil
}

// delivered hands one event of the stream to this node's members.
func (n *Node) delivered(msg jetstream.Msg) {
	if md, err := msg.Metadata(); err == nil {
		// A reader made anew may start where the old one left off.
		if md.Sequence.Stream <= n.lastSeq.Load() {
			return
		}
		n.lastSeq.Store(md.Sequence.Stream)
	}
	if ev, ok := n.unwire(msg.Data()); ok && (ev.Kind == room.Message || ev.Kind == room.Left) {
		if f := n.relayed.Load(); f != nil && ev.Kind == room.Message {
			(*f)(time.Since(ev.Time))
		}
		n.room.Deliver(ev)
	}
}

// Private routing: what concerns one person goes to their node alone.

// route is the room's Route: called with the room's lock held, it only
// queues; send publishes, in order.
func (n *Node) route(node string, ev *room.Event) {
	n.outMu.Lock()
	n.outbox = append(n.outbox, routed{node, ev})
	n.outMu.Unlock()
	select {
	case n.outNew <- struct{}{}:
	default:
	}
}

func (n *Node) send() {
	defer n.done.Done()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-n.outNew:
		}
		n.outMu.Lock()
		list := n.outbox
		n.outbox = nil
		n.outMu.Unlock()
		for _, r := range list {
			// Core NATS: a node that is gone misses it, and its people
			// leave everywhere soon, which ends the chat anyway.
			_ = n.nc.Publish(nodeSubject+r.node, wire(r.ev))
		}
	}
}

func (n *Node) arrived(msg *nats.Msg) {
	switch ev, ok := n.unwire(msg.Data); {
	case !ok:
	case ev.Kind == room.Invited, ev.Kind == room.Answered, ev.Kind == room.InviteEnded,
		ev.Kind == room.ChatOpened, ev.Kind == room.PrivateMessage, ev.Kind == room.ChatClosed:
		n.room.Apply(ev)
	}
}

// Names are keys with each '.' as '=': NATS keys may not hold empty tokens
// ("a..b", "bob."), and names never hold '='.
func nameKey(name string) string { return strings.ReplaceAll(name, ".", "=") }

func keyName(key string) (string, bool) {
	name := strings.ReplaceAll(key, "=", ".")
	return name, room.ValidateName(name) == nil
}
