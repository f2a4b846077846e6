package room_test

import (
	"fmt"
	"testing"

	"chatroom/room"
)

// BenchmarkBroadcast is one message to a room of n members: the broker's
// whole cost per message, all fan-out included.
func BenchmarkBroadcast(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			r := room.New(room.Options{QueueLen: 1 << 20, MessageRate: 1e12, MessageBurst: 1 << 30})
			members := make([]room.Member, n)
			for i := range members {
				members[i], _ = r.Join(fmt.Sprintf("m%d", i), "")
			}
			buf := make([]*room.Event, 0, 1024)
			b.ResetTimer()
			for i := range b.N {
				if err := members[i%n].Say("hello, everybody"); err != nil {
					b.Fatal(err)
				}
				if i%256 == 255 { // members read, as their sessions would
					b.StopTimer()
					for _, m := range members {
						buf = m.Take(buf[:0])
					}
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/member")
		})
	}
}

// BenchmarkJoinBigRoom is one arrival in a room of n whose members have not
// read the news since the last: a crowd arriving costs a join, not a wake
// of everyone per join.
func BenchmarkJoinBigRoom(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			r := room.New(room.Options{})
			for i := range n {
				m, _ := r.Join(fmt.Sprintf("m%d", i), "")
				m.NewsRead()
			}
			b.ResetTimer()
			for i := range b.N {
				m, err := r.Join(fmt.Sprintf("new%d", i), "")
				if err != nil {
					b.Fatal(err)
				}
				m.Leave()
			}
		})
	}
}
