#!/usr/bin/env bash
# Builds the .deb: deploy/package.sh [OUTDIR] (default dist/).
# The version comes from git (or $VERSION); the binary is static and
# stripped, with the version and revision stamped in.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-dist}")
mkdir -p "$out"
# nfpm takes its files from fixed paths (deploy/nfpm.yaml): build them here.
BUILD=dist/.build
rm -rf "$BUILD" && mkdir -p "$BUILD"
trap 'rm -rf "$BUILD"' EXIT
export GOARCH=${GOARCH:-$(go env GOARCH)}
# A tag v1.2.3 gives 1.2.3; untagged history gives 0.0.0~gitDATE.REV.
if [ -z "${VERSION:-}" ]; then
	if tag=$(git describe --tags --match 'v[0-9]*' 2>/dev/null); then
		VERSION=$(echo "${tag#v}" | sed 's/-/~/g')
	else
		VERSION="0.0.0~git$(date -u +%Y%m%d).$(git rev-parse --short HEAD 2>/dev/null || echo local)"
	fi
fi
export VERSION
# The maintainer, as Debian's tools take it: DEBFULLNAME and DEBEMAIL. The
# default is marked as one, at an address that can never be mailed.
export MAINTAINER="${DEBFULLNAME:-Unnamed Packager} <${DEBEMAIL:-set-DEBEMAIL@chatroom.invalid}>"
# Linked against libc like other Debian binaries (the package depends on it).
CGO_ENABLED=1 go build -buildvcs=true -trimpath -buildmode=pie -ldflags "-s -w -X main.version=$VERSION" -o "$BUILD/chatroom" .
# Debian wants a changelog and a manual page.
{
	echo "chatroom ($VERSION) unstable; urgency=medium"
	echo
	echo "  * Built from $(git rev-parse --short HEAD 2>/dev/null || echo source)."
	echo
	echo " -- $MAINTAINER  $(date -R)"
} | gzip -9n > "$BUILD/changelog.gz"
{
	echo '.TH CHATROOM 1 "" "chatroom '"$VERSION"'" "User Commands"'
	echo '.SH NAME'
	echo 'chatroom \- a chat server people reach with ssh'
	echo '.SH SYNOPSIS'
	echo '.B chatroom'
	echo '[\fIflags\fR]'
	echo '.SH DESCRIPTION'
	echo 'People connect with ssh -p 2222 name@host and get a full-screen terminal chat.'
	echo 'Every flag below can also be set by its CHATROOM_* environment variable.'
	echo '.SH OPTIONS'
	echo '.nf'
	"$BUILD/chatroom" --help | sed 's/\\/\\\\/g; s/^\./\\\&./'
	echo '.fi'
} | gzip -9n > "$BUILD/chatroom.1.gz"
go run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2 package --config deploy/nfpm.yaml --packager deb --target "$out" >&2
ls "$out"/*.deb
