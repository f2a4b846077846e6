package tui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

// describe renders messages compactly for comparison.
func describe(in []inputMsg) string {
	var out []string
	for _, m := range in {
		switch msg := m.msg.(type) {
		case tea.KeyPressMsg:
			out = append(out, "key:"+msg.String())
		case tea.PasteMsg:
			out = append(out, fmt.Sprintf("paste:%q", msg.Content))
		case pasteDroppedMsg:
			out = append(out, fmt.Sprintf("dropped:%d", msg.size))
		case tea.MouseClickMsg:
			out = append(out, fmt.Sprintf("click:%d,%d", msg.X, msg.Y))
		case tea.MouseWheelMsg:
			out = append(out, "wheel:"+msg.String())
		default:
			out = append(out, fmt.Sprintf("%T", msg))
		}
	}
	return strings.Join(out, " ")
}

func TestTheParserReadsKeysMouseAndPastes(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   string
	}{
		{"text", []string{"hi"}, "key:h key:i"},
		{"enter and ctrl keys", []string{"\r\x03\x0e"}, "key:enter key:ctrl+c key:ctrl+n"},
		{"arrows and page keys", []string{"\x1b[D\x1b[5~\x1b[6~"}, "key:left key:pgup key:pgdown"},
		{"a sequence split across reads", []string{"\x1b[", "5~"}, "key:pgup"},
		{"alt+b", []string{"\x1bb", ""}, "key:alt+b"},
		{"sgr mouse click", []string{"\x1b[<0;5;3M"}, "click:4,2"},
		{"wheel", []string{"\x1b[<64;1;1M"}, "wheel:wheelup"},
		{"a paste", []string{"a\x1b[200~x\ry\x1b[201~b"}, `key:a paste:"x\ry" key:b`},
		{"a paste across reads, the end marker split", []string{"\x1b[200~one ", "two\x1b[2", "01~"}, `paste:"one two"`},
		{"escapes inside a paste are content", []string{"\x1b[200~\x1b[2J\x1b[201~"}, `paste:"\x1b[2J"`},
		{"utf-8", []string{"é👍"}, "key:é key:👍"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newInputParser(64 << 10)
			var got []inputMsg
			for _, c := range tt.chunks {
				msgs, err := p.feed([]byte(c), false)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, msgs...)
			}
			if p.pending() { // the escape timeout passes
				msgs, _ := p.feed(nil, true)
				got = append(got, msgs...)
			}
			if d := describe(got); d != tt.want {
				t.Errorf("got  %s\nwant %s", d, tt.want)
			}
		})
	}
}

func TestALoneEscWaitsForTheTimeout(t *testing.T) {
	p := newInputParser(1024)
	msgs, _ := p.feed([]byte("\x1b"), false)
	if len(msgs) != 0 || !p.pending() {
		t.Fatalf("a lone ESC was decided at once: %s", describe(msgs))
	}
	msgs, _ = p.feed(nil, true)
	if d := describe(msgs); d != "key:esc" {
		t.Errorf("after the timeout: %s", d)
	}
}

func TestPastesOverTheLimitAreDroppedAndEndlessOnesEndTheSession(t *testing.T) {
	p := newInputParser(10)
	msgs, err := p.feed([]byte("\x1b[200~0123456789\x1b[201~\x1b[200~0123456789X\x1b[201~ok"), false)
	if err != nil {
		t.Fatal(err)
	}
	if d := describe(msgs); d != `paste:"0123456789" dropped:11 key:o key:k` {
		t.Errorf("got %s", d)
	}
	p.feed([]byte("\x1b[200~"), false)
	var total int
	for total = 0; total < 1000; total += 10 {
		if _, err = p.feed([]byte("0123456789"), false); err != nil {
			break
		}
	}
	if !errors.Is(err, errPasteFlood) {
		t.Fatalf("an endless paste: %v", err)
	}
	if total > 16*10+10 {
		t.Errorf("ended after %d bytes, want about 16 times the limit", total)
	}
	if len(p.paste) > 10 || len(p.buf) > len(pasteEnd) {
		t.Errorf("holding %d + %d bytes of an over-long paste", len(p.paste), len(p.buf))
	}
}

func TestAnUnfinishedSequenceIsBounded(t *testing.T) {
	p := newInputParser(1024)
	p.feed([]byte("\x1b]"), false) // an OSC that never ends
	for range 10 {
		p.feed([]byte(strings.Repeat("x", 1024)), false)
	}
	if len(p.buf) > maxPending+1024 {
		t.Errorf("holding %d bytes of an unfinished sequence", len(p.buf))
	}
}

func TestTheFloodMeterNeedsFiveSecondsPastFourTimesTheRate(t *testing.T) {
	l := newInputLimiter(1000, 5000)
	t0 := time.Unix(0, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	// 5 KiB a second (5x) for 4.9 s: not yet.
	for ms := 0; ms < 4900; ms += 100 {
		if l.received(500, at(ms)) {
			t.Fatalf("flood declared after %d ms", ms)
		}
	}
	if !l.received(500, at(5000)) {
		t.Error("no flood after 5 s at 5x")
	}

	// 3x the rate never counts, however long.
	l = newInputLimiter(1000, 5000)
	for ms := 0; ms < 20000; ms += 100 {
		if l.received(300, at(ms)) {
			t.Fatalf("3x declared a flood at %d ms", ms)
		}
	}

	// A quiet second in the middle starts the count again.
	l = newInputLimiter(1000, 5000)
	for ms := 0; ms < 3000; ms += 100 {
		l.received(500, at(ms))
	}
	for ms := 4500; ms < 8500; ms += 100 {
		if l.received(500, at(ms)) {
			t.Fatalf("flood declared at %d ms despite the pause", ms)
		}
	}
}

func TestTheBucketAllowsABurstThenTheRate(t *testing.T) {
	l := newInputLimiter(1000, 5000)
	t0 := time.Unix(0, 0)
	if !l.allow(5000, t0) {
		t.Fatal("a full burst refused")
	}
	if l.allow(1, t0) {
		t.Fatal("past the burst allowed")
	}
	if !l.allow(500, t0.Add(500*time.Millisecond)) {
		t.Error("the rate did not refill")
	}
}
