package sshapp

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"chatroom/internal/clean"
	"chatroom/internal/reason"
	"chatroom/names"
	"chatroom/room"
)

// Whois describes name: key or guest, and how long they have been here;
// moderators also see the address.
func (st *seat) Whois(name string) string {
	shown := clean.Line(name, 2*room.MaxNameLen)
	e, ok := st.h.directory.get(name)
	loc, cluster := st.h.room.(room.Locator)
	if !ok && cluster {
		if l, online := loc.Locate(name); online {
			s := fmt.Sprintf("%s: key %s, online on another server", shown, shortFP(l.ID))
			if l.ID == "" {
				s = fmt.Sprintf("%s: a guest (no key), online on another server", shown)
			}
			if st.Moderator() {
				s += " (" + l.Node + ")"
			}
			if l.Away != nil {
				s += ", away"
				if *l.Away != "" {
					s += " (" + *l.Away + ")"
				}
			}
			return s + "."
		}
	}
	if !ok {
		if b, bound, _ := st.h.names.Owner(name); bound {
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
	if why := e.away.Load(); why != nil {
		s += ", away"
		if *why != "" {
			s += " (" + *why + ")"
		}
	}
	if st.Moderator() {
		s += ", from " + e.id.addr.String()
		if cluster {
			if l, on := loc.Locate(name); on {
				s += ", on " + l.Node
			}
		}
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
	length := ""
	if d, forever, ok := parseBanTime(first); ok {
		rest = strings.TrimSpace(more)
		length = " for good"
		if !forever {
			ban.Until, length = time.Now().Add(d), " for "+first
		}
	}
	ban.Reason = clean.Line(rest, 200)
	loc, cluster := h.room.(room.Locator)
	e, online := h.directory.get(target)
	elsewhere := false
	if !online && cluster {
		l, on := loc.Locate(target)
		switch {
		case on && l.ID == "":
			return fmt.Sprintf("%s is a guest on another server (%s): ban them there, where their address is known.", shown, l.Node), true
		case on:
			// Their server closes their sessions when the ban reaches it.
			ban.Fingerprint, elsewhere = l.ID, true
		}
	}
	switch {
	case elsewhere:
	case online:
		// The key, and the address it came from; a guest, the address.
		ban.Fingerprint, ban.Addr = e.id.fp, banAddr(e.id.addr)
	default:
		b, bound, err := h.names.Owner(target)
		if err != nil {
			st.log.Error("reading a name's owner", "err", err)
			return "The names cannot be read just now; try again in a moment.", true
		}
		if !bound {
			return shown + " is neither online nor the owner of a name: nothing to ban.", true
		}
		ban.Fingerprint = b.Fingerprint
	}
	if err := h.names.Ban(ban); err != nil {
		st.log.Error("saving a ban", "err", err)
		return "The ban could not be saved.", true
	}
	why := "banned by " + st.name + length
	if ban.Reason != "" {
		why += ": " + ban.Reason
	}
	st.log.Info("banned", "name", target, "by", st.name, "key", ban.Fingerprint, "addr", ban.Addr, "until", ban.Until)
	// Every session the ban covers goes, in the room or on the join
	// screen, this moderator's own excepted.
	hit := h.seats.matching(func(o *seat) bool { return o != st && h.covers(ban, o.id) })
	h.close(hit, reason.Banned, why)
	if elsewhere {
		// Their node sees the ban arrive and closes every session it
		// covers there (Host.Enforce), in the room or not.
		return fmt.Sprintf("%s is banned%s; their server closes their sessions.", shown, length), false
	}
	return fmt.Sprintf("%s is banned%s; %d session(s) closed.", shown, length, len(hit)), false
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
	bans, err := st.h.names.Bans()
	if err != nil {
		st.log.Error("reading the bans", "err", err)
		return "The ban list cannot be read just now; try again in a moment.", true
	}
	if len(bans) == 0 {
		return "Nobody is banned.", false
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d banned:", len(bans))
	for _, bn := range bans {
		what := "key " + shortFP(bn.Fingerprint)
		switch {
		case bn.Fingerprint == "":
			what = "address " + bn.Addr
		case bn.Addr != "":
			what += ", and guests from " + bn.Addr
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

// forever is how long a ban must be to count as for good: anything longer
// is, and durations past it need no arithmetic that could overflow.
const forever = 100 * 365 * 24 * time.Hour

// parseBanTime reads a ban's length: Go's units (90s, 10m, 1h30m) and days
// (7d), each number a whole one or with a fraction. A length past about a
// hundred years is for good.
func parseBanTime(s string) (d time.Duration, forGood, ok bool) {
	units := map[string]float64{"s": 1, "m": 60, "h": 3600, "d": 86400}
	total := 0.0 // seconds
	for s != "" {
		i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
		if i <= 0 {
			return 0, false, false
		}
		n, err := strconv.ParseFloat(s[:i], 64)
		j := i
		for j < len(s) && (s[j] < '0' || s[j] > '9') && s[j] != '.' {
			j++
		}
		unit, ok := units[s[i:j]]
		if err != nil || !ok {
			return 0, false, false
		}
		total += n * unit
		s = s[j:]
	}
	switch {
	case total < 1:
		return 0, false, false
	case total >= forever.Seconds():
		return 0, true, true
	}
	return time.Duration(total * float64(time.Second)), false, true
}
