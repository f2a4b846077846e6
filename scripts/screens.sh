#!/usr/bin/env bash
# Draws the README's pictures of the screen again. The tui tests draw each
# screen on a fixed clock into tui/testdata/golden (TestGoldenScreens); this
# writes them there and copies the ones the README names between its
# <!-- screen NAME --> and <!-- /screen --> lines.
#
#   scripts/screens.sh
set -euo pipefail
cd "$(dirname "$0")/.."
go test ./tui -run TestGoldenScreens -update >/dev/null
awk '
	/^<!-- screen [^ ]+ -->$/ {
		print
		name = $3
		print "```"
		while ((getline l < ("tui/testdata/golden/" name ".txt")) > 0) print l
		close("tui/testdata/golden/" name ".txt")
		print "```"
		skip = 1
		next
	}
	/^<!-- \/screen -->$/ { skip = 0 }
	!skip { print }
' README.md >README.md.new
mv README.md.new README.md
