package keys_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"chatroom/internal/testkit"
	"chatroom/keys"

	gossh "golang.org/x/crypto/ssh"
)

func TestAuthorizedKeys(t *testing.T) {
	dir := t.TempDir()
	a, b := testkit.KeyFor(t, "a"), testkit.KeyFor(t, "b")
	file := filepath.Join(dir, "allowed")
	os.WriteFile(file, []byte("# the team\n"+`no-pty,command="x" `+string(gossh.MarshalAuthorizedKey(a))+"\n"), 0o600)
	set, err := keys.LoadAuthorizedKeys(file)
	if err != nil {
		t.Fatal(err)
	}
	if !set.Contains(a) || set.Contains(b) || set.Len() != 1 {
		t.Error("wrong membership")
	}
	os.WriteFile(file, []byte(string(gossh.MarshalAuthorizedKey(a))+"not a key\n"), 0o600)
	if _, err := keys.LoadAuthorizedKeys(file); err == nil || !strings.Contains(err.Error(), ":2:") {
		t.Errorf("bad line: %v", err)
	}
}
