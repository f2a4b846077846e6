package reason_test

import (
	"fmt"
	"strings"
	"testing"

	"chatroom/internal/reason"
)

// Every reason has a word fit for a metric label and a line for the
// person, and a line with a place for a value takes exactly one.
func TestEveryReasonHasAWordAndALine(t *testing.T) {
	words := map[string]bool{}
	if reason.NotAllowed.String() == "unknown" {
		t.Fatal("the last reason has no word")
	}
	for r := reason.Reason(1); r.String() != "unknown"; r++ {
		w := r.String()
		if w == "unknown" || strings.Trim(w, "abcdefghijklmnopqrstuvwxyz_") != "" || words[w] {
			t.Errorf("reason %d has the word %q", r, w)
		}
		words[w] = true
		text := r.Text()
		if strings.Count(text, "%") > 1 {
			t.Errorf("%s: %q has more than one place for a value", w, text)
		}
		if strings.Contains(text, "%") && strings.Contains(r.Text(42), "%!") {
			t.Errorf("%s: %q does not take a value", w, r.Text(42))
		}
	}
	if got := reason.AddrConnections.Text(16); got != "too many connections from your address (at most 16)" {
		t.Errorf("AddrConnections.Text(16) = %q", got)
	}
	if got := fmt.Sprint(reason.ServerFull); got != "server_full" {
		t.Errorf("ServerFull prints as %q", got)
	}
	if got := reason.Reason(0).String(); got != "unknown" {
		t.Errorf("the zero reason is %q", got)
	}
}
