package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"chatroom/internal/testkit"
	"chatroom/internal/testserver"
	"chatroom/names"
)

func TestTheLoadGeneratorMeasuresDeliveryAndLatency(t *testing.T) {
	addr := testserver.Start(t, testserver.Options{}).Addr
	rep, err := run(context.Background(), config{
		Addr: addr, Clients: 12, Parallel: 4, Width: 100, Height: 30, Screens: 6,
		Phases: []phase{{Rate: 0, Duration: 200 * time.Millisecond}, {Rate: 10, Duration: time.Second}},
		Grace:  2 * time.Second, Prefix: "t", Storm: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ConnectFailed != 0 || rep.ClientsAtEnd != 12 {
		t.Errorf("connect failed %d, %d at the end", rep.ConnectFailed, rep.ClientsAtEnd)
	}
	p := rep.Phases[1]
	if p.Sent < 5 || p.Delivered != p.Expected || p.Expected != p.Sent*11 {
		t.Errorf("sent %d, delivered %d of %d", p.Sent, p.Delivered, p.Expected)
	}
	if p.P50 <= 0 || p.P99 < p.P50 || p.Max < p.P99 || p.AllP99 < p.P50 {
		t.Errorf("latencies out of order: %+v", p)
	}
	if rep.ScreensMissingLast != 0 {
		t.Errorf("%d emulated screens do not show the last message", rep.ScreensMissingLast)
	}
	// The storm at the end: everyone dropped at once and back.
	if rep.StormConnected <= 0 || rep.StormFailed != 0 {
		t.Errorf("reconnect storm: back in %v, %d failed", rep.StormConnected, rep.StormFailed)
	}
}

func TestALoadRunIsBounded(t *testing.T) {
	for _, cfg := range []config{
		{Clients: maxClients + 1, Phases: []phase{{1, time.Second}}},
		{Clients: 10, Phases: []phase{{1, maxDuration}}, Grace: time.Second},
	} {
		if _, err := run(context.Background(), cfg); err == nil {
			t.Errorf("a run of %d clients for %v was accepted", cfg.Clients, cfg.Phases[0].Duration)
		}
	}
	if _, err := parsePhases("20/s:10s,0/s:5s"); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"20", "x/s:1s", "1/s:-1s"} {
		if _, err := parsePhases(bad); err == nil {
			t.Errorf("phases %q accepted", bad)
		}
	}
}

// BenchmarkLoad runs the load generator against an in-process server:
// 100 clients, 20 messages a second. It reports latency and delivery; CPU
// is shared with the clients here, so measure a separate server for that.
func BenchmarkLoad(b *testing.B) {
	addr := testserver.Start(b, testserver.Options{}).Addr
	for i := range b.N {
		rep, err := run(context.Background(), config{
			Addr: addr, Clients: 100, Parallel: 32, Width: 100, Height: 30, Screens: -1,
			Phases: []phase{{Rate: 20, Duration: 3 * time.Second}}, Grace: 2 * time.Second,
			Prefix: string(rune('a' + i%26)),
		})
		if err != nil {
			b.Fatal(err)
		}
		p := rep.Phases[0]
		b.ReportMetric(float64(p.P50.Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(p.P99.Microseconds())/1000, "p99-ms")
		b.ReportMetric(100*float64(p.Delivered)/float64(p.Expected), "delivered-%")
		b.ReportMetric(float64(rep.ConnectTotal.Milliseconds()), "connect-ms")
	}
}

// The comparison prints medians and chatroom's ratio to the floor.
func TestCompareShowsMediansAndRatios(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, cpu float64, connect time.Duration) string {
		r := report{Clients: 10, ConnectTotal: connect, Phases: []phaseReport{{phase: phase{Rate: 20}, CPU: cpu, Expected: 10, Delivered: 10}}}
		b, _ := json.Marshal(r)
		path := filepath.Join(dir, name)
		os.WriteFile(path, b, 0o600)
		return path
	}
	floor := []string{write("f1", 40, time.Second), write("f2", 50, 2*time.Second), write("f3", 45, 3*time.Second)}
	chat := []string{write("c1", 90, 2*time.Second), write("c2", 60, 4*time.Second), write("c3", 70, 6*time.Second)}
	var out strings.Builder
	if err := compareReports(&out, [2]string{"floor", "chatroom"}, floor, chat); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"medians of 3 floor and 3 chatroom runs", "20/s server CPU                            45.0         70.0    1.56x", "connected, all clients                   2000.0       4000.0    2.00x"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in:\n%s", want, out.String())
		}
	}
}

// The names file the benchmark seeds a store with is one chatroom imports.
func TestMadeNamesAreImported(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, names.NamesFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := writeNames(f, 50, time.Now()); err != nil {
		t.Fatal(err)
	}
	f.Close()
	list, err := testkit.OpenNames(t, dir).List()
	if err != nil || len(list) != 50 || list[0].Name != "seed0" {
		t.Errorf("imported %d names (%v)", len(list), err)
	}
}
