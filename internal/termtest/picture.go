package termtest

import (
	"fmt"
	"image/color"
	"strings"

	uv "github.com/charmbracelet/ultraviolet"
)

// Picture is the screen as ANSI text that spells out every colour: each
// cell's foreground and background in 24-bit colour, the defaults filled
// in, reverse video swapped and faint text dimmed. Tools that draw ANSI
// into images (freeze) honour explicit colours better than the terminal
// shorthand (default colours, reverse) the screen was drawn with.
func (t *Terminal) Picture(fg, bg color.Color) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	last := ""
	for y := range t.term.Height() {
		for x := 0; x < t.term.Width(); {
			c := t.term.CellAt(x, y)
			content, w, st := " ", 1, uv.Style{}
			if c != nil {
				st = c.Style
				if c.Content != "" {
					content, w = c.Content, max(c.Width, 1)
				}
			}
			sgr := pictureSGR(st, fg, bg)
			if sgr != last {
				b.WriteString(sgr)
				last = sgr
			}
			b.WriteString(content)
			x += w
		}
		b.WriteString("\x1b[m\n")
		last = ""
	}
	return b.String()
}

func pictureSGR(st uv.Style, dfg, dbg color.Color) string {
	fg, bg := st.Fg, st.Bg
	if fg == nil {
		fg = dfg
	}
	if bg == nil {
		bg = dbg
	}
	if st.Attrs&uv.AttrReverse != 0 {
		fg, bg = bg, fg
	}
	if st.Attrs&uv.AttrFaint != 0 {
		fg = mix(fg, bg)
	}
	s := "\x1b[0"
	if st.Attrs&uv.AttrBold != 0 {
		s += ";1"
	}
	if st.Attrs&uv.AttrItalic != 0 {
		s += ";3"
	}
	if st.Underline != 0 {
		s += ";4"
	}
	r, g, bl := rgb(fg)
	br, bgg, bb := rgb(bg)
	return s + fmt.Sprintf(";38;2;%d;%d;%d;48;2;%d;%d;%dm", r, g, bl, br, bgg, bb)
}

func rgb(c color.Color) (uint8, uint8, uint8) {
	r, g, b, _ := c.RGBA()
	return uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)
}

// mix is halfway between a and b: faint text.
func mix(a, b color.Color) color.Color {
	ar, ag, ab := rgb(a)
	br, bg, bb := rgb(b)
	return color.RGBA{uint8((int(ar) + int(br)) / 2), uint8((int(ag) + int(bg)) / 2), uint8((int(ab) + int(bb)) / 2), 255}
}
