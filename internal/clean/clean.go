// Package clean makes text from users safe for anybody's terminal and for
// logs. Every front end and the log trust text that passed through it.
package clean

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits bound one message, after cleaning.
type Limits struct {
	Bytes int // default 4096
	Lines int // default 20
}

// DefaultLimits are what a zero Limits means.
var DefaultLimits = Limits{Bytes: 4096, Lines: 20}

const maxMarksPerBase = 3

// Reasons a text is refused. They are written for the person who typed it.
var (
	ErrEmpty        = errors.New("message is empty")
	ErrInvisible    = errors.New("message has nothing visible")
	ErrInvalidUTF8  = errors.New("message is not valid UTF-8")
	ErrTooLong      = errors.New("message is too long")
	ErrTooManyLines = errors.New("message has too many lines")
)

// TooLongError says which limit a message crossed. It matches ErrTooLong or
// ErrTooManyLines.
type TooLongError struct {
	Limit int
	Lines bool // the line limit, not the byte limit
}

func (e *TooLongError) Error() string {
	if e.Lines {
		return fmt.Sprintf("message has more than %d lines", e.Limit)
	}
	return fmt.Sprintf("message is longer than %d bytes", e.Limit)
}

func (e *TooLongError) Is(target error) bool {
	return target == ErrTooManyLines && e.Lines || target == ErrTooLong && !e.Lines
}

// Message makes a message from a user safe to show on anybody's terminal
// and to log: escape sequences and control characters are removed whole,
// bidi overrides and invisible characters dropped, odd spaces made plain,
// and combining marks bounded. LF survives as a line break; every other
// control does not. It refuses invalid UTF-8, text that is empty once
// cleaned, and text over the limits (zero fields: DefaultLimits).
func (l Limits) Message(s string) (string, error) {
	l.Bytes = cmp.Or(l.Bytes, DefaultLimits.Bytes)
	l.Lines = cmp.Or(l.Lines, DefaultLimits.Lines)
	if !utf8.ValidString(s) {
		return "", ErrInvalidUTF8
	}
	out := strip(s, true)
	out = trimLines(out)
	if strings.TrimSpace(out) == "" {
		return "", ErrEmpty
	}
	if !visible(out) {
		return "", ErrInvisible
	}
	if len(out) > l.Bytes {
		return "", &TooLongError{Limit: l.Bytes}
	}
	if strings.Count(out, "\n")+1 > l.Lines {
		return "", &TooLongError{Limit: l.Lines, Lines: true}
	}
	return out, nil
}

// Strip removes what a terminal would act on, as Message does, but never
// refuses: invalid bytes are dropped and line feeds kept. It suits text a
// person is still editing.
func Strip(s string) string { return strip(strings.ToValidUTF8(s, ""), true) }

// Line is Message's rule for one-line strings that are not messages
// (client versions, TERM, names before validation): it never fails, turns
// invalid bytes and line breaks into nothing and spaces, and cuts to max bytes.
func Line(s string, max int) string {
	s = strings.ToValidUTF8(s, "")
	out := strings.TrimSpace(strip(s, false))
	if len(out) > max {
		out = out[:max]
		for !utf8.ValidString(out) {
			out = out[:len(out)-1]
		}
	}
	return out
}

// strip removes everything a terminal would act on. keepLF keeps line feeds.
func strip(s string, keepLF bool) string {
	var b strings.Builder
	b.Grow(len(s))
	marks := 0        // combining marks after the current base
	haveBase := false // is there a base a mark may attach to?
	tagging, tags := false, 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !isTag(r) {
			tagging, tags = r == blackFlag, 0
		}
		switch {
		case r == 0x1b:
			i += escapeLen(s[i:])
			continue
		case r == 0x9b: // 8-bit CSI
			i += size + csiBodyLen(s[i+size:])
			continue
		case r == 0x90 || r == 0x98 || r == 0x9d || r == 0x9e || r == 0x9f: // 8-bit DCS, SOS, OSC, PM, APC
			i += size + stringBodyLen(s[i+size:])
			continue
		}
		i += size
		switch {
		case r == '\n' || r == '\r' && !keepLF:
			if keepLF {
				b.WriteByte('\n')
				haveBase = false
			} else {
				b.WriteByte(' ')
				haveBase = true
			}
			marks = 0
		case r == '\t':
			b.WriteByte(' ')
			haveBase, marks = true, 0
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
			// C0, DEL and C1 controls never pass.
		case isTag(r):
			// Tags spell out subdivision flags after a black flag
			// (🏴 gbeng); anywhere else they hide text.
			if tagging && tags < maxTags {
				b.WriteRune(r)
				tags++
			}
			continue
		case dropped(r):
		case r == 0x2028 || r == 0x2029 || unicode.Is(unicode.Zs, r):
			b.WriteByte(' ')
			haveBase, marks = true, 0
		case unicode.In(r, unicode.Mn, unicode.Me), r == zwj, r == zwnj:
			// Joiners are kept for emoji sequences (👩‍💻) and scripts
			// that need them, and bounded like combining marks: a run of
			// them is invisible.
			if haveBase && marks < maxMarksPerBase {
				b.WriteRune(r)
				marks++
			}
		default:
			b.WriteRune(r)
			haveBase, marks = true, 0
		}
	}
	return b.String()
}

const (
	zwj       = 0x200d  // zero width joiner
	zwnj      = 0x200c  // zero width non-joiner
	blackFlag = 0x1f3f4 // 🏴, which tags turn into a subdivision's flag
	maxTags   = 8       // a subdivision flag takes at most 7
)

func isTag(r rune) bool { return r >= 0xe0020 && r <= 0xe007f }

// dropped reports the invisible, bidi and non-characters that are removed:
// format characters (Unicode's Cf) but the joiners emoji need, and the
// explicit list below, which predates the rule and names what it is for.
func dropped(r rune) bool {
	switch {
	case r != zwj && r != zwnj && unicode.Is(unicode.Cf, r):
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f,
		r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // bidi controls
		return true
	case r == 0x200b, r >= 0x2060 && r <= 0x2064, r >= 0x206a && r <= 0x206f,
		r == 0xfeff, r == 0x00ad, r == 0x180e, r >= 0xfff9 && r <= 0xfffb,
		r >= 0xe0000 && r <= 0xe007f: // invisible format characters
		return true
	case r >= 0xd800 && r <= 0xdfff: // surrogates
		return true
	case r >= 0xfdd0 && r <= 0xfdef, r&0xfffe == 0xfffe: // noncharacters
		return true
	case r == utf8.RuneError:
		return true
	}
	return false
}

// escapeLen is the length of the escape sequence at the start of s (s[0] is
// ESC). Unterminated sequences run to the end of s.
func escapeLen(s string) int {
	if len(s) < 2 {
		return len(s)
	}
	switch c := s[1]; {
	case c == '[':
		return 2 + csiBodyLen(s[2:])
	case c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_':
		return 2 + stringBodyLen(s[2:])
	case c >= 0x20 && c <= 0x2f: // nF: intermediates, then a final byte
		n := 2
		for n < len(s) && s[n] >= 0x20 && s[n] <= 0x2f {
			n++
		}
		if n < len(s) && s[n] >= 0x30 && s[n] <= 0x7e {
			n++
		}
		return n
	case c >= 0x30 && c <= 0x7e: // two-byte ESC x
		return 2
	}
	return 1 // a lone ESC
}

// csiBodyLen is the length of a CSI's parameters, intermediates and final byte.
func csiBodyLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x40 && c <= 0x7e {
			return i + 1
		}
		if c < 0x20 || c >= 0x80 {
			// Not part of a CSI: the sequence is malformed, end it here and
			// let the main loop judge the byte.
			return i
		}
	}
	return len(s)
}

// stringBodyLen is the length of an OSC/DCS/SOS/PM/APC body up to and
// including its terminator: BEL, ESC \ or the 8-bit ST.
func stringBodyLen(s string) int {
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == 0x07:
			return i + 1
		case s[i] == 0x1b:
			if i+1 < len(s) && s[i+1] == '\\' {
				return i + 2
			}
			return i // an ESC aborts the string and starts a sequence of its own
		case s[i] == 0xc2 && i+1 < len(s) && s[i+1] == 0x9c: // U+009C ST
			return i + 2
		}
	}
	return len(s)
}

// trimLines drops trailing spaces on each line and blank lines at both ends.
func trimLines(s string) string {
	if !strings.Contains(s, "\n") {
		return strings.TrimRight(s, " ")
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	for len(lines) > 0 && lines[0] == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\n")
}

// visible reports whether s puts anything a person can see on the screen:
// not only spaces, fillers that draw blank (Hangul fillers, the blank
// braille pattern) and characters of no width.
func visible(s string) bool {
	for _, r := range s {
		switch {
		case unicode.IsSpace(r), r == 0x3164, r == 0x115f, r == 0x1160, r == 0xffa0, r == 0x2800:
		case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf), isTag(r):
		default:
			return true
		}
	}
	return false
}
