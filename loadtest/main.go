// Command loadtest measures a chatroom server the way its users would load
// it: N SSH clients with PTYs, each screen kept by a terminal emulator,
// connecting a few at a time, then messages typed by random clients at a
// steady rate while it times how long each takes to appear on every other
// screen. Given the server's PID it also reports the server's CPU and
// memory. A run is bounded in clients and time and stops by itself.
//
//	go run ./loadtest -addr 127.0.0.1:2222 -n 1000 -phases 0/s:10s,20/s:20s -pid $(pidof chatroom)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

func main() {
	var (
		cfg    config
		phases string
		asJSON bool
	)
	flag.StringVar(&cfg.Addr, "addr", "127.0.0.1:2222", "server address; several, comma-separated, share the clients (the nodes of a cluster)")
	flag.IntVar(&cfg.Clients, "n", 100, fmt.Sprintf("clients (2 to %d)", maxClients))
	flag.IntVar(&cfg.Parallel, "parallel", 32, "connections set up at once")
	flag.IntVar(&cfg.Width, "width", 100, "terminal width")
	flag.IntVar(&cfg.Height, "height", 30, "terminal height")
	flag.StringVar(&phases, "phases", "0/s:10s,20/s:20s", "RATE/s:DURATION,... messages a second over all clients; 0 measures idle")
	flag.DurationVar(&cfg.Grace, "grace", 5*time.Second, "after a phase, how long late deliveries still count")
	pids := flag.String("pid", "", "the server's PID, to measure its CPU and memory (same machine); several, comma-separated, are summed")
	flag.IntVar(&cfg.AuxPID, "aux-pid", 0, "another process whose CPU is reported beside the server's (nats-server)")
	flag.IntVar(&cfg.Screens, "screens", -1, "emulate the screens of only this many clients; the others scan their output (cheaper); -1 for all")
	flag.StringVar(&cfg.Prefix, "prefix", "lt", "client name prefix")
	flag.BoolVar(&cfg.Guests, "guests", false, "log in as guests, with no key (default: each client has a key of its own)")
	flag.BoolVar(&cfg.Storm, "storm", false, "at the end, drop every client at once and dial them all again (a reconnect storm)")
	compare := flag.Bool("compare", false, "compare reports: loadtest -compare FLOOR.json,... CHATROOM.json,... prints the medians and their ratios")
	labels := flag.String("labels", "floor,chatroom", "with -compare, what to call the two sides")
	flag.BoolVar(&asJSON, "json", false, "print the report as JSON")
	cpuprofile := flag.String("cpuprofile", "", "write the load generator's CPU profile here")
	makeNames := flag.Int("make-names", 0, "print a names file binding this many names (seed0, seed1, ...) to fresh keys, and exit: chatroom imports it on its first start")
	flag.Parse()
	if *makeNames > 0 {
		if err := writeNames(os.Stdout, *makeNames, time.Now()); err != nil {
			log.Fatal(err)
		}
		return
	}
	if *compare {
		if flag.NArg() != 2 {
			log.Fatal("-compare takes two comma-separated lists of JSON reports: the floor's and chatroom's")
		}
		a, b, _ := strings.Cut(*labels, ",")
		if err := compareReports(os.Stdout, [2]string{a, b}, strings.Split(flag.Arg(0), ","), strings.Split(flag.Arg(1), ",")); err != nil {
			log.Fatal(err)
		}
		return
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	for _, f := range strings.FieldsFunc(*pids, func(r rune) bool { return r == ',' }) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			log.Fatalf("-pid: %q is not a PID", f)
		}
		cfg.PIDs = append(cfg.PIDs, pid)
	}
	var err error
	if cfg.Phases, err = parsePhases(phases); err != nil {
		log.Fatal(err)
	}
	cfg.Log = func(format string, args ...any) { log.Printf(format, args...) }

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := run(ctx, cfg)
	if rep != nil {
		if asJSON {
			json.NewEncoder(os.Stdout).Encode(rep)
		} else {
			printReport(rep)
		}
	}
	if err != nil {
		pprof.StopCPUProfile()
		log.Fatal(err)
	}
}

func printReport(r *report) {
	fmt.Printf("clients %d (%d with emulated screens): connected in %v (p50 %v, p99 %v), %d failed\n",
		r.Clients, r.Screens, r.ConnectTotal.Round(time.Millisecond), r.ConnectP50, r.ConnectP99, r.ConnectFailed)
	if r.ServerMeasured {
		per := (r.RSSConnected - r.RSSBefore) / int64(max(r.Clients-r.ConnectFailed, 1))
		fmt.Printf("server RSS %d MiB before, %d MiB connected: %d KiB per session\n",
			r.RSSBefore>>20, r.RSSConnected>>20, per>>10)
	}
	fmt.Printf("%8s %8s %6s %9s %9s %9s %9s %9s %11s %8s %8s %8s\n",
		"rate", "time", "sent", "deliv", "p50", "p95", "p99", "max", "all-p99", "cpu", "rss", "aux-cpu")
	for _, p := range r.Phases {
		deliv := "-"
		if p.Expected > 0 {
			deliv = fmt.Sprintf("%.2f%%", 100*float64(p.Delivered)/float64(p.Expected))
		}
		fmt.Printf("%6g/s %8v %6d %9s %9v %9v %9v %9v %11v %7.1f%% %5dMiB %7.1f%%\n",
			p.Rate, p.Duration, p.Sent, deliv, p.P50, p.P95, p.P99, p.Max, p.AllP99, p.CPU, p.RSS>>20, p.AuxCPU)
	}
	fmt.Printf("%d clients still connected at the end; %d emulated screens without the last message\n", r.ClientsAtEnd, r.ScreensMissingLast)
	if r.StormConnected > 0 {
		fmt.Printf("reconnect storm: all back in %v (p99 %v, %d failed); server CPU back near idle after %v\n",
			r.StormConnected.Round(time.Millisecond), r.StormP99, r.StormFailed, r.StormSettled.Round(time.Millisecond))
	}
}
