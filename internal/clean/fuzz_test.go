package clean_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"chatroom/internal/clean"
)

// denied reports a code point that must never leave Message, checked
// independently of the cleaner's own tables.
func denied(r rune) bool {
	switch {
	case r == '\n':
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f: // C0, DEL, C1
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // bidi
		return true
	case r == 0x200b, r >= 0x2060 && r <= 0x2064, r >= 0x206a && r <= 0x206f, r == 0xfeff,
		r == 0x00ad, r == 0x180e, r >= 0xfff9 && r <= 0xfffb, r >= 0xe0000 && r < 0xe0020: // invisible
		return true
	case r == 0x2028, r == 0x2029, r != ' ' && unicode.Is(unicode.Zs, r): // odd spaces
		return true
	case r >= 0xd800 && r <= 0xdfff, r >= 0xfdd0 && r <= 0xfdef, r&0xfffe == 0xfffe: // surrogates, noncharacters
		return true
	case r != 0x200c && r != 0x200d && !(r >= 0xe0020 && r <= 0xe007f) && unicode.Is(unicode.Cf, r): // format characters
		return true
	}
	return false
}

func FuzzMessage(f *testing.F) {
	for _, seed := range []string{
		"hello", "\x1b]52;c;ZXZpbA==\x07", "\x1b[2J", "\u009b31m", "ok\rmallory: hi",
		"\u202Egnp.exe", "a" + strings.Repeat("\u0301", 500), "\x1bP1$r\x1b\\", "\x1b_G\x1b\\",
		"\xff\xfe", "a\u200db", "\u3164", "\u2800x", "\U0001F3F4\U000E0067\U000E007F", "a\u200d\u200d\u200d\u200db", "line\nline\r\nline", "\u2028\u2029\u00a0", "\U000E0041",
		strings.Repeat("x\n", 30), strings.Repeat("é", 3000), "\u0301\u0301", "\x1b", "\x1b[", "\u009d\u009c",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := clean.DefaultLimits.Message(in)
		if err != nil {
			return
		}
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out of %q: %q", in, out)
		}
		if strings.TrimSpace(out) == "" {
			t.Fatalf("blank message passed: %q", out)
		}
		if len(out) > clean.DefaultLimits.Bytes || strings.Count(out, "\n")+1 > clean.DefaultLimits.Lines {
			t.Fatalf("over the limits: %d bytes, %d lines", len(out), strings.Count(out, "\n")+1)
		}
		marks, base, flag := 0, false, false
		for _, r := range out {
			if denied(r) {
				t.Fatalf("denied U+%04X passed: %q -> %q", r, in, out)
			}
			if r >= 0xe0020 && r <= 0xe007f {
				if !flag {
					t.Fatalf("a tag outside a flag passed: %q -> %q", in, out)
				}
				continue
			}
			flag = r == 0x1f3f4
			if unicode.In(r, unicode.Mn, unicode.Me) || r == 0x200c || r == 0x200d {
				marks++
				if !base || marks > 3 {
					t.Fatalf("combining mark out of bounds: %q -> %q", in, out)
				}
				continue
			}
			marks, base = 0, r != '\n'
		}
		if again, err := clean.DefaultLimits.Message(out); err != nil || again != out {
			t.Fatalf("cleaning is not stable: %q -> %q -> %q (%v)", in, out, again, err)
		}
	})
}
