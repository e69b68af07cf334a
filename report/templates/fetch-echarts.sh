#!/bin/sh
# fetch-echarts.sh — vendor the ECharts build that the HTML report embeds.
#
# ECharts is a dependency, not project code (DESIGN §7): it is fetched with
# `npm pack` at the version go-echarts v2 targets, checked against a pinned
# sha256 and kept, with its LICENSE and NOTICE, in the git-ignored directory
# report/templates/vendor/echarts/. report/html.go embeds it; the build fails
# until this script has run. Re-running is cheap: a verified copy is kept.
set -eu

VERSION=5.4.3
SHA256=1156429a16a38cb8604dcc6518c19406d4226142d908f8edd2e3531443c54d19

here=$(cd "$(dirname "$0")" && pwd)
dest="$here/vendor/echarts"

sum() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$dest/echarts.min.js" ] && [ -f "$dest/LICENSE" ] && [ -f "$dest/NOTICE" ] &&
	[ "$(sum "$dest/echarts.min.js")" = "$SHA256" ]; then
	exit 0
fi

command -v npm >/dev/null 2>&1 || {
	echo "fetch-echarts.sh: npm is required to fetch echarts@$VERSION" >&2
	exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

(cd "$tmp" && npm pack --silent "echarts@$VERSION" >/dev/null)
tar -xzf "$tmp/echarts-$VERSION.tgz" -C "$tmp" \
	package/dist/echarts.min.js package/LICENSE package/NOTICE

got=$(sum "$tmp/package/dist/echarts.min.js")
if [ "$got" != "$SHA256" ]; then
	echo "fetch-echarts.sh: echarts@$VERSION dist/echarts.min.js sha256 $got, want $SHA256" >&2
	exit 1
fi

mkdir -p "$dest"
cp "$tmp/package/dist/echarts.min.js" "$tmp/package/LICENSE" "$tmp/package/NOTICE" "$dest/"
echo "fetch-echarts.sh: echarts@$VERSION vendored in $dest" >&2
