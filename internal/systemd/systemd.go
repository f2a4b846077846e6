// Package systemd speaks the little of systemd's service protocol chatroom
// needs: readiness and watchdog notifications (sd_notify) and an inherited
// listening socket (socket activation). Outside systemd it does nothing.
package systemd

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// Manager is the service manager, as the environment it gave us describes
// it.
type Manager struct {
	getenv func(string) string
}

// New reads the service manager's variables through getenv.
func New(getenv func(string) string) Manager { return Manager{getenv} }

// Notify sends one state update ("READY=1", "STOPPING=1", "WATCHDOG=1") to
// $NOTIFY_SOCKET, if set.
func (s Manager) Notify(state string) error {
	path := s.getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	if path[0] == '@' { // an abstract socket
		path = "\x00" + path[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("notify systemd: %w", err)
	}
	defer conn.Close()
	_, err = conn.Write([]byte(state))
	return err
}

// WatchdogInterval is how often systemd wants to hear from us: half its
// WatchdogSec, or 0 if it set none (or set it for another process).
func (s Manager) WatchdogInterval() time.Duration {
	usec, err := strconv.ParseInt(s.getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return 0
	}
	if pid := s.getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	return time.Duration(usec) * time.Microsecond / 2
}

// Listener returns the socket systemd passed us, or nil if it passed none.
func (s Manager) Listener() (net.Listener, error) {
	if s.getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) {
		return nil, nil
	}
	n, err := strconv.Atoi(s.getenv("LISTEN_FDS"))
	if err != nil || n < 1 {
		return nil, nil
	}
	// Our children are not meant to see these.
	os.Unsetenv("LISTEN_PID")
	os.Unsetenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_FDNAMES")
	if n > 1 {
		return nil, errors.New("socket activation: chatroom takes one socket, systemd passed " + strconv.Itoa(n))
	}
	const firstFD = 3 // SD_LISTEN_FDS_START
	f := os.NewFile(firstFD, "systemd socket")
	l, err := net.FileListener(f)
	f.Close() // FileListener holds its own copy
	if err != nil {
		return nil, fmt.Errorf("socket activation: %w", err)
	}
	return l, nil
}
