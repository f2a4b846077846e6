package tui

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"chatroom/internal/testkit"
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

// discardWriter is a terminal that takes everything, as a fast client's
// socket would.
type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkFanOut is what one message to a room of n running sessions
// costs, per session: the room's fan-out, each pump waking, taking and
// drawing it, everything but the SSH write. Each message is drawn by all
// before the next is sent, as at a chat's pace, so nothing batches.
func BenchmarkFanOut(b *testing.B) {
	for _, n := range []int{1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			r := room.New(room.Options{MessageRate: 1e12, MessageBurst: 1 << 30})
			defer r.Close("")
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			defer func() { cancel(); wg.Wait() }()
			var drawn atomic.Int64
			reached := make(chan struct{}, 1)
			var want atomic.Int64
			want.Store(int64(n))
			delivered := func(time.Duration) {
				if drawn.Add(1) == want.Load() {
					reached <- struct{}{}
				}
			}
			for i := range n {
				pr, pw := io.Pipe()
				defer pw.Close()
				wg.Add(1)
				go func() {
					defer wg.Done()
					Run(ctx, Options{Room: r, Directory: lobby{r}, Name: fmt.Sprintf("s%d", i), In: pr, Out: discardWriter{},
						Size: Size{100, 30}, Env: []string{"TERM=xterm-256color"}, Delivered: delivered})
				}()
			}
			sender, err := r.Join("sender", "")
			if err != nil {
				b.Fatal(err)
			}
			if !testkit.Within(time.Minute, func() bool { return r.Online().Len() == n+1 }) {
				b.Fatal("the sessions did not join")
			}
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := range b.N {
				drawn.Store(0)
				if err := sender.Say(fmt.Sprintf("message number %d, of a usual length for a chat line", i)); err != nil {
					b.Fatal(err)
				}
				<-reached
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/session")
			// CPU time is steadier than the wall clock on a shared machine.
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/float64(n), "cpu-ns/session")
		})
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
