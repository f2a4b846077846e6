package names_test

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"chatroom/internal/testkit"
	"chatroom/keys"
	"chatroom/names"
)

func TestANameBelongsToItsFirstKey(t *testing.T) {
	dir := t.TempDir()
	st, err := names.OpenFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, b := testkit.KeyFor(t, "a"), testkit.KeyFor(t, "b")
	if err := st.Claim("alice", a); err != nil {
		t.Fatal(err)
	}
	if err := st.Claim("alice", a); err != nil {
		t.Errorf("the owner again: %v", err)
	}
	if err := st.Claim("alice", b); !errors.Is(err, names.ErrOwned) {
		t.Errorf("another key: %v", err)
	}
	if err := st.Claim("Alice", b); err != nil {
		t.Errorf("names are case-sensitive: %v", err)
	}
	own, ok := st.Owner("alice")
	if !ok || !keys.SameKey(own.Key, a) || own.Fingerprint != keys.Fingerprint(a) || own.FirstSeen.IsZero() {
		t.Errorf("owner %+v", own)
	}
	// The file says so in words, and a restart reads it back.
	data, _ := os.ReadFile(filepath.Join(dir, names.NamesFile))
	if !strings.Contains(string(data), "alice "+keys.Fingerprint(a)+" ") {
		t.Errorf("names file:\n%s", data)
	}
	again, err := names.OpenFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if own, ok := again.Owner("alice"); !ok || !keys.SameKey(own.Key, a) {
		t.Error("binding lost across a restart")
	}
	if found, err := again.Release("alice"); !found || err != nil {
		t.Errorf("release: %v %v", found, err)
	}
	if err := again.Claim("alice", b); err != nil {
		t.Errorf("bind after release: %v", err)
	}
}

func TestAnotherProcessCanChangeTheStoreWhileAServerRuns(t *testing.T) {
	dir := t.TempDir()
	server, _ := names.OpenFiles(dir)
	cli, _ := names.OpenFiles(dir)
	a, b := testkit.KeyFor(t, "a"), testkit.KeyFor(t, "b")
	server.Claim("alice", a)
	server.Claim("bob", b)
	server.Claim("bob", b) // seen again: a last-seen time to flush
	if found, err := cli.Release("alice"); !found || err != nil {
		t.Fatalf("release from another process: %v %v", found, err)
	}
	if _, ok := server.Owner("alice"); ok {
		t.Error("the server did not see the release")
	}
	// The server's later writes keep the other process's change.
	if err := server.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := server.Claim("carol", testkit.KeyFor(t, "c")); err != nil {
		t.Fatal(err)
	}
	fresh, _ := names.OpenFiles(dir)
	var names []string
	for _, bd := range fresh.List() {
		names = append(names, bd.Name)
	}
	if fmt.Sprint(names) != "[bob carol]" {
		t.Errorf("bindings %v, want [bob carol]", names)
	}
}

func TestLastSeenIsWrittenByFlush(t *testing.T) {
	dir := t.TempDir()
	st, _ := names.OpenFiles(dir)
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	names.SetClock(st, func() time.Time { return now })
	k := testkit.KeyFor(t, "a")
	st.Claim("alice", k)
	now = now.Add(time.Hour)
	st.Claim("alice", k) // seen again: kept in memory
	if got, _ := names.OpenFiles(dir); mustOwner(t, got, "alice").LastSeen.Equal(now) {
		t.Error("last seen written before Flush")
	}
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	got, _ := names.OpenFiles(dir)
	if b := mustOwner(t, got, "alice"); !b.LastSeen.Equal(now) || !b.FirstSeen.Equal(now.Add(-time.Hour)) {
		t.Errorf("first %v, last %v", b.FirstSeen, b.LastSeen)
	}
	// Leaving is seeing too; a name nobody owns is not noted.
	now = now.Add(time.Hour)
	st.Seen("alice")
	st.Seen("nobody")
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	got, _ = names.OpenFiles(dir)
	if b := mustOwner(t, got, "alice"); !b.LastSeen.Equal(now) {
		t.Errorf("after Seen, last seen %v, want %v", b.LastSeen, now)
	}
	if _, bound := got.Owner("nobody"); bound {
		t.Error("Seen bound a name")
	}
}

func mustOwner(t *testing.T, st *names.Files, name string) names.Binding {
	t.Helper()
	b, ok := st.Owner(name)
	if !ok {
		t.Fatalf("%s not bound", name)
	}
	return b
}

func TestBansByKeyAndAddressLastAndLift(t *testing.T) {
	dir := t.TempDir()
	st, _ := names.OpenFiles(dir)
	fp := keys.Fingerprint(testkit.KeyFor(t, "m"))
	if err := st.Ban(names.Ban{Fingerprint: fp, By: "alice", Name: "mallory", Reason: "spam and worse"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Ban(names.Ban{Addr: "203.0.113.9", Until: time.Now().Add(time.Hour), By: "alice", Name: "guest1", Reason: "flood"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Ban(names.Ban{Addr: "203.0.113.10", Until: time.Now().Add(-time.Minute), Name: "old"}); err != nil {
		t.Fatal(err)
	}
	kfp := keys.Fingerprint(testkit.KeyFor(t, "k"))
	if err := st.Ban(names.Ban{Fingerprint: kfp, Addr: "198.51.100.7", By: "alice", Name: "kim", Reason: "both"}); err != nil {
		t.Fatal(err)
	}
	again, _ := names.OpenFiles(dir)
	if b := again.Banned(fp, "192.0.2.1"); len(b) != 1 || b[0].Reason != "spam and worse" || !b[0].Until.IsZero() {
		t.Errorf("key ban: %+v", b)
	}
	if b := again.Banned("", "203.0.113.9"); len(b) != 1 {
		t.Error("address ban lost")
	}
	if b := again.Banned("", "203.0.113.10"); len(b) != 0 {
		t.Error("an expired ban still holds")
	}
	if b := again.Banned("", "198.51.100.7"); len(b) != 1 || b[0].Fingerprint != kfp || b[0].Reason != "both" {
		t.Errorf("a ban on a key and its address, by address: %+v", b)
	}
	if n, _ := again.Unban(kfp); n != 1 {
		t.Error("unban by fingerprint")
	}
	if n, err := again.Unban("mallory"); n != 1 || err != nil {
		t.Errorf("unban by name: %d %v", n, err)
	}
	if n, _ := again.Unban("203.0.113.9"); n != 1 {
		t.Error("unban by address")
	}
	if len(again.Bans()) != 0 {
		t.Errorf("bans left: %+v", again.Bans())
	}
}

func TestAStoreFileThatIsNotAStoreIsAnErrorWithItsLine(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, names.NamesFile), []byte("# ok\nalice garbage\n"), 0o600)
	_, err := names.OpenFiles(dir)
	if err == nil || !strings.Contains(err.Error(), "names:2") {
		t.Errorf("error %v, want one naming names:2", err)
	}
}

// The crash test: a child process binds names while it is killed at random
// moments. After each kill the file must parse, and every name the child
// said it had bound must still be bound to the right key.
func TestBindingsSurviveSIGKILL(t *testing.T) {
	if dir := os.Getenv("CHATROOM_BINDER_DIR"); dir != "" {
		binder(t, dir)
		return
	}
	dir := t.TempDir()
	var confirmed []string
	for round := range 6 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestBindingsSurviveSIGKILL$")
		cmd.Env = append(os.Environ(), "CHATROOM_BINDER_DIR="+dir, fmt.Sprintf("CHATROOM_BINDER_ROUND=%d", round))
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		kill := time.After(time.Duration(50+rand.IntN(250)) * time.Millisecond)
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break read
				}
				if name, found := strings.CutPrefix(l, "bound "); found {
					confirmed = append(confirmed, name)
				}
			case <-kill:
				cmd.Process.Signal(os.Kill)
				kill = nil
			}
		}
		cmd.Wait()
		st, err := names.OpenFiles(dir)
		if err != nil {
			t.Fatalf("after kill %d the store does not read: %v", round, err)
		}
		for _, name := range confirmed {
			b, ok := st.Owner(name)
			if !ok || !keys.SameKey(b.Key, testkit.KeyFor(t, name)) {
				t.Fatalf("after kill %d, %s (confirmed bound) is bound=%v to the wrong key", round, name, ok)
			}
		}
	}
	if len(confirmed) < 10 {
		t.Errorf("only %d names bound in six rounds", len(confirmed))
	}
	t.Logf("%d names bound across 6 kills", len(confirmed))
}

// binder is the child: it binds n<round>-<i> for ever, saying so after each.
func binder(t *testing.T, dir string) {
	st, err := names.OpenFiles(dir)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	round := os.Getenv("CHATROOM_BINDER_ROUND")
	for i := 0; ; i++ {
		name := fmt.Sprintf("n%s-%d", round, i)
		if err := st.Claim(name, testkit.KeyFor(t, name)); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("bound", name)
	}
}
