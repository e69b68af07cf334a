#!/bin/sh
# ensure-chromium.sh — install Debian's Chromium for the real-browser report
# tests (report/browsertest) when /usr/bin/chromium is missing. The tests never
# download a browser themselves: they fail and name this script instead.
set -eu

if [ -x /usr/bin/chromium ]; then
	exit 0
fi

sudo=
if [ "$(id -u)" -ne 0 ]; then
	sudo=sudo
fi

$sudo apt-get update
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends chromium fonts-dejavu-core
