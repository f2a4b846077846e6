// Package tui is chatroom's terminal interface: one person's chat screen,
// from the bytes they type to the bytes their terminal draws. It knows no
// SSH: a session is a terminal (input, output, size) plus the room and a
// Directory of who people are.
package tui

import (
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"chatroom/internal/reason"
	"chatroom/room"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
)

// Size is a terminal's size in cells (the same type as sshd.Size).
type Size = struct{ Width, Height int }

// Options are what one chat session needs.
type Options struct {
	// Room is the chat; Directory says who people are and lets them in.
	Room      room.Broker
	Directory Directory
	// Name is the name the person asked for; the join screen offers
	// another if it cannot be theirs.
	Name string
	// The terminal: what is typed, where the screen goes, its size, and
	// its environment (TERM, COLORTERM) for colours.
	In   io.Reader
	Out  io.Writer
	Size Size
	Env  []string
	// Resize, if set, is called once, with the function to call with each
	// later size (sshd.Session.OnResize).
	Resize func(func(Size))
	// Stop, if set, ends the session from outside it.
	Stop   *Stopper
	Log    *slog.Logger
	Limits Limits
	// Delivered, if set, is told how long after it was sent each message
	// reached the terminal.
	Delivered func(time.Duration)
}

// Limits bound what one session's input may cost. Zero fields take the
// defaults in DefaultLimits.
type Limits struct {
	// InputRate and InputBurst bound the bytes of input a session may send
	// (a token bucket); input past them is dropped, and four times the rate
	// for five seconds ends the session.
	InputRate, InputBurst int
	// PasteMax is the largest bracketed paste; a larger one is dropped.
	PasteMax int
	// LookupEvery spaces the commands that cost the server the most to
	// answer (/who, /whois, /banned) for one person.
	LookupEvery time.Duration
	// MaxIgnores bounds one person's /ignore list.
	MaxIgnores int
}

// DefaultLimits are the limits a zero Limits takes.
var DefaultLimits = Limits{InputRate: 8 << 10, InputBurst: 64 << 10, PasteMax: 64 << 10, LookupEvery: 3 * time.Second, MaxIgnores: 100}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	l.InputRate = cmp.Or(l.InputRate, d.InputRate)
	l.InputBurst = cmp.Or(l.InputBurst, d.InputBurst)
	l.PasteMax = cmp.Or(l.PasteMax, d.PasteMax)
	l.LookupEvery = cmp.Or(l.LookupEvery, d.LookupEvery)
	l.MaxIgnores = cmp.Or(l.MaxIgnores, d.MaxIgnores)
	return l
}

// Stop is why the server ends a session, and the line the person is left with.
type Stop struct {
	Why  reason.Reason
	Text string
}

// endMsg ends the session: why, for the log and metrics (0 when the person
// left), and the line left on the terminal.
type endMsg struct {
	why  reason.Reason
	text string
}

// Run runs one chat session on a terminal until the person leaves, the
// room lets them go, or ctx ends. It leaves the terminal as it found it,
// with one line saying why the session ended, and returns why: 0 when the
// person left, else the reason the session was ended.
func Run(ctx context.Context, o Options) reason.Reason {
	o.Limits = o.Limits.withDefaults()
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	// The program ends when the person leaves or the connection drops; the
	// pump and the program's own goroutines end with ctx.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var p *tea.Program
	th := themeFor(colorprofile.Env(o.Env))
	lineMode := isDumb(o.Env)
	m := newModel(modelOptions{lineMode: lineMode,
		room: o.Room, dir: o.Directory, theme: th, out: o.Out, log: o.Log,
		size: o.Size, inputMax: o.Limits.PasteMax, lookupEvery: o.Limits.LookupEvery, maxIgnores: o.Limits.MaxIgnores, delivered: o.Delivered,
		// With the renderer off and no input, Bubble Tea's frame ticker is
		// all it still runs while idle. Releasing the terminal stops it;
		// the event loop carries on.
		release: func() tea.Msg { _ = p.ReleaseTerminal(); return nil },
	})
	// Leave when the session ends, however it ends: the program may end
	// while the connection stays open (a person who quits), and the
	// connection may be gone before the program starts.
	defer func() {
		if m.member != nil {
			m.member.Leave()
		}
	}()
	m.start(o.Name)
	p = tea.NewProgram(m,
		tea.WithContext(ctx),
		tea.WithInput(nil),         // the pump parses input (reader.go)
		tea.WithOutput(io.Discard), // the model draws the screen itself
		tea.WithoutRenderer(),
		tea.WithoutSignalHandler(), // the server owns the process's signals
		tea.WithEnvironment(o.Env),
		tea.WithColorProfile(th.profile),
		tea.WithFPS(1),
	)
	on, off := modesOn+mouseOn+askMargins, modesOff
	if lineMode {
		on, off = "", "\r\n"
	}
	// The modes go out with the first screen, in its write: one packet
	// fewer for every person who connects.
	m.frame.WriteString(on)
	// consumed has room for the one signal the reader waits for, so the pump
	// never blocks on it, even when the reader has gone.
	consumed := make(chan struct{}, 1)
	pm := &pump{
		p: p, m: m, log: o.Log, joined: m.joined, stopper: o.Stop, room: o.Room,
		consumed: consumed, own: make(chan struct{}, 1),
		parser:  newInputParser(o.Limits.PasteMax),
		limiter: newInputLimiter(o.Limits.InputRate, o.Limits.InputBurst),
		rate:    o.Limits.InputRate,
		now:     time.Now,
	}
	pm.evbuf = pm.evarr[:0]
	m.wakePump = pm.wake
	m.send = p.Send
	go func() {
		defer recoverSession(o.Log, cancel)
		readInput(ctx, o.In, pm, consumed)
	}()
	if o.Resize != nil {
		o.Resize(pm.resize)
	}
	pumpDone := make(chan struct{})
	go func() {
		defer close(pumpDone)
		defer recoverSession(o.Log, cancel)
		pm.run(ctx)
	}()
	_, err := p.Run()
	cancel()
	<-pumpDone

	switch {
	case errors.Is(err, tea.ErrProgramPanic):
		o.Log.Error("session crashed", "err", err) // Bubble Tea printed the panic
		m.why, m.goodbye = reason.Crash, reason.Crash.Text()
	case m.goodbye == "":
		m.goodbye = "Connection closed."
	}
	if m.member != nil {
		o.Log.Info("left", "name", m.name, "why", m.why)
	}
	// Give the terminal back as it was, with one line saying why we stopped.
	_, _ = io.WriteString(o.Out, off+m.goodbye+"\r\n")
	return m.why
}

// readInput passes the session's input to the pump a chunk at a time,
// waiting for each to be taken so that a flood is held back by SSH flow
// control rather than by memory. It ends when the session does.
func readInput(ctx context.Context, r io.Reader, pm *pump, consumed <-chan struct{}) {
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			b := buf[:n]
			pm.post(func() { pm.input(b) })
			select {
			case <-consumed:
			case <-ctx.Done():
				return
			}
		}
		if err != nil {
			pm.post(pm.inputClosed)
			return
		}
	}
}

// resize takes the terminal's new size. A storm of them is one message to
// the program, with the latest: they are folded here until the pump runs.
func (pm *pump) resize(sz Size) {
	pm.mu.Lock()
	folded := pm.size != nil
	pm.size = &sz
	pm.mu.Unlock()
	if !folded {
		pm.post(pm.resized)
	}
}

// resized sends the program the latest size.
func (pm *pump) resized() {
	pm.mu.Lock()
	sz := pm.size
	pm.size = nil
	pm.mu.Unlock()
	if sz != nil {
		pm.p.Send(resizeMsg(*sz))
	}
}

// Stopper ends a session from outside it, wherever it is (the join screen
// too), with a reason and the line left on the terminal: for a ban, say.
// The first Stop wins. The zero value is ready to use.
type Stopper struct {
	mu   sync.Mutex
	stop *Stop
	wake func()
}

// Stop ends the session with st, unless it was stopped already.
func (s *Stopper) Stop(st Stop) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop != nil {
		return
	}
	s.stop = &st
	if s.wake != nil {
		s.wake()
	}
}

// stopped is the Stop given, if any.
func (s *Stopper) stopped() *Stop {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stop
}

// watch calls wake on Stop, and now if the session was stopped already.
func (s *Stopper) watch(wake func()) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wake = wake
	if s.stop != nil {
		wake()
	}
}

// pump is the session's one goroutine for everything that happens outside
// the program. Input, window changes and the session's end it sends into
// the program (it is the only goroutine that calls p.Send, and it holds no
// lock while doing so). What the room sends, a whole batch at a time, and
// news of who came and went, it draws itself, under the model's lock.
//
// It waits on one channel, whatever it waits for: a wait on several (a
// select) runs for every message to every session and cost a tenth of the
// server's time. Before the person joins that channel is the pump's own;
// from then on it is the member's Ready, and whoever has something else
// for the pump (input, a window change, a timer, the end) posts it and
// nudges the member.
type pump struct {
	p        *tea.Program
	m        *model // drawn to directly with what the room sends
	ended    bool   // the model could not draw: the program was told to end
	stopSent bool   // the program was told of the Stopper's stop
	log      *slog.Logger
	joined   <-chan joinedMsg
	stopper  *Stopper
	consumed chan<- struct{}
	parser   *inputParser
	limiter  *inputLimiter
	rate     int // input bytes a second
	now      func() time.Time
	dropping bool // input is being dropped; the user was told
	esc      *time.Timer
	escAt    time.Time // when a lone ESC is due, if the parser holds one

	mu     sync.Mutex
	posted []func() // in order; nil ends the pump
	via    room.Member
	own    chan struct{}
	todo   []func() // posted, being run; reused
	size   *Size    // the latest size, not yet sent to the program

	// Who came and went: the snapshot last drawn, and a timer that draws
	// what gathered newsEvery after the member first had news.
	room      room.Broker
	member    room.Member
	out       bool // the member is out of the room
	seen      *room.Presence
	news      *time.Timer
	gathering bool
	unwatch   func()         // set while the room's crowd watch is to tell of the quiet (whenQuiet)
	crowdGap  time.Duration  // gathers for this long, at least, while a crowd comes or goes
	gathered  time.Time      // when this gathering began
	evbuf     []*room.Event  // taken events, reused from batch to batch
	evarr     [4]*room.Event // where evbuf starts: beside the rest, not apart
}

// joinedMsg tells the pump whom to follow: the member, and who was online
// when it joined, from which news is counted.
type joinedMsg struct {
	member room.Member
	online *room.Presence
}

// post has the pump run f (nil: end) and wakes it. Safe from any goroutine.
func (pm *pump) post(f func()) {
	pm.mu.Lock()
	pm.posted = append(pm.posted, f)
	via := pm.via
	pm.mu.Unlock()
	if via != nil {
		via.Nudge()
	} else {
		pm.wake()
	}
}

// wake wakes the pump through its own channel: before it follows a member.
func (pm *pump) wake() {
	select {
	case pm.own <- struct{}{}:
	default:
	}
}

// wakeVia makes mem (nil: the pump's own channel) what wakes the pump, and
// returns the channel to wait on.
func (pm *pump) wakeVia(mem room.Member) <-chan struct{} {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	pm.via = mem
	if mem == nil {
		return pm.own
	}
	return mem.Ready()
}

func (pm *pump) run(ctx context.Context) {
	defer context.AfterFunc(ctx, func() { pm.post(nil) })()
	pm.esc = time.AfterFunc(time.Hour, func() { pm.post(pm.escDue) })
	pm.esc.Stop()
	defer pm.esc.Stop()
	pm.news = time.AfterFunc(time.Hour, func() { pm.post(pm.newsDue) })
	pm.news.Stop()
	defer pm.news.Stop()
	pm.stopper.watch(func() { pm.post(pm.stopDue) })
	defer func() {
		if pm.unwatch != nil {
			pm.unwatch()
		}
	}()
	wait := pm.wakeVia(nil)
	for {
		if pm.member == nil {
			select {
			case j := <-pm.joined:
				pm.member, pm.seen = j.member, j.online
				wait = pm.wakeVia(j.member)
				pm.sendNews()
			default:
			}
		}
		if pm.member != nil && !pm.out && pm.ready() {
			pm.out = true
			wait = pm.wakeVia(nil)
		}
		if !pm.runPosted() {
			return
		}
		<-wait
	}
}

// runPosted runs what was posted, in order; false if the pump is to end.
func (pm *pump) runPosted() bool {
	pm.mu.Lock()
	pm.todo, pm.posted = pm.posted, pm.todo[:0]
	pm.mu.Unlock()
	for i, f := range pm.todo {
		if f == nil {
			return false
		}
		f()
		pm.todo[i] = nil
	}
	return true
}

// input applies a chunk of what the person typed.
func (pm *pump) input(b []byte) {
	now := pm.now()
	flood := pm.limiter.received(len(b), now)
	msgs, err := pm.parser.feed(b, false)
	pm.consumed <- struct{}{}
	pm.deliver(msgs, now)
	switch {
	case flood:
		pm.p.Send(endMsg{reason.InputFlood, reason.InputFlood.Text(4 * pm.rate >> 10)})
	case err != nil:
		pm.p.Send(endMsg{reason.PasteFlood, reason.PasteFlood.Text()})
	}
	if pm.parser.pending() {
		pm.escAt = time.Now().Add(escTimeout)
		pm.esc.Reset(escTimeout)
	}
}

// inputClosed ends the session whose client closed its input.
func (pm *pump) inputClosed() { pm.p.Send(endMsg{text: goodbyeText}) }

// escDue takes a lone ESC as the key, once no more of a sequence came.
func (pm *pump) escDue() {
	if !pm.parser.pending() || time.Now().Before(pm.escAt) {
		return // taken by later input, or the timer was set again
	}
	msgs, _ := pm.parser.feed(nil, true)
	pm.deliver(msgs, pm.now())
}

// newsDue draws the news gathered, or holds it while a crowd still comes
// or goes (holdNews): until the room's watch finds it quiet, or maxHold.
func (pm *pump) newsDue() {
	if !pm.gathering {
		return // drawn already: the watch and the timer both told of it
	}
	if !pm.out && pm.crowdGap > 0 {
		now := pm.now()
		if held := now.Sub(pm.gathered); holdNews(now.Sub(pm.room.Online().Changed()), held) {
			pm.news.Reset(maxHold - held)
			if pm.unwatch == nil {
				pm.unwatch = whenQuiet(pm.room, pm.now, func() { pm.post(pm.quietDue) })
			}
			return
		}
	}
	pm.gathering = false
	pm.news.Stop()
	if !pm.out {
		pm.sendNews()
	}
}

// quietDue draws the news held in a crowd, now that the room is quiet.
func (pm *pump) quietDue() {
	pm.unwatch = nil
	pm.newsDue()
}

// stopDue tells the program of the Stopper's stop, once.
func (pm *pump) stopDue() {
	if st := pm.stopper.stopped(); st != nil && !pm.stopSent {
		pm.stopSent = true
		pm.p.Send(endMsg{st.Why, st.Text})
	}
}

// ready draws what the room sent and starts gathering news if someone came
// or went; it reports whether the member is out of the room, and if so
// ends the session.
func (pm *pump) ready() (out bool) {
	pm.takeEvents()
	if pm.member.Out() { // Ready tells of it too
		pm.left()
		return true
	}
	if !pm.gathering && pm.member.HasNews() {
		// Someone came or went: gather for a moment, so that a crowd
		// arriving is one line and a few wake-ups.
		pm.gathering = true
		pm.gathered = pm.now()
		pm.news.Reset(max(newsEvery(pm.seen.Len()), pm.crowdGap))
	}
	return false
}

// takeEvents draws the events waiting for the member, in one batch.
func (pm *pump) takeEvents() {
	pm.evbuf = pm.member.Take(pm.evbuf[:0])
	if len(pm.evbuf) > 0 {
		pm.draw(eventsMsg(pm.evbuf))
	}
	clear(pm.evbuf) // the events are shared: hold none of them here
	if cap(pm.evbuf) != len(pm.evarr) {
		clear(pm.evarr[:]) // outgrown: it still holds what it held then
	}
	if cap(pm.evbuf) > 256 {
		pm.evbuf = pm.evarr[:0] // a long backlog does not pin its buffer
	}
}

// presenceEvery is how long a session gathers news of who came and went
// before drawing it: when hundreds of people connect at once, each session
// draws their notices, merged into a line, a few times a second rather
// than once per arrival.
const presenceEvery = 250 * time.Millisecond

// newsEvery is how long a session in a room of online people gathers news:
// presenceEvery below 500 people, then as much for each 250 (1 s at
// 1,000), up to 2 s. Every arrival is news for everyone, so in a big room a crowd
// arriving (a reconnect storm) would otherwise have every session draw
// four times a second: 20,000 draws a second at 5,000, which cost more
// than the arrivals themselves. (At 1,000, drawing every 500 ms rather
// than every second took a tenth of the server's time while everyone
// connected.)
func newsEvery(online int) time.Duration {
	return min(presenceEvery*time.Duration(max(1, online/250)), maxNewsEvery)
}

// A crowd is this many people coming and going in one gathering: while
// one arrives (a reconnect storm), each session gathers for twice as long
// as the last time, up to maxNewsEvery, then holds it while the crowd
// lasts (holdNews), and is back to newsEvery once it has passed. Each draw
// of news is a write to every session: a storm of 1,000 people drew eight
// times in each early arrival's first three seconds.
const (
	crowd        = 20
	maxNewsEvery = 2 * time.Second
)

// left ends the session whose member is out of the room.
func (pm *pump) left() {
	pm.takeEvents()
	pm.news.Stop()
	if pm.stopper.stopped() != nil {
		// The server ended the session and took it out of the room (a
		// ban): its reason, rather than the room's.
		pm.stopDue()
		return
	}
	pm.p.Send(endOf(pm.member.Err()))
}

// sendNews draws who came and went since the last news.
func (pm *pump) sendNews() {
	pm.member.NewsRead() // first: a change from now on wakes us again
	n := pm.room.News(pm.seen)
	if n.Online != pm.seen {
		pm.seen = n.Online
		pm.draw(newsMsg(n))
	}
	pm.crowdGap = crowdGap(pm.crowdGap, pm.seen.Len(), n.JoinedN+n.LeftN)
}

// crowdGap is how long to gather news at least, after news of changes
// people came or went in a room of online, when the last gathering took
// last (0: newsEvery).
func crowdGap(last time.Duration, online, changes int) time.Duration {
	if changes < crowd {
		return 0
	}
	return min(2*max(last, newsEvery(online)), maxNewsEvery)
}

// draw hands msg to the model and draws, here rather than through the
// program: a message to a thousand sessions is a thousand writes, and each
// hand-off between goroutines on the way costs as much as the write.
func (pm *pump) draw(msg tea.Msg) {
	if !pm.m.deliver(msg) && !pm.ended {
		pm.ended = true
		pm.p.Send(endMsg{text: "Connection closed."})
	}
}

// deliver sends input to the program within the input rate; what is over it
// is dropped, and the user is told once.
func (pm *pump) deliver(msgs []inputMsg, now time.Time) {
	var batch inputBatch
	for _, in := range msgs {
		if !pm.limiter.allow(in.size, now) {
			if !pm.dropping {
				pm.dropping = true
				batch = append(batch, inputDroppedMsg{rate: pm.rate})
			}
			continue
		}
		pm.dropping = false
		batch = append(batch, in.msg)
	}
	if len(batch) > 0 {
		pm.p.Send(batch)
	}
}

// inputDroppedMsg says input came faster than the rate and some was dropped.
type inputDroppedMsg struct{ rate int }

// endOf is how a session ends when the room let its member go.
func endOf(err error) endMsg {
	var kicked *room.KickedError
	switch {
	case errors.As(err, &kicked):
		return endMsg{text: "You were " + kicked.Reason + "."}
	case errors.Is(err, room.ErrTakenOver):
		return endMsg{text: "You signed in from elsewhere; this session is closed."}
	case err != nil:
		return endMsg{text: err.Error()}
	}
	return endMsg{text: goodbyeText}
}

// recoverSession is the one recover of a session's own goroutines (the
// input reader and the pump): a panic there, which no middleware would
// see, is logged and ends the session; the server carries on. Update has
// its own, which keeps the model.
func recoverSession(log *slog.Logger, cancel context.CancelFunc) {
	if r := recover(); r != nil {
		log.Error("panic in session", "panic", r, "stack", string(debug.Stack()))
		cancel()
	}
}
