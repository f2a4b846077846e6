package tui

import (
	"strings"
	"unicode"

	"github.com/charmbracelet/x/ansi"
)

// editor is the one-line input. It measures text the way terminals do
// (wcwidth), keeps combining marks with their base when the cursor moves,
// and scrolls sideways to keep the cursor in view. A pasted line break is
// kept and shown as ↵, so a multi-line paste is sent as one message.
type editor struct {
	buf    []rune
	pos    int // cursor, an index into buf
	offset int // first rune shown
	limit  int // most runes held
}

// newlineGlyph stands for a line break inside the input line.
const newlineGlyph = '↵'

func (e *editor) value() string { return string(e.buf) }

func (e *editor) set(s string) {
	e.buf = e.buf[:0]
	e.pos, e.offset = 0, 0
	e.insert(s)
}

func (e *editor) reset() { e.set("") }

// insert puts s at the cursor, dropping what may not be typed, and reports
// whether all of it fit.
func (e *editor) insert(s string) bool {
	add := make([]rune, 0, len(s))
	for _, r := range s {
		switch {
		case r == '\t':
			r = ' '
		case r == '\n':
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
			continue
		}
		add = append(add, r)
	}
	fit := true
	if e.limit > 0 && len(e.buf)+len(add) > e.limit {
		add = add[:max(0, e.limit-len(e.buf))]
		fit = false
	}
	e.buf = append(e.buf[:e.pos], append(add, e.buf[e.pos:]...)...)
	e.pos += len(add)
	return fit
}

func zeroWidth(r rune) bool { return runeCells(r) == 0 }

// prev is the start of the character before i.
func (e *editor) prev(i int) int {
	if i > 0 {
		i--
	}
	for i > 0 && zeroWidth(e.buf[i]) {
		i--
	}
	return i
}

// next is the start of the character after i.
func (e *editor) next(i int) int {
	if i < len(e.buf) {
		i++
	}
	for i < len(e.buf) && zeroWidth(e.buf[i]) {
		i++
	}
	return i
}

func (e *editor) wordStart(i int) int {
	for i > 0 && unicode.IsSpace(e.buf[i-1]) {
		i--
	}
	for i > 0 && !unicode.IsSpace(e.buf[i-1]) {
		i--
	}
	return i
}

func (e *editor) wordEnd(i int) int {
	for i < len(e.buf) && unicode.IsSpace(e.buf[i]) {
		i++
	}
	for i < len(e.buf) && !unicode.IsSpace(e.buf[i]) {
		i++
	}
	return i
}

func (e *editor) cut(from, to int) {
	e.buf = append(e.buf[:from], e.buf[to:]...)
	e.pos = from
}

func (e *editor) left()          { e.pos = e.prev(e.pos) }
func (e *editor) right()         { e.pos = e.next(e.pos) }
func (e *editor) home()          { e.pos = 0 }
func (e *editor) end()           { e.pos = len(e.buf) }
func (e *editor) wordLeft()      { e.pos = e.wordStart(e.pos) }
func (e *editor) wordRight()     { e.pos = e.wordEnd(e.pos) }
func (e *editor) backspace()     { e.cut(e.prev(e.pos), e.pos) }
func (e *editor) deleteForward() { e.cut(e.pos, e.next(e.pos)) }
func (e *editor) killWordBack()  { e.cut(e.wordStart(e.pos), e.pos) }
func (e *editor) killToStart()   { e.cut(0, e.pos) }
func (e *editor) killToEnd()     { e.buf = e.buf[:e.pos] }

// runeCells is how many columns r takes, measured as ansi.StringWidthWc does
// everywhere else in sshapp.
func runeCells(r rune) int {
	if r == '\n' {
		return 1
	}
	return ansi.StringWidthWc(string(r))
}

// view returns what fits in width cells around the cursor, and the cursor's
// column within it. It moves the window only as far as the cursor needs.
func (e *editor) view(width int) (string, int) {
	if width < 2 {
		return "", 0
	}
	room := width - 1 // one cell for the cursor after the last character
	e.offset = min(e.offset, e.pos)
	before := 0 // cells from offset to the cursor
	for _, r := range e.buf[e.offset:e.pos] {
		before += runeCells(r)
	}
	for before > room {
		n := e.next(e.offset)
		for _, r := range e.buf[e.offset:n] {
			before -= runeCells(r)
		}
		e.offset = n
	}
	// Use the space freed when text before the window was deleted.
	after := 0
	for _, r := range e.buf[e.pos:] {
		if after += runeCells(r); after > room {
			break
		}
	}
	for e.offset > 0 {
		p := e.prev(e.offset)
		w := 0
		for _, r := range e.buf[p:e.offset] {
			w += runeCells(r)
		}
		if before+w+after > room {
			break
		}
		e.offset, before = p, before+w
	}

	var b strings.Builder
	used := 0
	for _, r := range e.buf[e.offset:] {
		w := runeCells(r)
		if used+w > width {
			break
		}
		if r == '\n' {
			r = newlineGlyph
		}
		b.WriteRune(r)
		used += w
	}
	return b.String(), before
}
