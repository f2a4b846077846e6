package main_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The layout's arrows point one way: the SSH server knows no chat, the
// screen knows no SSH, and the broker knows nothing of ours but text
// cleaning; the sessions know NATS only as a room.Broker. This reads what each package really depends on, transitively.
func TestThePackagesDependOneWay(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		deps[f[0]] = f[1:]
	}
	never := map[string]func(dep string) bool{
		"chatroom/sshd": func(d string) bool {
			return d == "chatroom/sshapp" || d == "chatroom/tui" || d == "chatroom/room" || d == "chatroom/names"
		},
		"chatroom/tui": func(d string) bool {
			return d == "chatroom/sshd" || d == "chatroom/sshapp" || d == "chatroom/names" || d == "chatroom/keys" ||
				d == "golang.org/x/crypto/ssh" || strings.HasPrefix(d, "charm.land/ssh") || strings.HasPrefix(d, "charm.land/wish")
		},
		"chatroom/room": func(d string) bool {
			return strings.HasPrefix(d, "chatroom/") && d != "chatroom/internal/clean"
		},
		// The cluster is a second broker, not a second front end; and the
		// sessions reach it through room.Broker, never NATS itself.
		"chatroom/cluster": func(d string) bool {
			return d == "chatroom/sshd" || d == "chatroom/sshapp" || d == "chatroom/tui"
		},
		"chatroom/sshapp": func(d string) bool {
			return d == "chatroom/cluster" || strings.HasPrefix(d, "github.com/nats-io/")
		},
	}
	for pkg, bad := range never {
		if _, ok := deps[pkg]; !ok {
			t.Errorf("no package %s", pkg)
		}
		for _, d := range deps[pkg] {
			if bad(d) {
				t.Errorf("%s depends on %s", pkg, d)
			}
		}
	}
}
