package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
)

// compareReports prints the median of each figure over the floor's runs
// and chatroom's, and chatroom's as a multiple of the floor's. Runs on a
// shared machine vary by a fifth: medians of runs interleaved with the
// floor's are what to compare.
//
// labels name the two sides (the floor and chatroom, by default).
func compareReports(w io.Writer, labels [2]string, floorFiles, chatFiles []string) error {
	load := func(files []string) ([]report, error) {
		var out []report
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			var r report
			if err := json.Unmarshal(b, &r); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			out = append(out, r)
		}
		return out, nil
	}
	floor, err := load(floorFiles)
	if err != nil {
		return err
	}
	chat, err := load(chatFiles)
	if err != nil {
		return err
	}
	med := func(rs []report, f func(report) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	row := func(name string, f func(report) float64, unit string) {
		a, b := med(floor, f), med(chat, f)
		ratio := "-"
		if a > 0 {
			ratio = fmt.Sprintf("%.2fx", b/a)
		}
		fmt.Fprintf(w, "%-34s %12.1f %12.1f %8s  %s\n", name, a, b, ratio, unit)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	fmt.Fprintf(w, "medians of %d %s and %d %s runs\n", len(floor), labels[0], len(chat), labels[1])
	fmt.Fprintf(w, "%-34s %12s %12s %8s\n", "", labels[0], labels[1], "ratio")
	row("connected, all clients", func(r report) float64 { return ms(r.ConnectTotal) }, "ms")
	row("connect p50", func(r report) float64 { return ms(r.ConnectP50) }, "ms")
	row("connect p99", func(r report) float64 { return ms(r.ConnectP99) }, "ms")
	row("emulated screens missing the last", func(r report) float64 { return float64(r.ScreensMissingLast) }, "screens")
	row("RSS per session", func(r report) float64 {
		return float64(r.RSSConnected-r.RSSBefore) / float64(max(r.Clients-r.ConnectFailed, 1)) / 1024
	}, "KiB")
	if chat[0].StormConnected > 0 && floor[0].StormConnected > 0 {
		row("reconnect storm, all back", func(r report) float64 { return ms(r.StormConnected) }, "ms")
		row("reconnect storm, CPU settled", func(r report) float64 { return ms(r.StormSettled) }, "ms")
	}
	for i := range chat[0].Phases {
		if i >= len(floor[0].Phases) {
			break
		}
		p := func(r report) phaseReport { return r.Phases[i] }
		name := fmt.Sprintf("%g/s", chat[0].Phases[i].Rate)
		row(name+" server CPU", func(r report) float64 { return p(r).CPU }, "% of a core")
		if chat[0].Phases[i].AuxCPU > 0 || floor[0].Phases[i].AuxCPU > 0 {
			row(name+" NATS CPU, beside", func(r report) float64 { return p(r).AuxCPU }, "% of a core")
		}
		if chat[0].Phases[i].Rate > 0 {
			row(name+" delivered", func(r report) float64 {
				return 100 * float64(p(r).Delivered) / float64(max(p(r).Expected, 1))
			}, "%")
			row(name+" fan-out p50", func(r report) float64 { return ms(p(r).P50) }, "ms")
			row(name+" fan-out p99", func(r report) float64 { return ms(p(r).P99) }, "ms")
			row(name+" all-visible p99", func(r report) float64 { return ms(p(r).AllP99) }, "ms")
		}
	}
	return nil
}
