package tui

import (
	"fmt"
	"testing"
	"time"

	"chatroom/room"
)

type countingWriter struct{ n, writes int }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += len(p); w.writes++; return len(p), nil }

// BenchmarkSessionNewMessage is one session's cost for one new message in
// the main room: the update, the (shared) rendering of its lines, and the
// bytes written. Lines are rendered once per width and shared, so in a
// room of N sessions all but one find them cached; the "cached" case is
// the common one.
func BenchmarkSessionNewMessage(b *testing.B) {
	for _, cached := range []bool{true, false} {
		b.Run(fmt.Sprintf("cached=%v", cached), func(b *testing.B) {
			r := room.New(room.Options{})
			out := &countingWriter{}
			m := testModel(r, out, 100, 30)
			m.start("reader")
			m.Update(resizeMsg{100, 30})
			m.member.Take(nil)
			evs := make([]*room.Event, 1024)
			for i := range evs {
				evs[i] = &room.Event{Kind: room.Message, Time: time.Now(), From: "somebody", Text: fmt.Sprintf("message number %d, of a usual length for a chat line", i)}
			}
			if cached {
				for _, ev := range evs {
					sharedLines.get(m.th, ev, m.width)
				}
			}
			out.n, out.writes = 0, 0
			b.ResetTimer()
			for i := range b.N {
				ev := evs[i%len(evs)]
				if !cached {
					ev = &room.Event{Kind: ev.Kind, Time: ev.Time, From: ev.From, Text: ev.Text}
				}
				m.Update(eventsMsg{ev})
			}
			b.ReportMetric(float64(out.n)/float64(b.N), "bytes/msg")
			b.ReportMetric(float64(out.writes)/float64(b.N), "writes/msg")
		})
	}
}
