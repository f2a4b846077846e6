#!/usr/bin/env bash
# Draws the README's pictures of the screen again.
#
# The text ones: the tui tests draw each screen on a fixed clock into
# tui/testdata/golden (TestGoldenScreens); this writes them there and copies
# the ones the README names between its <!-- screen NAME --> and
# <!-- /screen --> lines.
#
# The images: TestREADMEScreens runs a server and real SSH sessions and
# captures three screens in colour, which freeze draws into docs/screens/.
# Get freeze with: go install github.com/charmbracelet/freeze@v0.2.2
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

freeze=$(command -v freeze || echo "$(go env GOPATH)/bin/freeze")
if [ ! -x "$freeze" ]; then
	echo "screens: the text screens are done; for the images, install freeze: go install github.com/charmbracelet/freeze@v0.2.2" >&2
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CHATROOM_SCREENS=$tmp go test ./sshapp -run TestREADMEScreens -count=1 >/dev/null
mkdir -p docs/screens
"$freeze" "$tmp/panel-120x34.ansi" --window -W 1100 -H 640 -o docs/screens/panel.png >/dev/null
"$freeze" "$tmp/banner-80x24.ansi" --window -W 760 -H 470 -o docs/screens/banner.png >/dev/null
"$freeze" "$tmp/private-40x16.ansi" --window -W 420 -H 330 -o docs/screens/private.png >/dev/null
chmod 644 docs/screens/*.png
