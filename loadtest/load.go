package main

import (
	"context"
	"crypto/ed25519"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"chatroom/internal/termtest"

	gossh "golang.org/x/crypto/ssh"
)

// Limits keep a run bounded whatever it is asked.
const (
	maxClients  = 5000
	maxDuration = 15 * time.Minute
)

// phase is a stretch of time with messages sent at a steady rate; rate 0
// measures idle cost.
type phase struct {
	Rate     float64       // messages a second, over all clients
	Duration time.Duration // how long to send
}

// parsePhases reads "0/s:10s,20/s:20s".
func parsePhases(s string) ([]phase, error) {
	var out []phase
	for _, part := range strings.Split(s, ",") {
		r, d, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return nil, fmt.Errorf("phase %q: want RATE/s:DURATION", part)
		}
		rate, err := strconv.ParseFloat(strings.TrimSuffix(r, "/s"), 64)
		if err != nil || rate < 0 {
			return nil, fmt.Errorf("phase %q: bad rate", part)
		}
		dur, err := time.ParseDuration(d)
		if err != nil || dur <= 0 {
			return nil, fmt.Errorf("phase %q: bad duration", part)
		}
		out = append(out, phase{rate, dur})
	}
	return out, nil
}

// config is one run.
type config struct {
	Addr          string // one server, or several (comma-separated): client i dials the i-th, round
	Clients       int
	Parallel      int // connections being set up at once
	Width, Height int
	Phases        []phase
	Grace         time.Duration // after a phase, how long deliveries may still arrive
	PIDs          []int         // the server's processes (one a node), for CPU and memory, summed; none to skip
	AuxPID        int           // another process whose CPU is reported beside (NATS); 0 for none
	Screens       int           // clients whose screens are emulated (the rest only scan their output); <0 for all
	Prefix        string        // client names are Prefix0001...
	Guests        bool          // log in with no key (default: each client its own key, as real users have)
	Storm         bool          // at the end, drop everyone at once and dial again
	Log           func(format string, args ...any)
}

// report is what a run measured.
type report struct {
	Clients       int
	Screens       int           // clients whose screens were emulated
	ConnectTotal  time.Duration // from the first dial to the last first screen
	ConnectP50    time.Duration
	ConnectP99    time.Duration
	ConnectFailed int
	RSSBefore     int64 // server RSS in bytes before and after connecting
	RSSConnected  int64
	Phases        []phaseReport
	ClientsAtEnd  int // still connected when the run ended
	// ScreensMissingLast counts emulated screens not showing the last message.
	ScreensMissingLast int
	ServerTicksHz      int
	ServerMeasured     bool
	// The reconnect storm, if asked for: all back, p99 of one, failures,
	// and when the server's CPU was back near idle.
	StormConnected, StormP99, StormSettled time.Duration
	StormFailed                            int
}

type phaseReport struct {
	phase
	Sent                   int
	Expected, Delivered    int           // deliveries: messages x other clients
	P50, P95, P99, Max     time.Duration // per delivery: send to visible
	AllP50, AllP99, AllMax time.Duration // per message: send to visible everywhere
	CPU                    float64       // server CPU, percent of one core
	AuxCPU                 float64       // the other process's (NATS), ditto
	RSS                    int64
	Disconnected           int // clients that went away during the phase
}

var tokenRE = regexp.MustCompile(`#L(\d{8})#`)

// lclient is one load client: its SSH session and what it has seen.
type lclient struct {
	idx  int
	c    *termtest.Client
	seen *seen
}

// seen records when each message token first appeared in a client's output.
type seen struct {
	mu      sync.Mutex
	carry   []byte
	at      map[int]time.Time
	welcome chan struct{}
	welcOK  atomic.Bool
}

func newSeen() *seen { return &seen{at: make(map[int]time.Time), welcome: make(chan struct{})} }

func (s *seen) Write(p []byte) (int, error) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	buf := append(s.carry, p...)
	if !s.welcOK.Load() && strings.Contains(string(buf), " online ") {
		s.welcOK.Store(true)
		close(s.welcome)
	}
	last := 0
	for _, m := range tokenRE.FindAllSubmatchIndex(buf, -1) {
		n, _ := strconv.Atoi(string(buf[m[2]:m[3]]))
		if _, ok := s.at[n]; !ok {
			s.at[n] = now
		}
		last = m[1]
	}
	tail := buf[max(last, len(buf)-16):]
	s.carry = append(s.carry[:0], tail...)
	return len(p), nil
}

func (s *seen) when(n int) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.at[n]
	return t, ok
}

// run connects the clients, runs the phases and measures.
func run(ctx context.Context, cfg config) (*report, error) {
	if cfg.Clients < 2 || cfg.Clients > maxClients {
		return nil, fmt.Errorf("clients: want 2 to %d", maxClients)
	}
	var total time.Duration
	for _, p := range cfg.Phases {
		total += p.Duration + cfg.Grace
	}
	if total > maxDuration {
		return nil, fmt.Errorf("phases last %v; at most %v", total, maxDuration)
	}
	ctx, cancel := context.WithTimeout(ctx, maxDuration+time.Duration(cfg.Clients)*time.Second/10)
	defer cancel()
	logf := cfg.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	rep := &report{Clients: cfg.Clients, ServerTicksHz: 100, ServerMeasured: len(cfg.PIDs) > 0, Screens: cfg.Clients}
	if cfg.Screens >= 0 {
		rep.Screens = min(cfg.Screens, cfg.Clients)
	}
	rep.RSSBefore, _ = procRSS(cfg.PIDs...)

	keys := make([]gossh.Signer, cfg.Clients)
	if !cfg.Guests {
		// A key of its own for each client, as every OpenSSH user with a
		// key has: the server binds a name to it on first visit.
		for i := range keys {
			_, priv, _ := ed25519.GenerateKey(crand.Reader)
			keys[i], _ = gossh.NewSignerFromKey(priv)
		}
	}
	start := time.Now()
	clients, connectTimes, failed := connectAll(ctx, cfg, keys)
	rep.ConnectFailed = failed
	rep.ConnectTotal = time.Since(start)
	rep.ConnectP50, rep.ConnectP99 = pct(connectTimes, 50), pct(connectTimes, 99)
	live := slices.DeleteFunc(slices.Clone(clients), func(c *lclient) bool { return c == nil })
	defer func() {
		var wg sync.WaitGroup
		for _, c := range live {
			wg.Go(func() { c.c.Close() })
		}
		wg.Wait()
	}()
	logf("connected %d of %d in %v (p50 %v, p99 %v)", len(live), cfg.Clients, rep.ConnectTotal.Round(time.Millisecond), rep.ConnectP50, rep.ConnectP99)
	if len(live) < 2 {
		return rep, errors.New("fewer than two clients connected")
	}
	// Let the join notices settle before measuring.
	settle(ctx, 2*time.Second)
	rep.RSSConnected, _ = procRSS(cfg.PIDs...)

	next := 0 // message numbers
	for _, ph := range cfg.Phases {
		pr, err := runPhase(ctx, cfg, ph, live, &next)
		if err != nil {
			return rep, err
		}
		logf("phase %g/s for %v: %d sent, %.2f%% delivered, p50 %v p99 %v max %v, all-visible p99 %v, server CPU %.0f%%",
			ph.Rate, ph.Duration, pr.Sent, 100*float64(pr.Delivered)/float64(max(pr.Expected, 1)),
			pr.P50, pr.P99, pr.Max, pr.AllP99, pr.CPU)
		rep.Phases = append(rep.Phases, pr)
	}
	for _, c := range live {
		select {
		case <-c.c.Done():
		default:
			rep.ClientsAtEnd++
		}
	}
	// What was timed in the byte stream must be what a person sees: the
	// last message is on every emulated screen.
	if last := next - 1; last >= 0 {
		token := fmt.Sprintf("#L%08d#", last)
		for _, c := range live {
			if s := c.c.Screen(); s != "" && !strings.Contains(s, token) {
				rep.ScreensMissingLast++
			}
		}
	}
	if cfg.Storm {
		if err := storm(ctx, cfg, rep, keys, &live); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// storm drops every client at once and dials them all again, as after a
// network blip: how long until all see their first screen, and until the
// server's CPU is back under 1.5 times its idle level (the first 0/s
// phase's, or measured here).
func storm(ctx context.Context, cfg config, rep *report, keys []gossh.Signer, live *[]*lclient) error {
	idle := -1.0
	for _, p := range rep.Phases {
		if p.Rate == 0 {
			idle = p.CPU
			break
		}
	}
	cpuOver := func(d time.Duration) float64 {
		t0, _ := procCPU(cfg.PIDs...)
		settle(ctx, d)
		t1, _ := procCPU(cfg.PIDs...)
		return float64(t1-t0) / d.Seconds() // ticks are 1/100 s: percent of a core
	}
	if idle < 0 {
		idle = cpuOver(3 * time.Second)
	}
	var wg sync.WaitGroup
	for _, c := range *live {
		wg.Go(func() { c.c.Close() })
	}
	wg.Wait()
	start := time.Now()
	again, times, failed := connectAll(ctx, cfg, keys)
	rep.StormConnected, rep.StormFailed = time.Since(start), failed
	rep.StormP99 = pct(times, 99)
	*live = slices.DeleteFunc(again, func(c *lclient) bool { return c == nil })
	if len(cfg.PIDs) > 0 {
		for time.Since(start) < time.Minute && ctx.Err() == nil {
			if cpuOver(500*time.Millisecond) <= max(1.5*idle, 1) {
				break
			}
		}
		rep.StormSettled = time.Since(start)
	}
	if cfg.Log != nil {
		cfg.Log("storm: %d of %d back in %v (p99 %v); CPU back under 1.5x idle (%.1f%%) after %v",
			len(*live), cfg.Clients, rep.StormConnected.Round(time.Millisecond), rep.StormP99, idle, rep.StormSettled.Round(time.Millisecond))
	}
	return ctx.Err()
}

// sendTimes is when each message was typed, and by whom.
type sent struct {
	at   time.Time
	from int
}

func runPhase(ctx context.Context, cfg config, ph phase, live []*lclient, next *int) (phaseReport, error) {
	pr := phaseReport{phase: ph}
	a0, _ := procCPU(cfg.AuxPID)
	t0, err := procCPU(cfg.PIDs...)
	if err != nil && len(cfg.PIDs) > 0 {
		return pr, err
	}
	wall := time.Now()
	var msgs []sent
	first := *next
	if ph.Rate > 0 {
		interval := time.Duration(float64(time.Second) / ph.Rate)
		tick := time.NewTicker(interval)
		end := time.After(ph.Duration)
	loop:
		for {
			select {
			case <-ctx.Done():
				tick.Stop()
				return pr, ctx.Err()
			case <-end:
				break loop
			case <-tick.C:
				from := live[rand.IntN(len(live))]
				n := *next
				*next++
				msgs = append(msgs, sent{at: time.Now(), from: from.idx})
				// Typing is not instant; send the line as one write, as a
				// paste or a fast typist's terminal would.
				_ = from.c.Send(fmt.Sprintf("#L%08d# load test message %d\r", n, n))
			}
		}
		tick.Stop()
	} else {
		settle(ctx, ph.Duration)
	}
	t1, _ := procCPU(cfg.PIDs...)
	a1, _ := procCPU(cfg.AuxPID)
	elapsed := time.Since(wall)
	if cfg.AuxPID > 0 {
		pr.AuxCPU = 100 * float64(a1-a0) / 100 / elapsed.Seconds()
	}
	if len(cfg.PIDs) > 0 {
		pr.CPU = 100 * float64(t1-t0) / 100 / elapsed.Seconds()
	}
	pr.RSS, _ = procRSS(cfg.PIDs...)
	pr.Sent = len(msgs)
	if len(msgs) > 0 {
		settle(ctx, cfg.Grace)
	}

	var all, each []time.Duration
	for i, m := range msgs {
		n := first + i
		var worst time.Duration
		got := 0
		for _, c := range live {
			if c.idx == m.from {
				continue
			}
			pr.Expected++
			if at, ok := c.seen.when(n); ok {
				got++
				d := at.Sub(m.at)
				each = append(each, d)
				worst = max(worst, d)
			}
		}
		pr.Delivered += got
		if got == len(live)-1 {
			all = append(all, worst)
		}
	}
	for _, c := range live {
		select {
		case <-c.c.Done():
			pr.Disconnected++
		default:
		}
	}
	pr.P50, pr.P95, pr.P99, pr.Max = pct(each, 50), pct(each, 95), pct(each, 99), pct(each, 100)
	pr.AllP50, pr.AllP99, pr.AllMax = pct(all, 50), pct(all, 99), pct(all, 100)
	return pr, nil
}

func settle(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// pct is the p-th percentile (p=100 is the maximum).
func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i].Round(100 * time.Microsecond)
}

// procCPU is the process's user+system time in clock ticks (1/100 s).
func procCPU(pids ...int) (int64, error) {
	var sum int64
	for _, pid := range pids {
		if pid <= 0 {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0, err
		}
		// Fields after the command name, which is in parentheses.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		sum += utime + stime
	}
	return sum, nil
}

// procRSS is the process's resident memory in bytes.
func procRSS(pids ...int) (int64, error) {
	var sum int64
	for _, pid := range pids {
		if pid <= 0 {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return 0, err
		}
		found := false
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				sum, found = sum+kb<<10, true
			}
		}
		if !found {
			return 0, errors.New("no VmRSS")
		}
	}
	return sum, nil
}

// connectAll dials every client, Parallel at a time; a client counts once
// it shows its first screen. It returns the clients (nil where one
// failed), how long each took, and how many failed.
func connectAll(ctx context.Context, cfg config, keys []gossh.Signer) ([]*lclient, []time.Duration, int) {
	logf := cfg.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	clients := make([]*lclient, cfg.Clients)
	connectTimes := make([]time.Duration, 0, cfg.Clients)
	failed := 0
	var mu sync.Mutex
	sem := make(chan struct{}, cfg.Parallel)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t0 := time.Now()
			sn := newSeen()
			blind := cfg.Screens >= 0 && i >= cfg.Screens
			o := termtest.Options{Width: cfg.Width, Height: cfg.Height, Output: sn, Blind: blind, Timeout: 30 * time.Second, Key: keys[i]}
			addrs := strings.Split(cfg.Addr, ",")
			c, err := termtest.Dial(addrs[i%len(addrs)], fmt.Sprintf("%s%04d", cfg.Prefix, i), o)
			if err == nil {
				select {
				case <-sn.welcome:
				case <-c.Done():
					err = errors.New("session ended before its first screen")
				case <-time.After(30 * time.Second):
					err = errors.New("no first screen in 30s")
				case <-ctx.Done():
					err = ctx.Err()
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				logf("client %d: %v", i, err)
				if c != nil {
					c.Close()
				}
				return
			}
			connectTimes = append(connectTimes, time.Since(t0))
			clients[i] = &lclient{idx: i, c: c, seen: sn}
		}()
	}
	wg.Wait()
	return clients, connectTimes, failed
}
