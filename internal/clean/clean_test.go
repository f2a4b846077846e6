package clean_test

import (
	"errors"
	"strings"
	"testing"

	"chatroom/internal/clean"
)

func TestMessageRemovesWhatATerminalWouldActOn(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain text passes", "hello, world", "hello, world"},
		{"OSC 52 clipboard write is removed whole", "a\x1b]52;c;ZXZpbA==\x07b", "ab"},
		{"OSC ended by ST is removed whole", "a\x1b]0;title\x1b\\b", "ab"},
		{"unterminated OSC runs to the end", "a\x1b]0;title", "a"},
		{"CSI clear screen is removed", "\x1b[2Jhi", "hi"},
		{"CSI with private parameters", "x\x1b[?1049hy", "xy"},
		{"8-bit CSI", "\u009b31mred", "red"},
		{"8-bit OSC up to BEL", "a\u009d0;t\x07b", "ab"},
		{"DCS", "a\x1bPq#0;2;0;0;0\x1b\\b", "ab"},
		{"APC", "a\x1b_Gf=100;AAAA\x1b\\b", "ab"},
		{"two-byte escape", "a\x1bcb", "ab"},
		{"charset designation", "a\x1b(Bb", "ab"},
		{"lone ESC at the end", "ab\x1b", "ab"},
		{"carriage return cannot overwrite", "ok\rmallory: hi", "okmallory: hi"},
		{"backspace, bell, VT, FF", "a\bb\x07c\vd\fe", "abcde"},
		{"tab becomes a space", "a\tb", "a b"},
		{"line feed is kept inside", "one\ntwo", "one\ntwo"},
		{"blank lines at the ends go", "\n\none\n\n", "one"},
		{"DEL and C1", "a\x7fb\u0085c", "abc"},
		{"bidi override", "\u202Egnp.exe", "gnp.exe"},
		{"bidi isolates and marks", "a\u2066b\u2069c\u200fd\u061ce", "abcde"},
		{"zero width space and BOM", "a\u200bb\ufeffc\u00add", "abcd"},
		{"tag characters", "flag\U000E0067\U000E007F", "flag"},
		{"unicode spaces become plain", "a\u00a0b\u2003c\u3000d\u2028e", "a b c d e"},
		{"noncharacters", "a\ufffeb\U0001ffffc\ufdd0d", "abcd"},
		{"emoji with ZWJ survive", "👩\u200d💻 ok", "👩\u200d💻 ok"},
		{"combining marks at most three", "a\u0301\u0301\u0301\u0301\u0301b", "a\u0301\u0301\u0301b"},
		{"combining mark at the start goes", "\u0301a", "a"},
		{"trailing spaces go", "hi   ", "hi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := clean.DefaultLimits.Message(tt.in)
			if err != nil {
				t.Fatalf("Message(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Message(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMessageZalgo(t *testing.T) {
	got, err := clean.DefaultLimits.Message("a" + strings.Repeat("\u0301", 500))
	if err != nil {
		t.Fatal(err)
	}
	if want := "a\u0301\u0301\u0301"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestMessageRefuses(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", clean.ErrEmpty},
		{"only spaces", " \t \u00a0", clean.ErrEmpty},
		{"only escapes", "\x1b[2J\x1b]0;x\x07", clean.ErrEmpty},
		{"invalid UTF-8", "a\xffb", clean.ErrInvalidUTF8},
		{"too long", strings.Repeat("x", clean.DefaultLimits.Bytes+1), clean.ErrTooLong},
		{"too many lines", strings.Repeat("x\n", clean.DefaultLimits.Lines) + "x", clean.ErrTooManyLines},
		{"only Hangul fillers", "\u3164\u3164 \u115f\u1160\uffa0", clean.ErrInvisible},
		{"only blank braille", "\u2800\u2800\u2800", clean.ErrInvisible},
		{"only joiners", strings.Repeat("\u200c\u200d", 1500), clean.ErrEmpty},
		{"only format characters", "\u0600\U0001D173\U0001D174", clean.ErrEmpty},
		{"a filler with marks", "\u3164\u0301\u200d", clean.ErrInvisible},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := clean.DefaultLimits.Message(tt.in); !errors.Is(err, tt.want) {
				t.Errorf("Message(%.40q) error = %v, want %v", tt.in, err, tt.want)
			}
		})
	}
	// Exactly at the limits is fine.
	if _, err := clean.DefaultLimits.Message(strings.Repeat("x", clean.DefaultLimits.Bytes)); err != nil {
		t.Errorf("a message of exactly %d bytes: %v", clean.DefaultLimits.Bytes, err)
	}
	if _, err := clean.DefaultLimits.Message(strings.Repeat("x\n", clean.DefaultLimits.Lines-1) + "x"); err != nil {
		t.Errorf("a message of exactly %d lines: %v", clean.DefaultLimits.Lines, err)
	}
}

func TestTextLimitsAreConfigurable(t *testing.T) {
	lim := clean.Limits{Bytes: 10, Lines: 2}
	if _, err := lim.Message("0123456789"); err != nil {
		t.Errorf("10 bytes: %v", err)
	}
	_, err := lim.Message("0123456789x")
	if !errors.Is(err, clean.ErrTooLong) || errors.Is(err, clean.ErrTooManyLines) || err.Error() != "message is longer than 10 bytes" {
		t.Errorf("11 bytes: %v", err)
	}
	_, err = lim.Message("a\nb\nc")
	if !errors.Is(err, clean.ErrTooManyLines) || err.Error() != "message has more than 2 lines" {
		t.Errorf("3 lines: %v", err)
	}
}

func TestCleanLineNeverFailsAndStaysOnOneLine(t *testing.T) {
	got := clean.Line("xterm\x1b[31m\nevil\xff"+strings.Repeat("z", 100), 16)
	if want := "xterm evilzzzzzz"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// Text that cleans to nothing a person can see is bounded or refused, and
// what emoji need is kept.
func TestInvisibleCharactersAreBoundedOrDropped(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"a run of joiners is cut like combining marks", "a" + strings.Repeat("\u200c\u200d", 1500) + "b", "a\u200c\u200d\u200cb"},
		{"Arabic number signs go", "1\u0600\u06052", "12"},
		{"musical formatting goes", "a\U0001D173\U0001D17Ab", "ab"},
		{"an emoji ZWJ sequence stays", "\U0001F469\u200d\U0001F4BB", "\U0001F469\u200d\U0001F4BB"},
		{"a flag with a variation selector stays", "\U0001F3F3\uFE0F\u200d\U0001F308", "\U0001F3F3\uFE0F\u200d\U0001F308"},
		{"a subdivision flag keeps its tags", "\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F", "\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F"},
		{"tags anywhere else go", "hi\U000E0067\U000E0062 there", "hi there"},
		{"endless tags after a flag are cut", "\U0001F3F4" + strings.Repeat("\U000E0061", 100), "\U0001F3F4" + strings.Repeat("\U000E0061", 8)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := clean.DefaultLimits.Message(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("Message(%.40q) = %+.60q, %v; want %+.60q", tt.in, got, err, tt.want)
			}
		})
	}
}
