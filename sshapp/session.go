package sshapp

import (
	"context"
	"io"
	"runtime/debug"

	"chatroom/room"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"github.com/charmbracelet/colorprofile"
)

// Terminal sizes are clamped before anything is sized by them.
const (
	maxWidth      = 400
	maxHeight     = 200
	defaultWidth  = 80
	defaultHeight = 24
)

func clampSize(w ssh.Window) (int, int) {
	width, height := w.Width, w.Height
	if width <= 0 || height <= 0 {
		return defaultWidth, defaultHeight
	}
	return min(width, maxWidth), min(height, maxHeight)
}

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
		refuse(sess, "chatroom: commands are not supported; run ssh without a command to join the chat")
		return
	case !ok:
		log.Info("refused", "why", "no terminal")
		refuse(sess, "chatroom: a terminal is needed; run ssh without -T (add -t if it still fails)")
		return
	}
	select {
	case <-s.closing:
		refuse(sess, "chatroom: the server is shutting down")
		return
	default:
	}

	env := append(sess.Environ(), "TERM="+pty.Term)
	th := themeFor(colorprofile.Env(env))
	width, height := clampSize(pty.Window)

	// The program ends when the user leaves or the connection drops; the
	// pump and the program's own goroutines end with ctx.
	ctx, cancel := context.WithCancel(sess.Context())
	defer cancel()

	joined := make(chan *room.Member, 1)
	m := newModel(s.room, th, sess, joined, sess.User(), width, height)
	if m.member != nil {
		log.Info("joined", "name", m.name)
	}
	p := tea.NewProgram(m,
		tea.WithContext(ctx),
		tea.WithInput(sess),
		tea.WithOutput(io.Discard), // the model draws the screen itself
		tea.WithoutRenderer(),
		tea.WithoutSignalHandler(), // main owns the process's signals
		tea.WithEnvironment(env),
		tea.WithColorProfile(th.profile),
		tea.WithFPS(1), // the renderer is off; its ticker only has to idle
	)

	_, _ = io.WriteString(sess, modesOn+mouseOn)
	pumpDone := make(chan struct{})
	go func() {
		defer close(pumpDone)
		defer recoverSession(log, cancel)
		s.pump(ctx, p, joined, winch)
	}()
	_, err := p.Run()
	cancel()
	<-pumpDone

	if m.goodbye == "" {
		m.goodbye = "Connection closed."
	}
	// Leave when the program ends, not when the connection does: a user who
	// quits may keep the connection open.
	if m.member != nil {
		m.member.Leave()
		log.Info("left", "name", m.name, "why", m.goodbye)
	}
	if err != nil && ctx.Err() == nil {
		log.Error("session ended with an error", "err", err)
	}
	// Give the terminal back as it was, with one line saying why we stopped.
	_, _ = io.WriteString(sess, modesOff+m.goodbye+"\r\n")
	_ = sess.Exit(0)
}

func refuse(sess ssh.Session, why string) {
	_, _ = io.WriteString(sess.Stderr(), why+"\r\n")
	_ = sess.Exit(1)
}

// pump moves what happens outside the program into it: window changes, room
// events (a whole batch per message, so a burst costs one frame), removal
// from the room, and shutdown. It is the only goroutine that calls p.Send, and
// it never holds a lock while doing so.
func (s *Server) pump(ctx context.Context, p *tea.Program, joined <-chan *room.Member, winch <-chan ssh.Window) {
	var (
		member  *room.Member
		ready   <-chan struct{}
		gone    <-chan struct{}
		closing = s.closing
	)
	for {
		select {
		case <-ctx.Done():
			return
		case w, ok := <-winch:
			if !ok {
				winch = nil
				continue
			}
			// Coalesce a burst of resizes into the last one.
			for more := true; more; {
				select {
				case next, ok := <-winch:
					if !ok {
						winch, more = nil, false
					} else {
						w = next
					}
				default:
					more = false
				}
			}
			width, height := clampSize(w)
			p.Send(resizeMsg{width, height})
		case member = <-joined:
			ready, gone = member.Ready(), member.Done()
		case <-ready:
			if evs := member.Take(nil); len(evs) > 0 {
				p.Send(eventsMsg(evs))
			}
		case <-gone:
			if evs := member.Take(nil); len(evs) > 0 {
				p.Send(eventsMsg(evs))
			}
			p.Send(removedMsg{err: member.Err()})
			ready, gone = nil, nil
		case <-closing:
			p.Send(shutdownMsg{})
			closing = nil
		}
	}
}

// recoverSession ends the session on a panic in one of its goroutines, which
// no middleware would see, and logs it; the server carries on.
func recoverSession(log interface {
	Error(string, ...any)
}, cancel context.CancelFunc) {
	if r := recover(); r != nil {
		log.Error("panic in session", "panic", r, "stack", string(debug.Stack()))
		cancel()
	}
}
