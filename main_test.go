package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"chatroom/internal/termtest"
	"chatroom/internal/testkit"
	"chatroom/keys"

	gossh "golang.org/x/crypto/ssh"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "chatroom-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "chatroom")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func runBinary(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

func TestHelpListsEveryFlagWithItsEnvironmentVariableAndDefault(t *testing.T) {
	out, code := runBinary(t, nil, "--help")
	if code != 0 {
		t.Errorf("--help exit %d", code)
	}
	for _, want := range []string{"--listen ADDR", "CHATROOM_LISTEN", "default :2222",
		"--data-dir DIR", "CHATROOM_DATA_DIR", "$STATE_DIRECTORY", "./chatroom-data", "--version", "--help",
		"--pprof[=true|false]"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help does not mention %q:\n%s", want, out)
		}
	}
}

func TestVersionAndBadFlags(t *testing.T) {
	out, code := runBinary(t, nil, "--version")
	if code != 0 || !strings.HasPrefix(out, "chatroom ") {
		t.Errorf("--version: exit %d, %q", code, out)
	}
	if _, code := runBinary(t, nil, "--no-such-flag"); code != 2 {
		t.Errorf("an unknown flag exits %d, want 2", code)
	}
	if out, code := runBinary(t, nil, "stray"); code != 2 || !strings.Contains(out, "unexpected argument") {
		t.Errorf("a stray argument: exit %d, %q", code, out)
	}
	// Booleans take the forms --help shows, and nothing after them.
	for _, args := range [][]string{{"--pprof", "--version"}, {"--pprof=false", "--version"}, {"--limit-loopback=true", "--version"}} {
		if out, code := runBinary(t, nil, args...); code != 0 {
			t.Errorf("%v: exit %d, %q", args, code, out)
		}
	}
}

// server is the chatroom binary running on a loopback port.
type server struct {
	cmd    *exec.Cmd
	addr   string
	mu     sync.Mutex
	log    bytes.Buffer
	exited chan error
}

var listening = regexp.MustCompile(`msg=listening addr=(\S+)`)

func start(t *testing.T, dir string, env []string, args ...string) *server {
	t.Helper()
	s := &server{cmd: exec.Command(binary, args...), exited: make(chan error, 1)}
	s.cmd.Dir = dir
	s.cmd.Env = append(os.Environ(), env...)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.mu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		s.exited <- s.cmd.Wait()
	}()
	t.Cleanup(func() { s.cmd.Process.Kill() })
	select {
	case s.addr = <-addr:
	case err := <-s.exited:
		t.Fatalf("server exited: %v\n%s", err, s.logs())
	case <-time.After(testkit.Wait):
		t.Fatalf("server did not start listening:\n%s", s.logs())
	}
	return s
}

func (s *server) logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

func (s *server) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.exited:
		if err != nil {
			t.Errorf("exit after %v: %v\n%s", sig, err, s.logs())
		}
	case <-time.After(testkit.Wait):
		t.Fatalf("still running %v after %v\n%s", testkit.Wait, sig, s.logs())
	}
}

// hostKeyOf connects and returns the server's host key.
func hostKeyOf(t *testing.T, addr string) []byte {
	t.Helper()
	var key []byte
	conn, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{
		User: "probe",
		Auth: []gossh.AuthMethod{gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) { return nil, nil })},
		HostKeyCallback: func(_ string, _ net.Addr, k gossh.PublicKey) error {
			key = k.Marshal()
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	return key
}

func TestTheHostKeyIsMadeOnceAndReused(t *testing.T) {
	data := filepath.Join(t.TempDir(), "state")
	env := []string{"CHATROOM_LISTEN=127.0.0.1:0", "CHATROOM_DATA_DIR=" + data}
	s := start(t, t.TempDir(), env)
	first := hostKeyOf(t, s.addr)
	s.stop(t, syscall.SIGTERM)

	st, err := os.Stat(filepath.Join(data, "host_ed25519"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("host key mode %o, want 600", st.Mode().Perm())
	}
	s = start(t, t.TempDir(), env)
	if !bytes.Equal(first, hostKeyOf(t, s.addr)) {
		t.Error("the host key changed across a restart")
	}
	s.stop(t, syscall.SIGTERM)
}

func TestFlagsOverrideTheEnvironmentAndTheDefaultDataDirIsLocal(t *testing.T) {
	cwd := t.TempDir()
	s := start(t, cwd, []string{"CHATROOM_LISTEN=127.0.0.1:1"}, "--listen", "127.0.0.1:0")
	s.stop(t, syscall.SIGTERM)
	if _, err := os.Stat(filepath.Join(cwd, "chatroom-data", "host_ed25519")); err != nil {
		t.Errorf("no host key in ./chatroom-data: %v", err)
	}

	state := t.TempDir()
	s = start(t, cwd, []string{"STATE_DIRECTORY=" + state}, "--listen", "127.0.0.1:0")
	s.stop(t, syscall.SIGTERM)
	if _, err := os.Stat(filepath.Join(state, "host_ed25519")); err != nil {
		t.Errorf("no host key in $STATE_DIRECTORY: %v", err)
	}
}

func TestASignalTellsEveryoneAndStopsTheServer(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			s := start(t, t.TempDir(), nil, "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
			clients := []*termtest.Client{testkit.Join(t, s.addr, "alice", termtest.Options{}), testkit.Join(t, s.addr, "bob", termtest.Options{})}
			s.stop(t, sig)
			for _, c := range clients {
				select {
				case <-c.Done():
				case <-time.After(testkit.Wait):
					t.Fatal("a session outlived the server")
				}
				if !strings.Contains(c.Screen(), "The server is shutting down.") {
					t.Errorf("not told why:\n%s", c.Screen())
				}
			}
			if !strings.Contains(s.logs(), "shutting down") {
				t.Errorf("no shutdown in the log:\n%s", s.logs())
			}
		})
	}
}

func TestBadValuesFailInOneLineNamingTheSetting(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		args []string
		name string
	}{
		{nil, []string{"--max-sessions", "lots"}, "max-sessions"},
		{nil, []string{"--keepalive", "-5s"}, "keepalive"},
		{nil, []string{"--input-rate", "10XB"}, "input-rate"},
		{[]string{"CHATROOM_MAX_PASTE=0"}, nil, "CHATROOM_MAX_PASTE"},
		{[]string{"CHATROOM_LIMIT_LOOPBACK=maybe"}, nil, "CHATROOM_LIMIT_LOOPBACK"},
		{nil, []string{"--listen", "nonsense"}, "listen"},
		{nil, []string{"--new-names-per-hour", "-1"}, "new-names-per-hour"},
		{[]string{"CHATROOM_NAME_TTL=soon"}, nil, "CHATROOM_NAME_TTL"},
		{nil, []string{"--proxy-from", "10.0.0.0/33"}, "proxy-from"},
	} {
		out, code := runBinary(t, tc.env, append(tc.args, "--data-dir", t.TempDir())...)
		out = strings.TrimSpace(out)
		if code == 0 || !strings.Contains(out, tc.name) {
			t.Errorf("%v %v: exit %d, %q", tc.env, tc.args, code, out)
		}
		if lines := strings.Count(out, "\n") + 1; lines != 1 {
			t.Errorf("%v %v: %d lines of complaint:\n%s", tc.env, tc.args, lines, out)
		}
	}
}

func TestABalancerListedInProxyFromNamesTheClient(t *testing.T) {
	s := start(t, t.TempDir(), []string{"CHATROOM_PROXY_FROM=127.0.0.2, 10.9.0.0/16"}, "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	testkit.Join(t, s.addr, "alice", termtest.Options{LocalIP: "127.0.0.2",
		Preamble: []byte("PROXY TCP4 203.0.113.7 127.0.0.1 40000 2222\r\n")})
	if !testkit.Eventually(func() bool { return strings.Contains(s.logs(), "remote=203.0.113.7:40000") }) {
		t.Errorf("the log does not name the client:\n%s", s.logs())
	}
}

func TestLimitsFromTheEnvironmentApply(t *testing.T) {
	s := start(t, t.TempDir(), []string{"CHATROOM_MAX_SESSIONS=1", "CHATROOM_LISTEN=127.0.0.1:0", "CHATROOM_DATA_DIR=" + t.TempDir()})
	testkit.Join(t, s.addr, "first", termtest.Options{})
	second, err := termtest.Dial(s.addr, "second", termtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	<-second.Done()
	if !strings.Contains(second.Stderr(), "server is full; try again later") {
		t.Errorf("second client: %q", second.Stderr())
	}
	s.stop(t, syscall.SIGTERM)
}

// The binding limit is set from the environment: past it, a new key joins
// with its name unbound and is told so.
func TestTheNewNamesLimitFromTheEnvironmentApplies(t *testing.T) {
	s := start(t, t.TempDir(), []string{"CHATROOM_NEW_NAMES_PER_HOUR=1", "CHATROOM_LIMIT_LOOPBACK=true",
		"CHATROOM_NAME_TTL=30d", "CHATROOM_LISTEN=127.0.0.1:0", "CHATROOM_DATA_DIR=" + t.TempDir()})
	testkit.Join(t, s.addr, "first", termtest.Options{Key: testkit.NewKey(t)}).Close()
	second := testkit.Join(t, s.addr, "second", termtest.Options{Key: testkit.NewKey(t)})
	testkit.WaitText(t, second, "second is yours for this visit only")
	s.stop(t, syscall.SIGTERM)
}

// notifySocket is a fake systemd notify socket; it collects what it hears.
func notifySocket(t *testing.T) (string, <-chan string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	got := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			got <- string(buf[:n])
		}
	}()
	return path, got
}

func expectNotify(t *testing.T, got <-chan string, prefix string) string {
	t.Helper()
	for {
		select {
		case m := <-got:
			if strings.HasPrefix(m, prefix) {
				return m
			}
		case <-time.After(testkit.Wait):
			t.Fatalf("systemd was not told %q", prefix)
		}
	}
}

func TestSystemdHearsReadyWatchdogAndStopping(t *testing.T) {
	path, got := notifySocket(t)
	s := start(t, t.TempDir(), []string{"NOTIFY_SOCKET=" + path, "WATCHDOG_USEC=200000"},
		"--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	if m := expectNotify(t, got, "READY=1"); !strings.Contains(m, "STATUS=serving on "+s.addr) {
		t.Errorf("ready message %q", m)
	}
	expectNotify(t, got, "WATCHDOG=1")
	expectNotify(t, got, "WATCHDOG=1")
	s.cmd.Process.Signal(syscall.SIGTERM)
	expectNotify(t, got, "STOPPING=1")
	select {
	case err := <-s.exited:
		if err != nil {
			t.Errorf("exit: %v", err)
		}
	case <-time.After(testkit.Wait):
		t.Fatal("did not stop")
	}
}

// activated starts the binary as systemd would with socket activation: the
// listening socket as fd 3, LISTEN_FDS=1 and LISTEN_PID set to its PID.
func activated(t *testing.T, l *net.TCPListener, data string) *server {
	t.Helper()
	f, err := l.File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := &server{exited: make(chan error, 1), addr: l.Addr().String()}
	// sh's $$ is the PID that exec keeps.
	s.cmd = exec.Command("sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@"`, binary, "--listen", "127.0.0.1:1", "--data-dir", data)
	s.cmd.ExtraFiles = []*os.File{f}
	stderr, _ := s.cmd.StderrPipe()
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	fromSystemd := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.mu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if strings.Contains(sc.Text(), "socket from systemd") {
				close(fromSystemd)
			}
		}
		s.exited <- s.cmd.Wait()
	}()
	t.Cleanup(func() { s.cmd.Process.Kill() })
	select {
	case <-fromSystemd:
	case <-time.After(testkit.Wait):
		t.Fatalf("the server did not take the socket:\n%s", s.logs())
	}
	return s
}

func TestSocketActivationKeepsConnectionsWaitingAcrossARestart(t *testing.T) {
	l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	data := t.TempDir()
	first := activated(t, l, data)
	testkit.Join(t, first.addr, "alice", termtest.Options{}).Close()
	first.stop(t, syscall.SIGTERM)

	// No server now; systemd (here, this test) still holds the socket, so a
	// new connection waits in its queue instead of being refused.
	waiting := make(chan *termtest.Client, 1)
	go func() {
		c, err := termtest.Dial(first.addr, "bob", termtest.Options{Timeout: 30 * time.Second})
		if err != nil {
			t.Error(err)
		}
		waiting <- c
	}()
	second := activated(t, l, data)
	c := <-waiting
	if c == nil {
		t.FailNow()
	}
	defer c.Close()
	if err := c.WaitFor(testkit.Wait, func(s string) bool { return strings.Contains(s, "Welcome, bob.") }); err != nil {
		t.Fatal(err)
	}
	second.stop(t, syscall.SIGTERM)
}

var metricsAddr = regexp.MustCompile(`msg=metrics addr=(\S+)`)

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %s", url, resp.Status)
	}
	return string(b)
}

// metric reads one sample from a scrape, by its full name with labels.
func metric(t *testing.T, text, name string) float64 {
	t.Helper()
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no %s in the scrape", name)
	return 0
}

func TestMetricsMoveWhileClientsChat(t *testing.T) {
	s := start(t, t.TempDir(), nil, "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(),
		"--metrics-listen", "127.0.0.1:0", "--pprof")
	m := metricsAddr.FindStringSubmatch(s.logs())
	if m == nil {
		t.Fatalf("no metrics address logged:\n%s", s.logs())
	}
	url := "http://" + m[1]
	before := scrape(t, url+"/metrics")
	if metric(t, before, "chatroom_sessions") != 0 || metric(t, before, `chatroom_messages_total{kind="room"}`) != 0 {
		t.Error("metrics not at zero before anyone came")
	}
	cs := []*termtest.Client{testkit.Join(t, s.addr, "alice", termtest.Options{}), testkit.Join(t, s.addr, "bob", termtest.Options{})}
	cs[0].Send("hello\r")
	cs[1].WaitFor(testkit.Wait, func(s string) bool { return strings.Contains(s, "alice: hello") })
	cs[1].Send("/invite alice\r")
	if c, err := termtest.Dial(s.addr, "cmd", termtest.Options{NoPTY: true, Command: "ls"}); err == nil {
		<-c.Done()
		c.Close()
	}
	after := scrape(t, url+"/metrics")
	for name, want := range map[string]float64{
		"chatroom_sessions":                          2,
		"chatroom_members":                           2,
		`chatroom_messages_total{kind="room"}`:       1,
		`chatroom_messages_total{kind="invitation"}`: 1,
		`chatroom_refusals_total{reason="exec"}`:     1,
	} {
		if got := metric(t, after, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if metric(t, after, "chatroom_handshake_seconds_count") < 3 || metric(t, after, "chatroom_fanout_seconds_count") < 2 {
		t.Error("handshake or fan-out latency not recorded")
	}
	if metric(t, after, "go_goroutines") <= 0 || metric(t, after, "process_resident_memory_bytes") <= 0 {
		t.Error("no runtime metrics")
	}
	scrape(t, url+"/debug/pprof/")
	s.stop(t, syscall.SIGTERM)
}

func TestPprofIsOffUnlessAskedFor(t *testing.T) {
	s := start(t, t.TempDir(), []string{"CHATROOM_METRICS_LISTEN=127.0.0.1:0"}, "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	m := metricsAddr.FindStringSubmatch(s.logs())
	if m == nil {
		t.Fatalf("no metrics address logged:\n%s", s.logs())
	}
	resp, err := http.Get("http://" + m[1] + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("pprof answered %s without --pprof", resp.Status)
	}
	s.stop(t, syscall.SIGTERM)
}

func TestJSONLogsAreOneObjectPerLine(t *testing.T) {
	cmd := exec.Command(binary, "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--log-format", "json")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("not JSON: %q", sc.Text())
		}
		if rec["msg"] == "listening" {
			return
		}
	}
	t.Fatal("no listening event")
}

func TestVersionNamesTheRevision(t *testing.T) {
	rev, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skip("not in a git checkout")
	}
	bin := filepath.Join(t.TempDir(), "chatroom")
	if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), strings.TrimSpace(string(rev))) {
		t.Errorf("--version says %q; HEAD is %s", out, rev)
	}
}

func writeKeys(t *testing.T, path string, signers ...gossh.Signer) {
	t.Helper()
	var b []byte
	for _, s := range signers {
		b = append(b, gossh.MarshalAuthorizedKey(s.PublicKey())...)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestTheAllowListIsReadAgainOnSIGHUP(t *testing.T) {
	a, b := testkit.NewKey(t), testkit.NewKey(t)
	list := filepath.Join(t.TempDir(), "allowed")
	writeKeys(t, list, a)
	s := start(t, t.TempDir(), nil, "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--allow-keys", list)
	alice := testkit.Join(t, s.addr, "alice", termtest.Options{Key: a})
	if _, err := termtest.Dial(s.addr, "bob", termtest.Options{Key: b}); err == nil {
		t.Fatal("a key not on the list got in")
	}
	writeKeys(t, list, a, b)
	s.cmd.Process.Signal(syscall.SIGHUP)
	ok := false
	for deadline := time.Now().Add(testkit.Wait); time.Now().Before(deadline) && !ok; {
		if c, err := termtest.Dial(s.addr, "bob", termtest.Options{Key: b}); err == nil {
			ok = true
			c.Close()
		}
	}
	if !ok {
		t.Fatalf("bob's key not allowed after SIGHUP:\n%s", s.logs())
	}
	select {
	case <-alice.Done():
		t.Error("alice, still allowed, was dropped by the reload")
	default:
	}
	s.stop(t, syscall.SIGTERM)
}

func TestNamesCanBeListedAndReleasedWhileTheServerRuns(t *testing.T) {
	data := t.TempDir()
	a := testkit.NewKey(t)
	s := start(t, t.TempDir(), nil, "--listen", "127.0.0.1:0", "--data-dir", data)
	testkit.Join(t, s.addr, "alice", termtest.Options{Key: a}).Close()

	out, code := runBinary(t, nil, "names", "list", "--data-dir", data)
	if code != 0 || !strings.Contains(out, "alice") || !strings.Contains(out, keys.Fingerprint(a.PublicKey())) {
		t.Fatalf("names list: exit %d\n%s", code, out)
	}
	if out, code := runBinary(t, []string{"CHATROOM_DATA_DIR=" + data}, "names", "release", "alice"); code != 0 || !strings.Contains(out, "released alice") {
		t.Fatalf("names release: exit %d\n%s", code, out)
	}
	if _, code := runBinary(t, nil, "names", "release", "alice", "--data-dir", data); code != 1 {
		t.Errorf("releasing a free name exits %d, want 1", code)
	}
	// The running server sees it: another key may now take the name.
	testkit.Join(t, s.addr, "alice", termtest.Options{Key: testkit.NewKey(t)})
	s.stop(t, syscall.SIGTERM)
	if out, _ := runBinary(t, nil, "names", "list", "--data-dir", data); strings.Contains(out, keys.Fingerprint(a.PublicKey())) {
		t.Errorf("the old key still listed:\n%s", out)
	}
}

// A names database that does not read stops the server at start, and
// "chatroom names", with one line that names the file; it is left alone.
func TestACorruptNamesDatabaseStopsTheStart(t *testing.T) {
	data := t.TempDir()
	path := filepath.Join(data, "names.db")
	junk := []byte(strings.Repeat("this is no database\n", 100))
	os.WriteFile(path, junk, 0o600)
	for _, args := range [][]string{{"--listen", "127.0.0.1:0", "--data-dir", data}, {"names", "list", "--data-dir", data}} {
		out, code := runBinary(t, nil, args...)
		if code != 1 || !strings.Contains(out, path) || !strings.Contains(out, "restore it from a backup") {
			t.Errorf("chatroom %v: exit %d\n%s", args, code, out)
		}
		if lines := strings.Count(strings.TrimSpace(out), "\n") + 1; args[0] == "names" && lines != 1 {
			t.Errorf("chatroom %v said %d lines:\n%s", args, lines, out)
		}
	}
	if got, _ := os.ReadFile(path); string(got) != string(junk) {
		t.Error("the database was changed")
	}
}
