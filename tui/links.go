package tui

import (
	"regexp"
	"strings"
)

// URLs in messages: a URL that fits in a line is never broken across two
// (the wrapper would break it at a hyphen), and one that ends whole on a
// line is a hyperlink (OSC 8) where the terminal supports them. The text is
// the room's, cleaned of every control character, so it cannot end the
// link early or carry a sequence of its own.

var urlPattern = regexp.MustCompile(`https?://[^\s]+`)

// nbHyphen stands in for a URL's hyphens while a line is wrapped.
const nbHyphen = "\u2011"

// maxLinkLen bounds what is made a link: a longer URL is left as text.
const maxLinkLen = 2048

// protectURLs swaps the hyphens in s's URLs for non-breaking ones, unless
// s has some of those already (then nothing is swapped).
func protectURLs(s string) (string, bool) {
	if !strings.Contains(s, "://") || strings.Contains(s, nbHyphen) {
		return s, false
	}
	out := urlPattern.ReplaceAllStringFunc(s, func(u string) string { return strings.ReplaceAll(u, "-", nbHyphen) })
	return out, out != s
}

// linkify makes each URL of a wrapped line a hyperlink if it is one of
// the paragraph's whole (a fragment of one broken across lines is not).
func linkify(line, para string) string {
	if !strings.Contains(line, "://") {
		return line
	}
	whole := urlPattern.FindAllString(para, -1)
	return urlPattern.ReplaceAllStringFunc(line, func(u string) string {
		url := strings.TrimRight(u, ".,;:!?)]}'\"")
		if len(url) > maxLinkLen || len(url) <= len("https://") || !isWholeURL(url, whole) {
			return u
		}
		return "\x1b]8;;" + url + "\x1b\\" + url + "\x1b]8;;\x1b\\" + u[len(url):]
	})
}

func isWholeURL(url string, whole []string) bool {
	for _, w := range whole {
		if strings.TrimRight(w, ".,;:!?)]}'\"") == url {
			return true
		}
	}
	return false
}
