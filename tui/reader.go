package tui

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
	"golang.org/x/time/rate"
)

// The session parses its own input rather than letting Bubble Tea do it:
// Bubble Tea's reader builds a 130 KiB key table per session and runs two
// goroutines for it, and it buffers a bracketed paste without limit. The
// parser here uses ultraviolet's table-free decoder, bounds pastes, and
// leaves the timing (the escape timeout, rate limits) to the pump.

const (
	pasteStart = "\x1b[200~"
	pasteEnd   = "\x1b[201~"
	// escTimeout is how long a lone ESC waits for the rest of a sequence.
	escTimeout = 50 * time.Millisecond
	// maxPending bounds the bytes held while a sequence is incomplete.
	maxPending = 4 << 10
)

// inputMsg is one decoded input message and the bytes it took on the wire.
type inputMsg struct {
	msg  tea.Msg
	size int
}

// pasteDroppedMsg says a bracketed paste was over the limit and was dropped.
type pasteDroppedMsg struct{ size, limit int }

// errPasteFlood ends a session whose over-long paste keeps coming.
var errPasteFlood = errors.New("paste flood")

// inputParser turns a session's bytes into key, mouse and paste messages.
type inputParser struct {
	dec      uv.EventDecoder
	buf      []byte // undecoded bytes: a sequence still arriving
	inPaste  bool
	paste    []byte // the paste so far, while it is within pasteMax
	size     int    // bytes of the current paste, kept or not
	pasteMax int
	skipMax  int // a paste this long ends the session
}

func newInputParser(pasteMax int) *inputParser {
	return &inputParser{pasteMax: pasteMax, skipMax: 16 * pasteMax}
}

// feed adds data and returns the messages it completes. With expired set
// (the escape timeout passed) nothing waits for more input: a lone ESC is
// the Esc key.
func (p *inputParser) feed(data []byte, expired bool) ([]inputMsg, error) {
	p.buf = append(p.buf, data...)
	var out []inputMsg
	for len(p.buf) > 0 {
		if p.inPaste {
			end := bytes.Index(p.buf, []byte(pasteEnd))
			if end < 0 {
				// Keep what may be the start of the end marker.
				n := len(p.buf) - markerPrefix(p.buf, pasteEnd)
				p.addPaste(p.buf[:n])
				p.buf = p.buf[n:]
				if p.size > p.skipMax {
					return out, errPasteFlood
				}
				break
			}
			p.addPaste(p.buf[:end])
			p.buf = p.buf[end+len(pasteEnd):]
			out = append(out, p.endPaste())
			continue
		}
		n, ev := p.dec.Decode(p.buf)
		if n <= 0 {
			break
		}
		if !expired && n == len(p.buf) && len(p.buf) < maxPending && incomplete(p.buf, n, ev) {
			break // wait for the rest, or for the escape timeout
		}
		p.buf = p.buf[n:]
		if _, ok := ev.(uv.PasteStartEvent); ok {
			p.inPaste, p.paste, p.size = true, p.paste[:0], 0
			continue
		}
		out = appendEvent(out, ev, n)
	}
	if len(p.buf) == 0 && cap(p.buf) > maxPending {
		p.buf = nil // a burst does not pin its buffer
	}
	return out, nil
}

// pending reports bytes waiting for more input or for the escape timeout.
func (p *inputParser) pending() bool { return len(p.buf) > 0 && !p.inPaste }

// incomplete says whether the decoded sequence at the end of the input may
// be the start of a longer one.
func incomplete(buf []byte, n int, ev uv.Event) bool {
	if _, unknown := ev.(uv.UnknownEvent); unknown {
		return true
	}
	return buf[0] == 0x1b && n <= 2 // ESC, or ESC and one byte: maybe more to come
}

func (p *inputParser) addPaste(b []byte) {
	p.size += len(b)
	if p.size <= p.pasteMax {
		p.paste = append(p.paste, b...)
	} else if p.paste != nil {
		p.paste = nil // over the limit: drop what was kept, skip the rest
	}
}

func (p *inputParser) endPaste() inputMsg {
	p.inPaste = false
	// A paste costs its content against the rate: the markers are free, so
	// that a paste of exactly the limit fits a full bucket.
	size := p.size
	if p.size > p.pasteMax {
		return inputMsg{msg: pasteDroppedMsg{size: p.size, limit: p.pasteMax}, size: 0}
	}
	msg := tea.PasteMsg{Content: string(p.paste)}
	if cap(p.paste) > maxPending {
		p.paste = nil
	}
	return inputMsg{msg: msg, size: size}
}

// markerPrefix is the length of the longest end of b that begins marker.
func markerPrefix(b []byte, marker string) int {
	for n := min(len(marker)-1, len(b)); n > 0; n-- {
		if bytes.HasSuffix(b, []byte(marker[:n])) {
			return n
		}
	}
	return 0
}

// appendEvent adds the messages the model understands; terminal replies,
// focus reports and unknown sequences are dropped.
func appendEvent(out []inputMsg, ev uv.Event, size int) []inputMsg {
	switch e := ev.(type) {
	case uv.KeyPressEvent:
		return append(out, inputMsg{tea.KeyPressMsg(e), size})
	case uv.MouseClickEvent:
		return append(out, inputMsg{tea.MouseClickMsg(e), size})
	case uv.MouseReleaseEvent:
		return append(out, inputMsg{tea.MouseReleaseMsg(e), size})
	case uv.MouseWheelEvent:
		return append(out, inputMsg{tea.MouseWheelMsg(e), size})
	case uv.ModeReportEvent:
		if e.Mode == ansi.ModeLeftRightMargin {
			return append(out, inputMsg{marginsMsg(!e.Value.IsNotRecognized()), size})
		}
	case uv.MultiEvent:
		for _, sub := range e {
			out = appendEvent(out, sub, 0)
		}
		if len(out) > 0 {
			out[len(out)-1].size += size
		}
	}
	return out
}

// inputLimiter bounds how much input a session may send: a token bucket for
// what reaches the model, and a flood meter for what arrives.
type inputLimiter struct {
	bucket   *rate.Limiter
	floodAt  int           // bytes a second that count as flooding
	floodFor time.Duration // how long a flood may last

	second     time.Time // start of the second being counted
	inSecond   int       // bytes received in it
	floodSince time.Time // zero unless flooding
}

func newInputLimiter(perSecond, burst int) *inputLimiter {
	return &inputLimiter{
		bucket:   rate.NewLimiter(rate.Limit(perSecond), burst),
		floodAt:  4 * perSecond,
		floodFor: 5 * time.Second,
	}
}

// received counts n bytes off the wire at now and reports whether the
// client has flooded past four times the rate for floodFor.
func (l *inputLimiter) received(n int, now time.Time) bool {
	if now.Sub(l.second) >= time.Second {
		if l.inSecond <= l.floodAt || now.Sub(l.second) >= 2*time.Second {
			l.floodSince = time.Time{} // a quiet second ends a flood
		}
		l.second, l.inSecond = now, 0
	}
	l.inSecond += n
	if l.inSecond > l.floodAt && l.floodSince.IsZero() {
		l.floodSince = l.second
	}
	return !l.floodSince.IsZero() && now.Sub(l.floodSince) >= l.floodFor
}

// allow says whether a message of n bytes may reach the model at now.
func (l *inputLimiter) allow(n int, now time.Time) bool {
	return l.bucket.AllowN(now, n)
}

func floodReason(perSecond int) string {
	return fmt.Sprintf("Disconnected: more than %d KiB/s of input for 5 seconds.", 4*perSecond>>10)
}
