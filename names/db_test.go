package names_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"chatroom/internal/testkit"
	"chatroom/keys"
	"chatroom/names"

	gossh "golang.org/x/crypto/ssh"
)

func TestANameBelongsToItsFirstKey(t *testing.T) {
	dir := t.TempDir()
	st := testkit.OpenNames(t, dir)
	a, b := testkit.KeyFor(t, "a"), testkit.KeyFor(t, "b")
	if created, err := st.Claim("alice", a); !created || err != nil {
		t.Fatalf("claim: %v %v", created, err)
	}
	if created, err := st.Claim("alice", a); created || err != nil {
		t.Errorf("the owner again: %v %v", created, err)
	}
	if _, err := st.Claim("alice", b); !errors.Is(err, names.ErrOwned) {
		t.Errorf("another key: %v", err)
	}
	if _, err := st.Claim("Alice", b); err != nil {
		t.Errorf("names are case-sensitive: %v", err)
	}
	own := mustOwner(t, st, "alice")
	if !keys.SameKey(own.Key, a) || own.Fingerprint != keys.Fingerprint(a) || own.FirstSeen.IsZero() {
		t.Errorf("owner %+v", own)
	}
	if _, bound, err := st.Owner("nobody"); bound || err != nil {
		t.Errorf("an unbound name: %v %v", bound, err)
	}
	// A restart reads it back.
	st.Close()
	again := testkit.OpenNames(t, dir)
	if own := mustOwner(t, again, "alice"); !keys.SameKey(own.Key, a) {
		t.Error("binding lost across a restart")
	}
	if found, err := again.Release("alice"); !found || err != nil {
		t.Errorf("release: %v %v", found, err)
	}
	if found, _ := again.Release("alice"); found {
		t.Error("released twice")
	}
	if created, err := again.Claim("alice", b); !created || err != nil {
		t.Errorf("bind after release: %v %v", created, err)
	}
}

// The operator's "chatroom names release" is another process with the
// database open while the server runs: the server sees the change at once,
// and its later writes keep it.
func TestAnotherProcessCanChangeTheStoreWhileAServerRuns(t *testing.T) {
	dir := t.TempDir()
	server, cli := testkit.OpenNames(t, dir), testkit.OpenNames(t, dir)
	a, b := testkit.KeyFor(t, "a"), testkit.KeyFor(t, "b")
	server.Claim("alice", a)
	server.Claim("bob", b)
	server.Claim("alice", a) // seen again: a last-seen time to flush
	if found, err := cli.Release("alice"); !found || err != nil {
		t.Fatalf("release from another process: %v %v", found, err)
	}
	if _, bound, _ := server.Owner("alice"); bound {
		t.Error("the server did not see the release")
	}
	if err := server.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := server.Claim("carol", testkit.KeyFor(t, "c")); err != nil {
		t.Fatal(err)
	}
	list, err := cli.List()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, bd := range list {
		got = append(got, bd.Name)
	}
	if fmt.Sprint(got) != "[bob carol]" {
		t.Errorf("bindings %v, want [bob carol]", got)
	}
}

func TestLastSeenIsWrittenByFlush(t *testing.T) {
	dir := t.TempDir()
	st := testkit.OpenNames(t, dir)
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	names.SetClock(st, func() time.Time { return now })
	k := testkit.KeyFor(t, "a")
	st.Claim("alice", k)
	now = now.Add(time.Hour)
	st.Claim("alice", k) // seen again: kept in memory
	other := testkit.OpenNames(t, dir)
	if mustOwner(t, other, "alice").LastSeen.Equal(now) {
		t.Error("last seen written before Flush")
	}
	if !mustOwner(t, st, "alice").LastSeen.Equal(now) {
		t.Error("the store that saw her does not say so before Flush")
	}
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	if b := mustOwner(t, other, "alice"); !b.LastSeen.Equal(now) || !b.FirstSeen.Equal(now.Add(-time.Hour)) {
		t.Errorf("first %v, last %v", b.FirstSeen, b.LastSeen)
	}
	// Leaving is seeing too; a name nobody owns is not bound by it.
	now = now.Add(time.Hour)
	st.Seen("alice")
	st.Seen("nobody")
	if err := st.Close(); err != nil { // Close flushes
		t.Fatal(err)
	}
	if b := mustOwner(t, other, "alice"); !b.LastSeen.Equal(now) {
		t.Errorf("after Seen, last seen %v, want %v", b.LastSeen, now)
	}
	if _, bound, _ := other.Owner("nobody"); bound {
		t.Error("Seen bound a name")
	}
}

func TestBansByKeyAndAddressLastAndLift(t *testing.T) {
	dir := t.TempDir()
	st := testkit.OpenNames(t, dir)
	fp := keys.Fingerprint(testkit.KeyFor(t, "m"))
	kfp := keys.Fingerprint(testkit.KeyFor(t, "k"))
	for _, b := range []names.Ban{
		{Fingerprint: fp, By: "alice", Name: "mallory", Reason: "spam and worse"},
		{Addr: "203.0.113.9", Until: time.Now().Add(time.Hour), By: "alice", Name: "guest1", Reason: "flood"},
		{Addr: "203.0.113.10", Until: time.Now().Add(-time.Minute), Name: "old"},
		{Fingerprint: kfp, Addr: "198.51.100.7", By: "alice", Name: "kim", Reason: "both"},
	} {
		if err := st.Ban(b); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	again := testkit.OpenNames(t, dir)
	banned := func(fp, addr string) []names.Ban {
		t.Helper()
		b, err := again.Banned(fp, addr)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if b := banned(fp, "192.0.2.1"); len(b) != 1 || b[0].Reason != "spam and worse" || !b[0].Until.IsZero() || b[0].By != "alice" {
		t.Errorf("key ban: %+v", b)
	}
	if b := banned("", "203.0.113.9"); len(b) != 1 || b[0].Until.IsZero() {
		t.Errorf("address ban: %+v", b)
	}
	if b := banned("", "203.0.113.10"); len(b) != 0 {
		t.Error("an expired ban still holds")
	}
	if b := banned("", ""); len(b) != 0 {
		t.Errorf("nothing asked, %d bans found", len(b))
	}
	if b := banned("", "198.51.100.7"); len(b) != 1 || b[0].Fingerprint != kfp || b[0].Reason != "both" {
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
	if bans, err := again.Bans(); len(bans) != 0 || err != nil {
		t.Errorf("bans left: %+v %v", bans, err)
	}
}

// Names unused for the TTL go; recent ones and their keys stay, and bans
// that ran out are forgotten.
func TestExpireReleasesOldNamesInBatches(t *testing.T) {
	st := testkit.OpenNames(t, t.TempDir())
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	names.SetClock(st, func() time.Time { return now })
	k := testkit.KeyFor(t, "k")
	for i := range 1234 { // more than one batch
		st.Claim(fmt.Sprint("old", i), k)
	}
	st.Ban(names.Ban{Addr: "203.0.113.1", Until: now.Add(time.Hour)})
	st.Ban(names.Ban{Addr: "203.0.113.2"})
	now = now.Add(400 * 24 * time.Hour)
	st.Claim("new", k)
	st.Seen("old7") // seen lately, not flushed yet: Expire flushes first
	n, err := st.Expire(context.Background(), now.Add(-365*24*time.Hour))
	if err != nil || n != 1233 {
		t.Fatalf("expired %d (%v), want 1233", n, err)
	}
	list, _ := st.List()
	if len(list) != 2 || list[0].Name != "new" || list[1].Name != "old7" {
		t.Errorf("left: %v", list)
	}
	bans, _ := st.Bans()
	if len(bans) != 1 || bans[0].Addr != "203.0.113.2" {
		t.Errorf("bans left: %+v", bans)
	}
}

// A database that is not one stops the start with a line that names the
// file and what to do, and is left as it was.
func TestACorruptDatabaseIsNeverReplaced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, names.DBFile)
	junk := []byte(strings.Repeat("not a database, but someone's file\n", 200))
	os.WriteFile(path, junk, 0o600)
	_, err := names.Open(dir)
	if err == nil || !errors.Is(err, names.ErrUnreadable) || !strings.Contains(err.Error(), path) ||
		!strings.Contains(err.Error(), "restore it from a backup") || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q, want one line naming %s and what to do", err, path)
	}
	if data, _ := os.ReadFile(path); string(data) != string(junk) {
		t.Error("the file was changed")
	}

	// A database from a newer chatroom is not touched either.
	dir = t.TempDir()
	st := testkit.OpenNames(t, dir)
	st.Close()
	rawExec(t, filepath.Join(dir, names.DBFile), "PRAGMA user_version = 99")
	if _, err := names.Open(dir); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("newer schema: %v", err)
	}
}

// rawExec runs one statement on a database, as an operator's sqlite3 would.
func rawExec(t *testing.T, path, stmt string) {
	t.Helper()
	if err := names.Exec(path, stmt); err != nil {
		t.Fatal(err)
	}
}

// The first start imports the text files earlier versions wrote, every
// field of every kind of line, and keeps them beside the database.
func TestTheFirstStartImportsTheTextStore(t *testing.T) {
	dir := t.TempDir()
	a, b := testkit.KeyFor(t, "a"), testkit.KeyFor(t, "b")
	line := func(name string, k gossh.PublicKey, first, last string) string {
		return fmt.Sprintf("%s %s %s %s %s", name, keys.Fingerprint(k), first, last,
			strings.TrimSpace(string(gossh.MarshalAuthorizedKey(k))))
	}
	namesText := "# chatroom names\n\n" +
		line("alice", a, "2025-01-02T03:04:05Z", "2026-02-03T04:05:06Z") + "\n" +
		line("bob.", b, "2025-05-05T05:05:05Z", "2025-06-06T06:06:06Z") + "\n"
	bansText := "# chatroom bans\n" +
		"key " + keys.Fingerprint(b) + " never alice bob. spam, and worse\n" +
		"addr 203.0.113.9 2099-01-01T00:00:00Z carol - flood\n" +
		"keyaddr " + keys.Fingerprint(a) + " 2001:db8::/64 never - mal both\n"
	os.WriteFile(filepath.Join(dir, names.NamesFile), []byte(namesText), 0o600)
	os.WriteFile(filepath.Join(dir, names.BansFile), []byte(bansText), 0o600)

	st := testkit.OpenNames(t, dir)
	al := mustOwner(t, st, "alice")
	if !keys.SameKey(al.Key, a) || al.FirstSeen.Format(time.RFC3339) != "2025-01-02T03:04:05Z" ||
		al.LastSeen.Format(time.RFC3339) != "2026-02-03T04:05:06Z" {
		t.Errorf("alice imported as %+v", al)
	}
	if bo := mustOwner(t, st, "bob."); !keys.SameKey(bo.Key, b) || bo.LastSeen.Format(time.RFC3339) != "2025-06-06T06:06:06Z" {
		t.Errorf("bob. imported as %+v", bo)
	}
	bans, _ := st.Bans()
	want := []names.Ban{
		{Fingerprint: keys.Fingerprint(b), By: "alice", Name: "bob.", Reason: "spam, and worse"},
		{Addr: "203.0.113.9", Until: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), By: "carol", Reason: "flood"},
		{Fingerprint: keys.Fingerprint(a), Addr: "2001:db8::/64", Name: "mal", Reason: "both"},
	}
	if fmt.Sprint(bans) != fmt.Sprint(want) {
		t.Errorf("bans imported as\n%+v\nwant\n%+v", bans, want)
	}
	for _, f := range []string{names.NamesFile, names.BansFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s still in place: it would read as the store", f)
		}
		if data, err := os.ReadFile(filepath.Join(dir, f+".imported")); err != nil || len(data) == 0 {
			t.Errorf("%s.imported, the backup: %v", f, err)
		}
	}
}

func TestAMalformedLineStopsTheImportWithItsNumber(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, names.NamesFile), []byte("# ok\n\nalice garbage\n"), 0o600)
	_, err := names.Open(dir)
	if err == nil || !strings.Contains(err.Error(), "names:3") {
		t.Errorf("error %v, want one naming names:3", err)
	}
	if _, err := os.Stat(filepath.Join(dir, names.DBFile)); err == nil {
		t.Error("a database was made from a store that did not read")
	}
	if _, err := os.Stat(filepath.Join(dir, names.NamesFile)); err != nil {
		t.Error("the text file was moved though it was not imported")
	}
}

// With the disk full, a binding that fails to save leaves nothing: the
// claim says so, the name stays free, and a second try fails the same way
// rather than succeeding in memory alone. The child process is the one
// whose disk is full: RLIMIT_FSIZE stops its files growing.
func TestABindingThatFailsToSaveLeavesNoTrace(t *testing.T) {
	if dir := os.Getenv("CHATROOM_FULL_DIR"); dir != "" {
		fullDisk(t, dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestABindingThatFailsToSaveLeavesNoTrace$", "-test.v")
	cmd.Env = append(os.Environ(), "CHATROOM_FULL_DIR="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var saved []string
	failed := ""
	for l := range strings.Lines(string(out)) {
		if name, ok := strings.CutPrefix(strings.TrimSpace(l), "saved "); ok {
			saved = append(saved, name)
		}
		if name, ok := strings.CutPrefix(strings.TrimSpace(l), "failed "); ok {
			failed = name
		}
	}
	if failed == "" || len(saved) == 0 {
		t.Fatalf("the child saved %d names and none failed:\n%s", len(saved), out)
	}
	st := testkit.OpenNames(t, dir)
	for _, n := range saved {
		mustOwner(t, st, n)
	}
	if _, bound, _ := st.Owner(failed); bound {
		t.Errorf("%s failed to save but is bound", failed)
	}
	t.Logf("%d saved before the disk filled; %s failed and left nothing", len(saved), failed)
}

func fullDisk(t *testing.T, dir string) {
	st, err := names.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	names.IgnoreXFSZ()
	// Files may grow to 64 KiB past what they are now; the WAL grows by a
	// page or more per binding, so the disk fills in a few dozen.
	lim := syscall.Rlimit{Cur: 64 << 10, Max: 64 << 10}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Skip("cannot limit file sizes:", err)
	}
	k := testkit.KeyFor(t, "k")
	for i := range 10000 {
		name := fmt.Sprint("n", i)
		if _, err := st.Claim(name, k); err != nil {
			fmt.Println("failed", name)
			if _, bound, _ := st.Owner(name); bound {
				t.Fatalf("%s is bound in memory after its claim failed", name)
			}
			if created, err := st.Claim(name, k); created || err == nil {
				t.Fatalf("the second try of %s: created %v, err %v", name, created, err)
			}
			return
		}
		fmt.Println("saved", name)
	}
	t.Fatal("the disk never filled")
}

// The crash test: a child process binds names while it is killed at random
// moments. After each kill the database must open, and every name the
// child said it had bound must still be bound to the right key.
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
		st, err := names.Open(dir)
		if err != nil {
			t.Fatalf("after kill %d the store does not open: %v", round, err)
		}
		for _, name := range confirmed {
			b, ok, err := st.Owner(name)
			if !ok || err != nil || !keys.SameKey(b.Key, testkit.KeyFor(t, name)) {
				t.Fatalf("after kill %d, %s (confirmed bound) is bound=%v (%v) to the wrong key", round, name, ok, err)
			}
		}
		st.Close()
	}
	if len(confirmed) < 10 {
		t.Errorf("only %d names bound in six rounds", len(confirmed))
	}
	t.Logf("%d names bound across 6 kills", len(confirmed))
}

// binder is the child: it binds n<round>-<i> for ever, saying so after each.
func binder(t *testing.T, dir string) {
	st, err := names.Open(dir)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	round := os.Getenv("CHATROOM_BINDER_ROUND")
	for i := 0; ; i++ {
		name := fmt.Sprintf("n%s-%d", round, i)
		if _, err := st.Claim(name, testkit.KeyFor(t, name)); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("bound", name)
	}
}

func mustOwner(t *testing.T, st *names.DB, name string) names.Binding {
	t.Helper()
	b, ok, err := st.Owner(name)
	if !ok || err != nil {
		t.Fatalf("%s not bound (%v)", name, err)
	}
	return b
}

// Root running "chatroom names" on the service's directory must leave every
// file the service's: the database, and the -wal and -shm files SQLite
// makes beside it.
func TestFilesRootMakesKeepTheDirectorysOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	dir := t.TempDir()
	const uid, gid = 65534, 65534 // nobody
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	st := testkit.OpenNames(t, dir)
	if _, err := st.Claim("alice", testkit.KeyFor(t, "a")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{names.DBFile, names.DBFile + "-wal", names.DBFile + "-shm"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if sys := fi.Sys().(*syscall.Stat_t); sys.Uid != uid || sys.Gid != gid {
			t.Errorf("%s is owned by %d:%d, want %d:%d", f, sys.Uid, sys.Gid, uid, gid)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v: others may read it", f, fi.Mode())
		}
	}
}

// Claims that arrive together are saved together, and each is answered
// as if alone: every new name is bound, and of two keys racing for one
// name exactly one wins.
func TestClaimsAtOnceAreEachAnswered(t *testing.T) {
	dir := t.TempDir()
	st := testkit.OpenNames(t, dir)
	const n = 200
	type result struct {
		created bool
		err     error
	}
	results := make(chan result, 2*n)
	for i := range n {
		for _, who := range []string{"a", "b"} {
			go func() {
				created, err := st.Claim(fmt.Sprint("race", i), testkit.KeyFor(t, who))
				results <- result{created, err}
			}()
		}
	}
	won, owned := 0, 0
	for range 2 * n {
		r := <-results
		switch {
		case r.created && r.err == nil:
			won++
		case errors.Is(r.err, names.ErrOwned):
			owned++
		default:
			t.Errorf("claim: %v %v", r.created, r.err)
		}
	}
	if won != n || owned != n {
		t.Errorf("%d won and %d found the name owned, want %d each", won, owned, n)
	}
	st.Close()
	if list, err := testkit.OpenNames(t, dir).List(); len(list) != n || err != nil {
		t.Errorf("%d names on disk (%v), want %d", len(list), err, n)
	}
	if _, err := st.Claim("late", testkit.KeyFor(t, "a")); err == nil {
		t.Error("a claim on a closed store succeeded")
	}
}

// A data directory may have any name: the database's path is escaped where
// SQLite reads it as a URI.
func TestADirectoryWithAnOddNameHoldsTheStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "chat room? #1 100%")
	st := testkit.OpenNames(t, dir)
	if _, err := st.Claim("alice", testkit.KeyFor(t, "a")); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := os.Stat(filepath.Join(dir, names.DBFile)); err != nil {
		t.Errorf("the database is not where it should be: %v", err)
	}
	mustOwner(t, testkit.OpenNames(t, dir), "alice")
}

// Whom a key ignores is kept, in order, and replaced whole; another key's
// list is its own.
func TestIgnoresAreKeptPerKey(t *testing.T) {
	dir := t.TempDir()
	st := testkit.OpenNames(t, dir)
	list := []names.Ignore{{Fingerprint: "SHA256:b", Name: "bob"}, {Name: "gus", Addr: "10.0.0.1"}}
	if err := st.SetIgnores("SHA256:a", list); err != nil {
		t.Fatal(err)
	}
	if err := st.SetIgnores("SHA256:c", list[:1]); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st = testkit.OpenNames(t, dir)
	if got, err := st.Ignores("SHA256:a"); err != nil || !slices.Equal(got, list) {
		t.Errorf("after reopening: %v, %v", got, err)
	}
	if err := st.SetIgnores("SHA256:a", list[1:]); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Ignores("SHA256:a"); !slices.Equal(got, list[1:]) {
		t.Errorf("after replacing: %v", got)
	}
	if got, _ := st.Ignores("SHA256:c"); !slices.Equal(got, list[:1]) {
		t.Errorf("another key's list: %v", got)
	}
	// An emptied list is empty, and a new one after it is kept: the
	// server knows who ignores anyone without asking the file.
	if err := st.SetIgnores("SHA256:c", nil); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Ignores("SHA256:c"); err != nil || len(got) != 0 {
		t.Errorf("after emptying: %v, %v", got, err)
	}
	if err := st.SetIgnores("SHA256:c", list[1:]); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Ignores("SHA256:c"); !slices.Equal(got, list[1:]) {
		t.Errorf("a list after an emptied one: %v", got)
	}
}
