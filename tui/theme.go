package tui

import (
	"sync"

	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
)

// theme holds the SGR sequences for one colour profile. Themes are made once
// per profile and shared by every session that uses it.
type theme struct {
	profile colorprofile.Profile
	noTime  bool     // lines have no time gutter (/timestamp off)
	names   []string // one SGR per name colour

	reset     string
	time      string // the time gutter
	quiet     string // join/leave lines
	notice    string // lines from the server
	alert     string // refusals and errors
	bar       string // the top bar's label
	self      string // my name in the top bar
	tabActive string
	tabUnread string
	key       string // key hints
	input     string // the input row: a background of its own
	banner    string // the invitation banner's row
	button    string // the banner's OK
}

// Name colours are mid-tones: readable on dark and on light backgrounds.
var (
	palette256 = []uint8{31, 37, 35, 70, 65, 98, 62, 133, 169, 161, 167, 166, 130, 136, 172, 24}
	// 16 colours: no yellow, white or black, which vanish on one background.
	palette16 = []ansi.BasicColor{ansi.Red, ansi.Green, ansi.Blue, ansi.Magenta, ansi.Cyan}
)

var (
	themesMu sync.Mutex
	themes   = map[themeKey]*theme{}
)

type themeKey struct {
	p      colorprofile.Profile
	noTime bool
}

// themeFor returns the shared theme for a profile.
func themeFor(p colorprofile.Profile) *theme { return sharedTheme(themeKey{p: p}) }

// timeless is t without the time gutter (/timestamp off). It is a theme of
// its own so that the lines drawn with it are cached apart.
func (t *theme) timeless(off bool) *theme {
	return sharedTheme(themeKey{t.profile, off})
}

func sharedTheme(k themeKey) *theme {
	themesMu.Lock()
	defer themesMu.Unlock()
	if t := themes[k]; t != nil {
		return t
	}
	t := newTheme(k.p)
	t.noTime = k.noTime
	themes[k] = t
	return t
}

func newTheme(p colorprofile.Profile) *theme {
	colour := p >= colorprofile.ANSI
	fg := func(s ansi.Style, c256 uint8, c16 ansi.BasicColor) ansi.Style {
		switch {
		case p >= colorprofile.ANSI256:
			return s.ForegroundColor(ansi.IndexedColor(c256))
		case colour:
			return s.ForegroundColor(c16)
		}
		return s
	}
	quiet := ansi.NewStyle().Faint()
	if colour {
		quiet = fg(ansi.NewStyle(), 244, ansi.BrightBlack)
	}
	t := &theme{
		profile:   p,
		reset:     ansi.ResetStyle,
		time:      ansi.NewStyle().Faint().String(),
		quiet:     quiet.String(),
		notice:    fg(ansi.NewStyle().Italic(true), 67, ansi.Blue).String(),
		alert:     fg(ansi.NewStyle().Bold(), 160, ansi.Red).String(),
		bar:       ansi.NewStyle().Reverse(true).Bold().String(),
		self:      ansi.NewStyle().Bold().Underline(true).String(),
		tabActive: ansi.NewStyle().Reverse(true).Bold().String(),
		tabUnread: ansi.NewStyle().Bold().String(),
		key:       ansi.NewStyle().Faint().String(),
	}
	// The input row and the banner have colours of their own, foreground
	// and background both, so that they read on a dark or a light
	// terminal alike; with 16 colours the banner is reversed and the input
	// row plain.
	switch {
	case p >= colorprofile.ANSI256:
		t.bar = ansi.NewStyle().Bold().BackgroundColor(ansi.IndexedColor(238)).ForegroundColor(ansi.IndexedColor(231)).String()
		t.tabActive = ansi.NewStyle().Bold().BackgroundColor(ansi.IndexedColor(31)).ForegroundColor(ansi.IndexedColor(231)).String()
		t.input = ansi.NewStyle().BackgroundColor(ansi.IndexedColor(236)).ForegroundColor(ansi.IndexedColor(252)).String()
		t.banner = ansi.NewStyle().BackgroundColor(ansi.IndexedColor(24)).ForegroundColor(ansi.IndexedColor(231)).String()
		t.button = ansi.NewStyle().Bold().BackgroundColor(ansi.IndexedColor(231)).ForegroundColor(ansi.IndexedColor(24)).String()
	case colour:
		t.banner = ansi.NewStyle().Reverse(true).String()
	}
	if t.button == "" {
		t.button = t.tabActive
	}
	switch {
	case p >= colorprofile.ANSI256:
		for _, c := range palette256 {
			t.names = append(t.names, ansi.NewStyle().Bold().ForegroundColor(ansi.IndexedColor(c)).String())
		}
	case colour:
		// Five colours readable on any background, bold and not: ten
		// styles (a terminal that shows bold as bright shows ten colours).
		for _, c := range palette16 {
			t.names = append(t.names, ansi.NewStyle().Bold().ForegroundColor(c).String(), ansi.NewStyle().ForegroundColor(c).String())
		}
	default:
		t.names = []string{ansi.NewStyle().Bold().String()}
	}
	return t
}

// name is the SGR for a person's name: the same colour for a name every time
// and everywhere.
func (t *theme) name(n string) string {
	h := uint32(2166136261) // FNV-1a, inline: this runs for every name drawn
	for i := 0; i < len(n); i++ {
		h = (h ^ uint32(n[i])) * 16777619
	}
	return t.names[h%uint32(len(t.names))]
}
