// Package reason lists why chatroom turns a connection or a session away,
// or ends one. Each reason has one word, used as the metric label and in
// the log line (why=...), and the line the person is shown.
package reason

import "fmt"

// Reason is why a connection or session was refused or ended.
type Reason uint8

// Refusals: before the handshake, at authentication, or at the session.
const (
	Starting        Reason = iota + 1 // too many handshakes in progress overall
	AddrStarting                      // too many handshakes from one address
	AddrConnections                   // too many connections open from one address
	AddrNew                           // too many new connections from one address lately
	Penalty                           // an address whose handshakes keep failing
	ServerFull                        // --max-sessions reached
	ShuttingDown                      // the server is going down
	Exec                              // ssh host command
	NoTerminal                        // ssh -T
	Subsystem                         // sftp and the like
	SecondSession                     // a second session on one connection
	Banned                            // a moderator's ban
	NoProxyHeader                     // a balancer's connection without a PROXY header

	// Ends: the server closed a connection or a session.
	Keepalive      // no answer to keepalives
	WriteStall     // a write to the client made no progress
	InputFlood     // input far over the rate for long
	PasteFlood     // a paste that kept coming
	ShellTimeout   // logged in, opened no chat
	VersionTimeout // connected, sent no SSH version line in time
	Crash          // a bug in the session
	NotAllowed     // the key was removed from --allow-keys
	last
)

var table = [...]struct{ word, text string }{
	Starting:        {"starting", "too many connections are starting; try again in a moment"},
	AddrStarting:    {"addr_starting", "too many connections are starting from your address; try again in a moment"},
	AddrConnections: {"addr_connections", "too many connections from your address (at most %v)"},
	AddrNew:         {"addr_new", "too many new connections from your address; try again in %v"},
	Penalty:         {"penalty", "too many failed connections from your address; try again in %v"},
	ServerFull:      {"server_full", "the server is full; try again later"},
	ShuttingDown:    {"shutting_down", "the server is shutting down"},
	Exec:            {"exec", "commands are not supported; run ssh without a command to join the chat"},
	NoTerminal:      {"no_terminal", "a terminal is needed; run ssh without -T (add -t if it still fails)"},
	Subsystem:       {"subsystem", "the %v subsystem is not available; connect with plain ssh to chat"},
	SecondSession:   {"second_session", "chatroom allows one session per connection"},
	Banned:          {"banned", "you are banned%v"},
	NoProxyHeader:   {"no_proxy_header", "no PROXY protocol header from a balancer"},
	Keepalive:       {"keepalive", "Disconnected: no answer to keepalives."},
	WriteStall:      {"write_stall", "Disconnected: the connection stopped taking output."},
	InputFlood:      {"input_flood", "Disconnected: more than %v KiB/s of input for 5 seconds."},
	PasteFlood:      {"paste_flood", "Disconnected: a paste kept coming long after it was too big."},
	ShellTimeout:    {"shell_timeout", "no chat was opened"},
	VersionTimeout:  {"version_timeout", "no SSH version line in time"},
	Crash:           {"crash", "Sorry: chatroom hit an internal error. Please connect again."},
	NotAllowed:      {"not_allowed", "removed: this key is no longer allowed"},
}

// String is the reason's word: the metric label and the log's why=.
func (r Reason) String() string {
	if r == 0 || r >= last {
		return "unknown"
	}
	return table[r].word
}

// Text is the line the person is shown, with args filled in where the
// line has a place for them.
func (r Reason) Text(args ...any) string {
	if r == 0 || r >= last {
		return "unknown"
	}
	if len(args) == 0 {
		return table[r].text
	}
	return fmt.Sprintf(table[r].text, args...)
}
