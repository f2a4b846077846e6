package keys_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"chatroom/keys"
)

func TestHostKeyIsCreatedOnceAndReused(t *testing.T) {
	path := filepath.Join(t.TempDir(), keys.HostKeyFile)
	first, err := keys.HostKeyFileOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := first.PublicKey().Type(); got != "ssh-ed25519" {
		t.Errorf("key type %s, want ssh-ed25519", got)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := st.Mode().Perm(); mode != 0o600 {
		t.Errorf("host key mode %o, want 600", mode)
	}
	second, err := keys.HostKeyFileOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.PublicKey().Marshal(), second.PublicKey().Marshal()) {
		t.Error("second call made a different key")
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

func TestHostKeyRaceHasOneWinner(t *testing.T) {
	path := filepath.Join(t.TempDir(), keys.HostKeyFile)
	var wg sync.WaitGroup
	pubs := make([][]byte, 8)
	for i := range pubs {
		wg.Go(func() {
			s, err := keys.HostKeyFileOrCreate(path)
			if err != nil {
				t.Error(err)
				return
			}
			pubs[i] = s.PublicKey().Marshal()
		})
	}
	wg.Wait()
	for _, p := range pubs[1:] {
		if !bytes.Equal(p, pubs[0]) {
			t.Fatal("concurrent starts ended with different host keys")
		}
	}
}

func TestHostKeyThatIsNotAKeyIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), keys.HostKeyFile)
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := keys.HostKeyFileOrCreate(path)
	if err == nil {
		t.Fatal("garbage accepted as a host key")
	}
	if !bytes.Contains([]byte(err.Error()), []byte(path)) {
		t.Errorf("error %q does not name the file", err)
	}
}
