package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"chatroom/internal/testkit"
)

func TestTheServiceUnitVerifiesAndIsHardened(t *testing.T) {
	testkit.NeedTool(t, "systemd-analyze", "systemd")
	unit, err := os.ReadFile("deploy/chatroom.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Type=notify", "DynamicUser=yes", "StateDirectory=chatroom", "WatchdogSec=", "EnvironmentFile=-/etc/default/chatroom"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("the unit lacks %s", want)
		}
	}
	// verify checks that ExecStart exists: point it at the binary as built.
	dir := t.TempDir()
	installed := strings.Replace(string(unit), "ExecStart=/usr/bin/chatroom", "ExecStart="+binary, 1)
	os.WriteFile(filepath.Join(dir, "chatroom.service"), []byte(installed), 0o644)
	sock, _ := os.ReadFile("deploy/chatroom.socket")
	os.WriteFile(filepath.Join(dir, "chatroom.socket"), sock, 0o644)
	out, err := exec.Command("systemd-analyze", "verify", filepath.Join(dir, "chatroom.service"), filepath.Join(dir, "chatroom.socket")).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, _ = exec.Command("systemd-analyze", "security", "--offline=true", "deploy/chatroom.service").CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for chatroom.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	if level, _ := strconv.ParseFloat(string(m[1]), 64); level > 1.5 {
		t.Errorf("exposure %v, want 1.5 or less:\n%s", level, out)
	}
}

func TestTheEnvFileListsEverySettingWithItsDefault(t *testing.T) {
	help, _ := runBinary(t, nil, "--help")
	env, err := os.ReadFile("deploy/chatroom.env")
	if err != nil {
		t.Fatal(err)
	}
	settings := regexp.MustCompile(`env (CHATROOM_\w+), default (.*)`).FindAllStringSubmatch(help, -1)
	if len(settings) < 25 {
		t.Fatalf("only %d settings in --help", len(settings))
	}
	var all []string
	for _, s := range settings {
		name, def := s[1], s[2]
		line := regexp.MustCompile(`(?m)^#` + name + `=(.*)$`).FindStringSubmatch(string(env))
		if line == nil {
			t.Errorf("deploy/chatroom.env does not list %s", name)
			continue
		}
		if line[1] != "" && line[1] != def {
			t.Errorf("%s: the env file says %q, --help says %q", name, line[1], def)
		}
		if line[1] != "" {
			all = append(all, name+"="+line[1])
		}
	}
	// Every line, uncommented, is a valid setting.
	if out, code := runBinary(t, all, "--version"); code != 0 {
		t.Errorf("the env file's values do not all parse: %s", out)
	}
}

func TestTheDebianPackage(t *testing.T) {
	testkit.NeedTool(t, "dpkg-deb", "dpkg")
	testkit.NeedTool(t, "lintian", "lintian")
	out := t.TempDir()
	build := exec.Command("deploy/package.sh", out)
	build.Env = append(os.Environ(), "DEBFULLNAME=Ada Packager", "DEBEMAIL=ada@example.com")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("deploy/package.sh: %v\n%s", err, b)
	}
	debs, _ := filepath.Glob(filepath.Join(out, "*.deb"))
	if len(debs) != 1 {
		t.Fatalf("packages built: %v", debs)
	}
	deb := debs[0]
	contents, err := exec.Command("dpkg-deb", "--contents", deb).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"./usr/bin/chatroom", "./lib/systemd/system/chatroom.service",
		"./lib/systemd/system/chatroom.socket", "./etc/default/chatroom", "./usr/share/doc/chatroom/copyright"} {
		if !strings.Contains(string(contents), want+"\n") {
			t.Errorf("the package lacks %s:\n%s", want, contents)
		}
	}
	conffiles, err := exec.Command("dpkg-deb", "--info", deb, "conffiles").Output()
	if err != nil || strings.TrimSpace(string(conffiles)) != "/etc/default/chatroom" {
		t.Errorf("conffiles %q (%v), want /etc/default/chatroom", conffiles, err)
	}
	// The maintainer is who built it, as Debian's tools say; the licence is
	// the project's.
	if m, _ := exec.Command("dpkg-deb", "--field", deb, "Maintainer").Output(); strings.TrimSpace(string(m)) != "Ada Packager <ada@example.com>" {
		t.Errorf("Maintainer %q, want the one from DEBFULLNAME and DEBEMAIL", m)
	}
	// The binary inside runs and knows its version.
	x := t.TempDir()
	if b, err := exec.Command("dpkg-deb", "--extract", deb, x).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	copyright, _ := os.ReadFile(filepath.Join(x, "usr/share/doc/chatroom/copyright"))
	license, _ := os.ReadFile("LICENSE")
	if !strings.Contains(string(copyright), "License: Expat") || !strings.Contains(string(license), "MIT License") ||
		strings.Contains(string(copyright), "Proprietary") {
		t.Errorf("the package's copyright does not match LICENSE:\n%s", copyright)
	}
	version, _ := exec.Command("dpkg-deb", "--field", deb, "Version").Output()
	got, err := exec.Command(filepath.Join(x, "usr/bin/chatroom"), "--version").Output()
	if err != nil || !strings.Contains(string(got), strings.TrimSpace(string(version))) {
		t.Errorf("packaged --version says %q (%v); the package is %s", got, err, version)
	}
	lint := exec.Command("lintian", "--fail-on", "error", deb)
	if b, err := lint.CombinedOutput(); err != nil {
		t.Errorf("lintian found errors: %v\n%s", err, b)
	}
}

// The NATS unit verifies, and nats-server (built from the module the
// tests use) accepts the configuration, once its store points somewhere
// writable and its routes somewhere that resolves.
func TestTheNATSUnitAndConfigurationAreValid(t *testing.T) {
	testkit.NeedTool(t, "systemd-analyze", "systemd")
	dir := t.TempDir()
	nats := filepath.Join(dir, "nats-server")
	if b, err := exec.Command("go", "build", "-o", nats, "github.com/nats-io/nats-server/v2").CombinedOutput(); err != nil {
		t.Fatalf("building nats-server: %v\n%s", err, b)
	}
	unit, err := os.ReadFile("deploy/nats/nats-server.service")
	if err != nil {
		t.Fatal(err)
	}
	installed := strings.Replace(string(unit), "ExecStart=/usr/local/bin/nats-server", "ExecStart="+nats, 1)
	os.WriteFile(filepath.Join(dir, "nats-server.service"), []byte(installed), 0o644)
	out, err := exec.Command("systemd-analyze", "verify", filepath.Join(dir, "nats-server.service")).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	conf, err := os.ReadFile("deploy/nats/chatroom.conf")
	if err != nil {
		t.Fatal(err)
	}
	local := strings.NewReplacer("/var/lib/nats", filepath.Join(dir, "store"), "nats1:", "127.0.0.1:",
		"nats2:", "127.0.0.2:", "nats3:", "127.0.0.3:").Replace(string(conf))
	os.WriteFile(filepath.Join(dir, "chatroom.conf"), []byte(local), 0o644)
	if b, err := exec.Command(nats, "-c", filepath.Join(dir, "chatroom.conf"), "-t").CombinedOutput(); err != nil {
		t.Errorf("nats-server -t: %v\n%s", err, b)
	}
}
