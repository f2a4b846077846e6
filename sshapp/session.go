package sshapp

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"runtime/debug"
	"time"

	"chatroom/keys"
	"chatroom/room"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"github.com/charmbracelet/colorprofile"
	gossh "golang.org/x/crypto/ssh"
)

// Terminal sizes are clamped before anything is sized by them.
const (
	maxWidth      = 400
	maxHeight     = 200
	defaultWidth  = 80
	defaultHeight = 24
)

// clampSize bounds a client's window: 0 means the default, and anything
// larger than a real screen is cut to the largest we draw.
func clampSize(w ssh.Window) (int, int) {
	clamp := func(v, def, most int) int {
		if v <= 0 {
			return def
		}
		return min(v, most)
	}
	return clamp(w.Width, defaultWidth, maxWidth), clamp(w.Height, defaultHeight, maxHeight)
}

// testHook, set only by tests, is called where a panic must be survived.
var testHook func(where string, v any)

// endMsg ends the session; why is the line left on the terminal.
type endMsg struct{ why string }

// handle runs one SSH session: the chat for a terminal, a one-line refusal
// for anything else.
func (s *Server) handle(sess ssh.Session) {
	s.sessions.Add(1)
	defer s.sessions.Done()
	log := s.log.With("remote", sess.RemoteAddr().String(), "user", room.CleanLine(sess.User(), 64))

	pty, winch, ok := sess.Pty()
	switch {
	case sess.RawCommand() != "":
		log.Info("refused", "why", "exec")
		s.obs.Refused("exec")
		refuse(sess, "chatroom: commands are not supported; run ssh without a command to join the chat")
		return
	case !ok:
		log.Info("refused", "why", "no terminal")
		s.obs.Refused("no_terminal")
		refuse(sess, "chatroom: a terminal is needed; run ssh without -T (add -t if it still fails)")
		return
	}
	select {
	case <-s.closing:
		s.obs.Refused("shutting_down")
		refuse(sess, "chatroom: the server is shutting down")
		return
	default:
	}
	if n := s.chats.Add(1); n > int64(s.limits.MaxSessions) {
		s.chats.Add(-1)
		log.Warn("refused", "why", "server full", "sessions", n-1)
		s.obs.Refused("server_full")
		refuse(sess, "chatroom: the server is full; try again later")
		return
	}
	defer s.chats.Add(-1)
	s.obs.Session(true)
	defer s.obs.Session(false)
	w := s.whoOf(sess)
	// What the client says of itself is cleaned before it reaches the log.
	log = log.With("key", keys.Fingerprint(w.key),
		"term", room.CleanLine(pty.Term, 64), "client", room.CleanLine(sess.Context().ClientVersion(), 64))
	if why, ok := s.banned(w); ok {
		log.Info("refused", "why", "banned")
		s.obs.Refused("banned")
		refuse(sess, why)
		return
	}
	if st := stateOf(sess.Context()); st != nil {
		st.chatting.Store(true)
	}

	env := append(sess.Environ(), "TERM="+pty.Term)
	th := themeFor(colorprofile.Env(env))
	width, height := clampSize(pty.Window)

	// The program ends when the user leaves or the connection drops; the
	// pump and the program's own goroutines end with ctx.
	ctx, cancel := context.WithCancel(sess.Context())
	defer cancel()

	out := newStallWriter(sess, s.limits.WriteTimeout, func() {
		log.Warn("closed", "why", "a write was stuck", "after", s.limits.WriteTimeout)
		s.obs.Closed("write_stall")
		closeConn(sess)
	})
	defer out.stop()
	joined := make(chan *room.Member, 1)
	m := newModel(s.room, th, out, log, joined, width, height, s.limits.PasteMax)
	m.delivered = s.obs.Delivered
	m.srv, m.who = s, w
	// Leave when the session ends, however it ends: the program may end
	// while the connection stays open (a user who quits), and the
	// connection may be gone before the program starts.
	defer func() {
		if m.member != nil {
			m.member.Leave()
			s.directory.remove(m.name, m.member)
			log.Info("left", "name", m.name, "why", m.goodbye)
		}
	}()
	m.start(sess.User())
	p := tea.NewProgram(m,
		tea.WithContext(ctx),
		tea.WithInput(nil),         // the pump parses input (reader.go)
		tea.WithOutput(io.Discard), // the model draws the screen itself
		tea.WithoutRenderer(),
		tea.WithoutSignalHandler(), // main owns the process's signals
		tea.WithEnvironment(env),
		tea.WithColorProfile(th.profile),
		tea.WithFPS(1),
	)
	// With the renderer off and no input, Bubble Tea's frame ticker is all
	// it still runs while idle. Releasing the terminal stops it; the event
	// loop carries on.
	m.release = func() tea.Msg { p.ReleaseTerminal(); return nil }

	if _, err := io.WriteString(out, modesOn+mouseOn); err != nil {
		m.goodbye = "Connection closed."
		return
	}
	if conn, ok := sess.Context().Value(ssh.ContextKeyConn).(gossh.Conn); ok {
		go func() {
			defer recoverSession(log, cancel)
			keepalive(ctx, conn, s.limits.KeepaliveInterval, s.limits.KeepaliveMax, log, s.obs)
		}()
	}
	// consumed has room for the one signal the reader waits for, so the pump
	// never blocks on it, even when the reader has gone.
	chunks, consumed := make(chan []byte), make(chan struct{}, 1)
	go func() {
		defer recoverSession(log, cancel)
		readInput(ctx, sess, chunks, consumed)
	}()
	pm := &pump{
		p: p, log: log, obs: s.obs, joined: joined, winch: winch, closing: s.closing,
		chunks: chunks, consumed: consumed,
		parser:  newInputParser(s.limits.PasteMax),
		limiter: newInputLimiter(s.limits.InputRate, s.limits.InputBurst),
		rate:    s.limits.InputRate,
		now:     time.Now,
	}
	pumpDone := make(chan struct{})
	go func() {
		defer close(pumpDone)
		defer recoverSession(log, cancel)
		pm.run(ctx)
	}()
	_, err := p.Run()
	cancel()
	<-pumpDone

	switch {
	case errors.Is(err, tea.ErrProgramPanic):
		log.Error("session crashed", "err", err) // Bubble Tea printed the panic
		s.obs.Closed("crash")
		m.goodbye = crashText
	case m.goodbye == "":
		m.goodbye = "Connection closed."
	}
	// Give the terminal back as it was, with one line saying why we stopped.
	_, _ = io.WriteString(out, modesOff+m.goodbye+"\r\n")
	_ = sess.Exit(0)
}

func refuse(sess ssh.Session, why string) {
	_, _ = io.WriteString(sess.Stderr(), why+"\r\n")
	_ = sess.Exit(1)
}

func closeConn(sess ssh.Session) {
	if c, ok := sess.Context().Value(ssh.ContextKeyConn).(gossh.Conn); ok {
		_ = c.Close()
	}
}

// readInput copies the session's input to the pump a chunk at a time,
// waiting for each to be taken so that a flood is held back by SSH flow
// control rather than by memory. It ends when the session does.
func readInput(ctx context.Context, r io.Reader, chunks chan<- []byte, consumed <-chan struct{}) {
	defer close(chunks)
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			select {
			case chunks <- buf[:n]:
			case <-ctx.Done():
				return
			}
			select {
			case <-consumed:
			case <-ctx.Done():
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// pump moves what happens outside the program into it: input, window
// changes, room events (a whole batch per message, so a burst costs one
// frame), removal from the room, and shutdown. It is the only goroutine that
// calls p.Send, and it never holds a lock while doing so.
type pump struct {
	p        *tea.Program
	log      *slog.Logger
	obs      Observer
	joined   <-chan *room.Member
	winch    <-chan ssh.Window
	closing  <-chan struct{}
	chunks   <-chan []byte
	consumed chan<- struct{}
	parser   *inputParser
	limiter  *inputLimiter
	rate     int // input bytes a second
	now      func() time.Time
	dropping bool // input is being dropped; the user was told

	held     []*room.Event // joins and leaves waiting for their frame
	hold     *time.Timer   // fires when they are due
	holding  bool
	lastSent time.Time // when room events were last sent
}

func (pm *pump) run(ctx context.Context) {
	var (
		member *room.Member
		ready  <-chan struct{}
		gone   <-chan struct{}
	)
	esc := time.NewTimer(time.Hour)
	esc.Stop()
	defer esc.Stop()
	pm.hold = time.NewTimer(time.Hour)
	pm.hold.Stop()
	defer pm.hold.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case b, ok := <-pm.chunks:
			if !ok {
				pm.p.Send(endMsg{goodbyeText}) // the client closed its input
				pm.chunks = nil
				continue
			}
			if testHook != nil {
				testHook("pump", b)
			}
			now := pm.now()
			flood := pm.limiter.received(len(b), now)
			msgs, err := pm.parser.feed(b, false)
			pm.consumed <- struct{}{}
			pm.deliver(msgs, now)
			switch {
			case flood:
				pm.log.Warn("closed", "why", "input flood")
				pm.obs.Closed("input_flood")
				pm.p.Send(endMsg{floodReason(pm.rate)})
			case err != nil:
				pm.log.Warn("closed", "why", "paste flood")
				pm.obs.Closed("paste_flood")
				pm.p.Send(endMsg{"Disconnected: a paste kept coming long after it was too big."})
			}
			if pm.parser.pending() {
				esc.Reset(escTimeout)
			}
		case <-esc.C:
			msgs, _ := pm.parser.feed(nil, true)
			pm.deliver(msgs, pm.now())
		case w, ok := <-pm.winch:
			if !ok {
				pm.winch = nil
				continue
			}
			// Coalesce a burst of resizes into the last one.
			for more := true; more; {
				select {
				case next, ok := <-pm.winch:
					if !ok {
						pm.winch, more = nil, false
					} else {
						w = next
					}
				default:
					more = false
				}
			}
			width, height := clampSize(w)
			pm.p.Send(resizeMsg{width, height})
		case member = <-pm.joined:
			ready, gone = member.Ready(), member.Done()
			pm.joined = nil
		case <-ready:
			pm.events(member.Take(nil), false)
		case <-pm.hold.C:
			pm.events(nil, true)
		case <-gone:
			pm.events(member.Take(nil), true)
			var kicked *room.KickedError
			why := goodbyeText
			switch err := member.Err(); {
			case errors.As(err, &kicked):
				why = "You were " + kicked.Reason + "."
			case errors.Is(err, room.ErrTakenOver):
				why = "You signed in from elsewhere; this session is closed."
			case err != nil:
				why = err.Error()
			}
			if errors.Is(member.Err(), room.ErrSlowConsumer) {
				pm.log.Warn("closed", "why", "too slow to keep up")
				pm.obs.Closed("slow_consumer")
			}
			pm.p.Send(endMsg{why})
			ready, gone = nil, nil
		case <-pm.closing:
			pm.p.Send(shutdownMsg{})
			pm.closing = nil
		}
	}
}

// presenceEvery spaces the frames that carry only joins and leaves: when
// hundreds of people connect at once, each session draws their notices a
// few times a second rather than once per join. Anything else is drawn at
// once, after the notices held before it.
const presenceEvery = 250 * time.Millisecond

// events sends room events to the program as one batch, holding a batch of
// joins and leaves back while the last frame is recent (unless flush).
func (pm *pump) events(evs []*room.Event, flush bool) {
	pm.held = append(pm.held, evs...)
	if len(pm.held) == 0 {
		return
	}
	now := pm.now()
	if !flush && presenceOnly(evs) && now.Sub(pm.lastSent) < presenceEvery {
		if !pm.holding {
			pm.holding = true
			pm.hold.Reset(presenceEvery - now.Sub(pm.lastSent))
		}
		return
	}
	if pm.holding {
		pm.hold.Stop()
		pm.holding = false
	}
	pm.p.Send(eventsMsg(pm.held))
	pm.held, pm.lastSent = nil, now
}

func presenceOnly(evs []*room.Event) bool {
	for _, ev := range evs {
		if ev.Kind != room.Joined && ev.Kind != room.Left {
			return false
		}
	}
	return true
}

// deliver sends input to the program within the input rate; what is over it
// is dropped, and the user is told once.
func (pm *pump) deliver(msgs []inputMsg, now time.Time) {
	for _, in := range msgs {
		if !pm.limiter.allow(in.size, now) {
			if !pm.dropping {
				pm.dropping = true
				pm.p.Send(inputDroppedMsg{rate: pm.rate})
			}
			continue
		}
		pm.dropping = false
		pm.p.Send(in.msg)
	}
}

// inputDroppedMsg says input came faster than the rate and some was dropped.
type inputDroppedMsg struct{ rate int }

// stallWriter closes the connection when a write blocks for longer than
// timeout: a client that stops reading must not hold its session for ever.
type stallWriter struct {
	w       io.Writer
	timeout time.Duration
	timer   *time.Timer
}

func newStallWriter(w io.Writer, timeout time.Duration, onStall func()) *stallWriter {
	t := time.AfterFunc(time.Hour, onStall)
	t.Stop()
	return &stallWriter{w: w, timeout: timeout, timer: t}
}

func (s *stallWriter) Write(b []byte) (int, error) {
	s.timer.Reset(s.timeout)
	defer s.timer.Stop()
	return s.w.Write(b)
}

func (s *stallWriter) stop() { s.timer.Stop() }

// recoverSession ends the session on a panic in one of its goroutines, which
// no middleware would see, and logs it; the server carries on.
func recoverSession(log *slog.Logger, cancel context.CancelFunc) {
	if r := recover(); r != nil {
		log.Error("panic in session", "panic", r, "stack", string(debug.Stack()))
		cancel()
	}
}
