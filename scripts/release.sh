#!/bin/bash
# release.sh VERSION — the kubectl plugin's release archives: kubectl-memsnap
# for linux/darwin/windows × amd64/arm64 (each embedding the linux collectors
# built just before), one reproducible .tar.gz per platform in dist/, a
# checksums file, and deploy/krew/memsnap.yaml with version, uri and sha256
# filled from those archives (also copied to dist/). No network beyond the
# Go module proxy.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:?usage: release.sh VERSION}
case $version in v*) ;; *) version=v$version ;; esac
go=${GO:-go}
out=dist
rm -rf "$out" && mkdir -p "$out"
make --no-print-directory plugin-collectors VERSION="$version"
for os in linux darwin windows; do
	for arch in amd64 arm64; do
		bin=kubectl-memsnap
		[ "$os" = windows ] && bin=kubectl-memsnap.exe
		stage=$(mktemp -d)
		CGO_ENABLED=0 GOOS=$os GOARCH=$arch "$go" build -trimpath -tags "${PLUGIN_TAGS:?run make release}" \
			-ldflags "-s -w -X main.version=$version" -o "$stage/$bin" ./analyzer/cmd/kubectl-memsnap
		cp README.md "$stage/"
		[ -f LICENSE ] && cp LICENSE "$stage/"
		# Reproducible: fixed order, owner and time; gzip without a name or stamp.
		tar -C "$stage" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - . |
			gzip -n -9 > "$out/kubectl-memsnap_${os}_${arch}.tar.gz"
		rm -rf "$stage"
		echo "release.sh: $out/kubectl-memsnap_${os}_${arch}.tar.gz" >&2
	done
done
(cd "$out" && sha256sum kubectl-memsnap_*.tar.gz > checksums.txt)
# Fill the krew manifest: each platform's sha256 is the line after its uri.
python3 - "$version" "$out/checksums.txt" deploy/krew/memsnap.yaml <<'PY'
import re, sys
version, sums, manifest = sys.argv[1], sys.argv[2], sys.argv[3]
digest = {}
for line in open(sums):
    h, name = line.split()
    digest[name] = h
text = open(manifest).read()
text = re.sub(r'(?m)^  version: .*$', '  version: ' + version, text)
text = re.sub(r'releases/download/[^/]+/', 'releases/download/' + version + '/', text)
def fill(m):
    name = m.group(2)
    if name not in digest:
        sys.exit('release.sh: no archive for ' + name)
    return m.group(1) + '\n    sha256: "' + digest[name] + '"'
text, n = re.subn(r'(uri: \S+/(kubectl-memsnap_\w+\.tar\.gz))\n    sha256: "[0-9a-f]*"', fill, text)
if n != len(digest):
    sys.exit('release.sh: filled %d sha256 values for %d archives' % (n, len(digest)))
open(manifest, 'w').write(text)
PY
cp deploy/krew/memsnap.yaml "$out/memsnap.yaml"
echo "release.sh: $out/checksums.txt, deploy/krew/memsnap.yaml filled" >&2
