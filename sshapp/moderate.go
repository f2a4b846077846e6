package sshapp

import (
	"fmt"
	"strings"

	"chatroom/keys"
	"chatroom/room"
)

const adminHelp = `Moderators:
  /kick NAME [REASON]            close NAME's session; everyone sees why
  /ban NAME [DURATION] [REASON]  kick and keep out NAME's key (a guest's address), for good or for 90m, 7d...
  /unban WHAT                    lift the bans on a name, a key fingerprint or an address
  /banned                        list the bans
  /release NAME                  free a name from the key that owns it`

// whois describes NAME: key or guest, and how long they have been here.
func (m *model) whois(name string) string {
	shown := room.CleanLine(name, 2*room.MaxNameLen)
	if m.srv == nil {
		return shown + ": nothing known."
	}
	p, ok := m.srv.directory.get(name)
	if !ok {
		if b, bound := m.ownerOf(name); bound {
			return fmt.Sprintf("%s is not online. The name belongs to key %s, last seen %s ago.", shown, shortFP(b.Fingerprint), since(b.LastSeen))
		}
		return shown + " is not online."
	}
	s := fmt.Sprintf("%s: key %s, online for %s", shown, shortFP(p.who.fp), since(p.since))
	if p.who.guest() {
		s = fmt.Sprintf("%s: a guest (no key), online for %s", shown, since(p.since))
	}
	if p.who.admin {
		s += ", a moderator"
	}
	if m.who.admin {
		s += ", from " + p.who.addr
	}
	return s + "."
}

func (m *model) ownerOf(name string) (keys.Binding, bool) {
	if names := m.names(); names != nil {
		return names.Owner(name)
	}
	return keys.Binding{}, false
}

// isGuest reports whether the online person called name has no key.
func (m *model) isGuest(name string) bool {
	if m.srv == nil {
		return false
	}
	p, ok := m.srv.directory.get(name)
	return ok && p.who.guest()
}

// moderate runs a moderator's command; ok is false if cmd is not one.
func (m *model) moderate(cmd, arg string) (reply string, bad, ok bool) {
	switch cmd {
	case "/kick", "/ban", "/unban", "/banned", "/release":
	default:
		return "", false, false
	}
	if !m.who.admin {
		return fmt.Sprintf("Not allowed: only moderators may %s.", cmd), true, true
	}
	names := m.names()
	if names == nil && cmd != "/kick" {
		return "Not available: this server keeps no names.", true, true
	}
	target, rest, _ := strings.Cut(arg, " ")
	rest = strings.TrimSpace(rest)
	shown := room.CleanLine(target, 2*room.MaxNameLen)
	switch cmd {
	case "/kick":
		if target == "" {
			return "Usage: /kick NAME [REASON]", true, true
		}
		why := "kicked by " + m.name
		if rest != "" {
			why += ": " + rest
		}
		if !m.room.Kick(target, why) {
			return shown + " is not online.", true, true
		}
		m.log.Info("kicked", "name", target, "by", m.name)
		return "", false, true
	case "/ban":
		if target == "" {
			return "Usage: /ban NAME [DURATION] [REASON]", true, true
		}
		ban := keys.Ban{By: m.name, Name: target}
		first, more, _ := strings.Cut(rest, " ")
		if d, ok := parseBanTime(first); ok {
			ban.Until, rest = m.clock().Add(d), strings.TrimSpace(more)
		}
		ban.Reason = room.CleanLine(rest, 200)
		switch p, online := m.srv.directory.get(target); {
		case online && p.who.guest():
			ban.Addr = banAddr(p.who)
		case online:
			ban.Fingerprint = p.who.fp
		default:
			b, bound := names.Owner(target)
			if !bound {
				return shown + " is neither online nor the owner of a name: nothing to ban.", true, true
			}
			ban.Fingerprint = b.Fingerprint
		}
		if err := names.AddBan(ban); err != nil {
			m.log.Error("saving a ban", "err", err)
			return "The ban could not be saved.", true, true
		}
		why := "banned by " + m.name
		if !ban.Until.IsZero() {
			why += " for " + first
		}
		if ban.Reason != "" {
			why += ": " + ban.Reason
		}
		m.log.Info("banned", "name", target, "by", m.name, "key", ban.Fingerprint, "addr", ban.Addr, "until", ban.Until)
		if !m.room.Kick(target, why) {
			return fmt.Sprintf("%s is banned.", shown), false, true
		}
		return "", false, true
	case "/unban":
		if target == "" {
			return "Usage: /unban NAME|FINGERPRINT|ADDRESS", true, true
		}
		n, err := names.Unban(target)
		switch {
		case err != nil:
			return "The change could not be saved.", true, true
		case n == 0:
			return "No ban matches " + shown + ".", true, true
		}
		m.log.Info("unbanned", "what", target, "by", m.name)
		return fmt.Sprintf("Lifted %d ban(s) on %s.", n, shown), false, true
	case "/banned":
		bans := names.Bans()
		if len(bans) == 0 {
			return "Nobody is banned.", false, true
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
				until = "until " + bn.Until.Local().Format("Jan 2 15:04")
			}
			fmt.Fprintf(&b, "\n  %s (%s) %s, by %s", bn.Name, what, until, bn.By)
			if bn.Reason != "" {
				b.WriteString(": " + bn.Reason)
			}
		}
		return b.String(), false, true
	case "/release":
		if target == "" {
			return "Usage: /release NAME", true, true
		}
		found, err := names.Release(target)
		switch {
		case err != nil:
			return "The change could not be saved.", true, true
		case !found:
			return shown + " belongs to no key.", true, true
		}
		m.log.Info("released", "name", target, "by", m.name)
		return shown + " is free now: the next key to join with it will own it.", false, true
	}
	return "", false, false
}
