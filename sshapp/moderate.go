package sshapp

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"chatroom/internal/clean"
	"chatroom/names"
	"chatroom/room"
)

// Whois describes name: key or guest, and how long they have been here;
// moderators also see the address.
func (st *seat) Whois(name string) string {
	shown := clean.Line(name, 2*room.MaxNameLen)
	e, ok := st.h.directory.get(name)
	if !ok {
		if b, bound := st.h.names.Owner(name); bound {
			return fmt.Sprintf("%s is not online. The name belongs to key %s, last seen %s ago.", shown, shortFP(b.Fingerprint), since(b.LastSeen))
		}
		return shown + " is not online."
	}
	s := fmt.Sprintf("%s: key %s, online for %s", shown, shortFP(e.id.fp), since(e.since))
	if e.id.guest() {
		s = fmt.Sprintf("%s: a guest (no key), online for %s", shown, since(e.since))
	}
	if st.h.moderator(e.id) {
		s += ", a moderator"
	}
	if st.Moderator() {
		s += ", from " + e.id.addr.String()
	}
	return s + "."
}

// Moderate runs a moderator's command: kick, ban, unban, banned, release.
// Whether the person may is checked here, not only by the screen.
func (st *seat) Moderate(cmd, args string) (reply string, failed bool) {
	if !st.Moderator() {
		return fmt.Sprintf("Not allowed: only moderators may /%s.", cmd), true
	}
	target, rest, _ := strings.Cut(args, " ")
	rest = strings.TrimSpace(rest)
	switch cmd {
	case "kick":
		return st.kick(target, rest)
	case "ban":
		return st.ban(target, rest)
	case "unban":
		return st.unban(target)
	case "banned":
		return st.bans()
	case "release":
		return st.release(target)
	}
	return "Unknown command /" + clean.Line(cmd, 32) + ".", true
}

func (st *seat) kick(target, why string) (string, bool) {
	by := "kicked by " + st.name
	if why != "" {
		by += ": " + why
	}
	if !st.h.room.Kick(target, by) {
		return clean.Line(target, 2*room.MaxNameLen) + " is not online.", true
	}
	st.log.Info("kicked", "name", target, "by", st.name)
	return "", false
}

func (st *seat) ban(target, rest string) (string, bool) {
	h := st.h
	shown := clean.Line(target, 2*room.MaxNameLen)
	ban := names.Ban{By: st.name, Name: target}
	first, more, _ := strings.Cut(rest, " ")
	if d, ok := parseBanTime(first); ok {
		ban.Until, rest = time.Now().Add(d), strings.TrimSpace(more)
	}
	ban.Reason = clean.Line(rest, 200)
	switch e, online := h.directory.get(target); {
	case online && e.id.guest():
		ban.Addr = banAddr(e.id.addr)
	case online:
		ban.Fingerprint = e.id.fp
	default:
		b, bound := h.names.Owner(target)
		if !bound {
			return shown + " is neither online nor the owner of a name: nothing to ban.", true
		}
		ban.Fingerprint = b.Fingerprint
	}
	if err := h.names.Ban(ban); err != nil {
		st.log.Error("saving a ban", "err", err)
		return "The ban could not be saved.", true
	}
	why := "banned by " + st.name
	if !ban.Until.IsZero() {
		why += " for " + first
	}
	if ban.Reason != "" {
		why += ": " + ban.Reason
	}
	st.log.Info("banned", "name", target, "by", st.name, "key", ban.Fingerprint, "addr", ban.Addr, "until", ban.Until)
	if !h.room.Kick(target, why) {
		return shown + " is banned.", false
	}
	return "", false
}

func (st *seat) unban(what string) (string, bool) {
	shown := clean.Line(what, 2*room.MaxNameLen)
	n, err := st.h.names.Unban(what)
	switch {
	case err != nil:
		return "The change could not be saved.", true
	case n == 0:
		return "No ban matches " + shown + ".", true
	}
	st.log.Info("unbanned", "what", what, "by", st.name)
	return fmt.Sprintf("Lifted %d ban(s) on %s.", n, shown), false
}

func (st *seat) bans() (string, bool) {
	bans := st.h.names.Bans()
	if len(bans) == 0 {
		return "Nobody is banned.", false
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d banned:", len(bans))
	for _, bn := range bans {
		what := "key " + shortFP(bn.Fingerprint)
		if bn.Fingerprint == "" {
			what = "address " + bn.Addr
		}
		until := "for good"
		if !bn.Until.IsZero() {
			until = "until " + bn.Until.UTC().Format("Jan 2 15:04 MST")
		}
		fmt.Fprintf(&b, "\n  %s (%s) %s, by %s", bn.Name, what, until, bn.By)
		if bn.Reason != "" {
			b.WriteString(": " + bn.Reason)
		}
	}
	return b.String(), false
}

func (st *seat) release(name string) (string, bool) {
	shown := clean.Line(name, 2*room.MaxNameLen)
	found, err := st.h.names.Release(name)
	switch {
	case err != nil:
		return "The change could not be saved.", true
	case !found:
		return shown + " belongs to no key.", true
	}
	st.log.Info("released", "name", name, "by", st.name)
	return shown + " is free now: the next key to join with it will own it.", false
}

// shortFP is a fingerprint cut for showing: enough to tell keys apart.
func shortFP(fp string) string {
	if len(fp) > 19 {
		return fp[:19] + "…"
	}
	return fp
}

// since says how long ago t was, roughly.
func since(t time.Time) string {
	d := time.Since(t).Round(time.Second)
	switch {
	case d < time.Minute:
		return d.String()
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// parseBanTime reads a ban's length: a Go duration or a number of days
// ("7d").
func parseBanTime(s string) (time.Duration, bool) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || strconv.Itoa(n) != days {
			return 0, false
		}
		return time.Duration(n) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil && d > 0
}
