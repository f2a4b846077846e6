package room_test

import (
	"errors"
	"strings"
	"testing"

	"chatroom/room"
)

func TestCleanTextRemovesWhatATerminalWouldActOn(t *testing.T) {
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
			got, err := room.CleanText(tt.in)
			if err != nil {
				t.Fatalf("CleanText(%q) error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("CleanText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCleanTextZalgo(t *testing.T) {
	got, err := room.CleanText("a" + strings.Repeat("\u0301", 500))
	if err != nil {
		t.Fatal(err)
	}
	if want := "a\u0301\u0301\u0301"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestCleanTextRefuses(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", room.ErrEmpty},
		{"only spaces", " \t \u00a0", room.ErrEmpty},
		{"only escapes", "\x1b[2J\x1b]0;x\x07", room.ErrEmpty},
		{"invalid UTF-8", "a\xffb", room.ErrInvalidUTF8},
		{"too long", strings.Repeat("x", room.DefaultTextLimits.Bytes+1), room.ErrTooLong},
		{"too many lines", strings.Repeat("x\n", room.DefaultTextLimits.Lines) + "x", room.ErrTooManyLines},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := room.CleanText(tt.in); !errors.Is(err, tt.want) {
				t.Errorf("CleanText(%q) error = %v, want %v", tt.in, err, tt.want)
			}
		})
	}
	// Exactly at the limits is fine.
	if _, err := room.CleanText(strings.Repeat("x", room.DefaultTextLimits.Bytes)); err != nil {
		t.Errorf("a message of exactly %d bytes: %v", room.DefaultTextLimits.Bytes, err)
	}
	if _, err := room.CleanText(strings.Repeat("x\n", room.DefaultTextLimits.Lines-1) + "x"); err != nil {
		t.Errorf("a message of exactly %d lines: %v", room.DefaultTextLimits.Lines, err)
	}
}

func TestTextLimitsAreConfigurable(t *testing.T) {
	lim := room.TextLimits{Bytes: 10, Lines: 2}
	if _, err := lim.Clean("0123456789"); err != nil {
		t.Errorf("10 bytes: %v", err)
	}
	_, err := lim.Clean("0123456789x")
	if !errors.Is(err, room.ErrTooLong) || errors.Is(err, room.ErrTooManyLines) || err.Error() != "message is longer than 10 bytes" {
		t.Errorf("11 bytes: %v", err)
	}
	_, err = lim.Clean("a\nb\nc")
	if !errors.Is(err, room.ErrTooManyLines) || err.Error() != "message has more than 2 lines" {
		t.Errorf("3 lines: %v", err)
	}
}

func TestCleanLineNeverFailsAndStaysOnOneLine(t *testing.T) {
	got := room.CleanLine("xterm\x1b[31m\nevil\xff"+strings.Repeat("z", 100), 16)
	if want := "xterm evilzzzzzz"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"alice", true},
		{"Alice", true},
		{"a", true},
		{"0cool", true},
		{"j.r-r_t", true},
		{strings.Repeat("x", 24), true},
		{strings.Repeat("x", 25), false},
		{"", false},
		{"_alice", false},
		{".alice", false},
		{"-alice", false},
		{"al ice", false},
		{"alicé", false},
		{"al\x1b[2Jice", false},
	}
	for _, tt := range tests {
		err := room.ValidateName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, room.ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v, want it to wrap ErrInvalidName", tt.name, err)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\x1b\r\n") {
			t.Errorf("ValidateName(%q) error holds control characters: %q", tt.name, err)
		}
	}
}
