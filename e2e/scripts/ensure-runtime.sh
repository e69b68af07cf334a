#!/bin/sh
# ensure-runtime.sh — install Debian's container runtime for the e2e test bed's
# real kubelet (containerd, runc, the bridge/host-local/loopback CNI plugins)
# and the tools the harness runs (unshare, nsenter, ip), when any is missing.
# The tests never fetch a runtime themselves: they fail and name this script.
set -eu

missing=
[ -x /usr/bin/containerd ] || missing="$missing containerd"
[ -x /usr/bin/ctr ] || missing="$missing containerd"
[ -x /usr/sbin/runc ] || [ -x /usr/bin/runc ] || missing="$missing runc"
for p in bridge host-local loopback; do
	[ -x /usr/lib/cni/$p ] || missing="$missing containernetworking-plugins"
done
command -v unshare >/dev/null 2>&1 || missing="$missing util-linux"
command -v nsenter >/dev/null 2>&1 || missing="$missing util-linux"
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
# The shell image of kubectl-memsnap's node-mode test (any image with /bin/sh).
[ -x /bin/busybox ] || missing="$missing busybox-static"
[ -n "$missing" ] || exit 0

sudo=
if [ "$(id -u)" -ne 0 ]; then
	sudo=sudo
fi
pkgs=$(printf '%s\n' $missing | sort -u | tr '\n' ' ')
echo "ensure-runtime.sh: installing$missing" >&2
$sudo apt-get update
# containerd's Debian package pulls in runc; --no-install-recommends keeps
# out docker-ish extras. The service is not enabled here: the test bed
# starts its own containerd inside its private mount namespace.
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends $pkgs
for b in /usr/bin/containerd /usr/bin/ctr /usr/lib/cni/bridge /usr/lib/cni/host-local /usr/lib/cni/loopback; do
	if [ ! -x "$b" ]; then
		echo "ensure-runtime.sh: $b still missing after apt-get install $pkgs" >&2
		exit 1
	fi
done
