#!/bin/sh
# memsnap collect.sh: POSIX sh (dash, busybox) fallback for memsnap-collect,
# for hosts where a binary cannot be copied but a script can be pasted.
# Writes the same bundle layout (DESIGN §2) for node, cgroup, kernel log,
# systemd and kubelet files and logs/pods-index.tsv, with "mode": "script".
# It never blocks: /dev/kmsg is read through dmesg (or, when it is a regular
# file such as a saved copy, converted by awk), commands run under timeout(1)
# when available, and sysfs/procfs reads do not wait.
#
# Usage: sh collect.sh [--host-root DIR] [-o FILE|-] [--since 24h] [--no-redact]
#
# The bundle carries node and pod names, command lines and log lines;
# tokens and passwords are redacted with sed unless --no-redact. Review it
# with "memsnap inspect BUNDLE" before sending it.
set -u

ROOT=/
OUT=
SINCE=24h
REDACT=1
VERSION="script-1"
MAX_CGROUPS=20000

while [ $# -gt 0 ]; do
	case "$1" in
	--host-root) ROOT=$2; shift 2 ;;
	--host-root=*) ROOT=${1#*=}; shift ;;
	-o|--output) OUT=$2; shift 2 ;;
	--since) SINCE=$2; shift 2 ;;
	--since=*) SINCE=${1#*=}; shift ;;
	--no-redact) REDACT=0; shift ;;
	-h|--help) sed -n '2,16p' "$0"; exit 0 ;;
	*) echo "collect.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ -d "$ROOT" ] || { echo "collect.sh: --host-root $ROOT: not a directory" >&2; exit 2; }
ROOT=${ROOT%/}
H() { printf '%s%s' "$ROOT" "$1"; } # host path below --host-root

case "$SINCE" in
*h) SINCE_S=$(( ${SINCE%h} * 3600 )) ;;
*m) SINCE_S=$(( ${SINCE%m} * 60 )) ;;
*s) SINCE_S=${SINCE%s} ;;
*) SINCE_S=$SINCE ;;
esac

now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
host=$(cat "$(H /proc/sys/kernel/hostname)" 2>/dev/null || hostname)
[ -n "$OUT" ] || OUT="memsnap-$host-$(date -u +%Y%m%dT%H%M%SZ).tar.gz"

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/memsnap.XXXXXX") || exit 3
trap 'rm -rf "$STAGE"' EXIT
trap 'exit 130' INT TERM
B=$STAGE/bundle
mkdir -p "$B"
SRC=$STAGE/sources   # name|status|error lines
RED=$STAGE/redactions
: >"$SRC"; : >"$RED"

TO=
command -v timeout >/dev/null 2>&1 && TO="timeout 10"

# put SRC DEST: copy a host file into the bundle; fails quietly if unreadable.
put() {
	mkdir -p "$(dirname "$B/$2")"
	cat "$1" >"$B/$2" 2>/dev/null || { rm -f "$B/$2"; return 1; }
}

# redact FILE: replace secret spans in place and record the count.
redact() {
	[ "$REDACT" = 1 ] && [ -f "$B/$1" ] || return 0
	before=$(grep -o REDACTED "$B/$1" 2>/dev/null | wc -l)
	sed -E \
		-e 's/([Bb][Ee][Aa][Rr][Ee][Rr][[:space:]]+)[A-Za-z0-9._~+\/=-]+/\1REDACTED/g' \
		-e 's/eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/REDACTED/g' \
		-e 's#(://[^/[:space:]:@"]+:)[^/[:space:]@"]+@#\1REDACTED@#g' \
		-e 's/(--?[A-Za-z0-9._-]*([Tt][Oo][Kk][Ee][Nn]|[Pp][Aa][Ss][Ss][Ww][Oo][Rr][Dd]|[Ss][Ee][Cc][Rr][Ee][Tt])[A-Za-z0-9._-]*=)[^[:space:]"'"'"',]+/\1REDACTED/g' \
		-e 's/^([[:space:]]*(token|password|passwd|client-key-data|client-secret|secret)[[:space:]]*:[[:space:]]+).*/\1REDACTED/' \
		-e 's/([A-Z0-9_]*(TOKEN|PASSWORD|SECRET|API_KEY|ACCESS_KEY)[A-Z0-9_]*=)[^[:space:]"]+/\1REDACTED/g' \
		-e 's/(AKIA|ASIA)[0-9A-Z]{16}/REDACTED/g' \
		-e 's/gh[pousr]_[A-Za-z0-9]{36,}/REDACTED/g' \
		"$B/$1" >"$STAGE/r.tmp" && mv "$STAGE/r.tmp" "$B/$1"
	after=$(grep -o REDACTED "$B/$1" 2>/dev/null | wc -l)
	n=$((after - before))
	[ "$n" -gt 0 ] && echo "$1|sed|$n" >>"$RED"
	return 0
}

source_done() { echo "$1|$2|$3" >>"$SRC"; }

# --- node -------------------------------------------------------------------
nerr=
for pair in meminfo:/proc/meminfo vmstat:/proc/vmstat pressure-memory:/proc/pressure/memory \
	uptime:/proc/uptime stat:/proc/stat cmdline:/proc/cmdline; do
	name=${pair%%:*}; src=${pair#*:}
	put "$(H "$src")" "node/$name" || [ "$name" = pressure-memory ] || nerr="$nerr$src: missing; "
done
# Optional node files (rule catalogue II): free lists, cgroup counts, THP policy.
put "$(H /proc/buddyinfo)" node/buddyinfo
put "$(H /proc/pagetypeinfo)" node/pagetypeinfo
put "$(H /proc/cgroups)" node/cgroups
put "$(H /sys/kernel/mm/transparent_hugepage/enabled)" node/transparent_hugepage/enabled
put "$(H /sys/kernel/mm/transparent_hugepage/defrag)" node/transparent_hugepage/defrag
put "$(H /proc/1/mountinfo)" node/mountinfo || put "$(H /proc/self/mountinfo)" node/mountinfo || nerr="${nerr}mountinfo: missing; "
put "$(H /etc/os-release)" node/os-release || put "$(H /usr/lib/os-release)" node/os-release
k() { cat "$(H "/proc/sys/kernel/$1")" 2>/dev/null; }
printf '%s %s %s %s %s\n' "$(k ostype)" "$(k hostname)" "$(k osrelease)" "$(k version)" "$(uname -m)" >"$B/node/uname"
redact node/cmdline
if [ -n "$nerr" ]; then source_done node partial "${nerr%; }"; else source_done node ok ""; fi

# --- cgroup -----------------------------------------------------------------
MOUNT=; CG_MODE=; CG_VER=0; DRIVER=unknown
if [ -f "$(H /sys/fs/cgroup/cgroup.controllers)" ]; then
	CG_MODE=unified; CG_VER=2
	grep -qw memory "$(H /sys/fs/cgroup/cgroup.controllers)" && MOUNT=/sys/fs/cgroup
elif [ -f "$(H /sys/fs/cgroup/memory/memory.usage_in_bytes)" ]; then
	MOUNT=/sys/fs/cgroup/memory; CG_VER=1; CG_MODE=legacy
	[ -f "$(H /sys/fs/cgroup/unified/cgroup.controllers)" ] && CG_MODE=hybrid
fi
if [ -z "$MOUNT" ]; then
	source_done cgroup failed "no memory cgroup hierarchy under /sys/fs/cgroup"
else
	M=$(H "$MOUNT")
	truncated=
	find "$M" -type d 2>/dev/null | head -n "$((MAX_CGROUPS + 1))" >"$STAGE/cgdirs"
	[ "$(wc -l <"$STAGE/cgdirs")" -gt "$MAX_CGROUPS" ] && truncated="stopped after $MAX_CGROUPS cgroups"
	head -n "$MAX_CGROUPS" "$STAGE/cgdirs" | while IFS= read -r d; do
		rel=${d#"$M"}; rel=${rel#/}
		case "/$rel/" in */kubepods.slice/*) echo systemd >"$STAGE/driver" ;; */kubepods/*) [ -f "$STAGE/driver" ] || echo cgroupfs >"$STAGE/driver" ;; esac
		for f in "$d"/memory.* "$d"/cgroup.stat "$d"/cgroup.procs; do
			[ -f "$f" ] || continue
			base=${f##*/}
			case "$base" in
			memory.stat|memory.usage_in_bytes|memory.current|memory.limit_in_bytes|memory.max|memory.high|\
			memory.min|memory.low|memory.soft_limit_in_bytes|memory.events|memory.events.local|memory.failcnt|\
			memory.max_usage_in_bytes|memory.peak|memory.oom_control|memory.pressure|memory.kmem.usage_in_bytes|\
			memory.kmem.limit_in_bytes|memory.kmem.failcnt|\
			cgroup.stat|cgroup.procs|memory.swap.*|memory.memsw.*)
				dst=$B/cgroup/$rel; dst=${dst%/}
				[ -d "$dst" ] || mkdir -p "$dst"
				cat "$f" >"$dst/$base" 2>/dev/null || rm -f "$dst/$base" ;;
			esac
		done
	done
	[ -f "$STAGE/driver" ] && DRIVER=$(cat "$STAGE/driver")
	if [ -n "$truncated" ]; then source_done cgroup partial "skipped: $truncated"; else source_done cgroup ok ""; fi
fi

# --- logs: kernel log and pods index ----------------------------------------
mkdir -p "$B/logs"
lerr=
up=$(cut -d' ' -f1 "$(H /proc/uptime)" 2>/dev/null)
KMSG=$(H /dev/kmsg)
if [ -f "$KMSG" ]; then
	# A regular file of raw records (a saved copy, a fixture): convert as the
	# binary does, "[%5d.%06d] msg", dictionary lines with their record's stamp.
	awk -v up="${up:-0}" -v since="$SINCE_S" '
	BEGIN { min = 0; u = int(up * 1000000); s = since * 1000000; if (s < u) min = u - s; have = 0; skip = 0 }
	function stamp(us,   sec) { sec = int(us / 1000000); return sprintf("[%5d.%06d] ", sec, us - sec * 1000000) }
	/^ / { if (have && !skip) { l = $0; sub(/^ +/, "", l); printf "%s%s\n", stamp(last), l }; next }
	{
		i = index($0, ";"); ok = 0
		if (i > 0) { n = split(substr($0, 1, i - 1), f, ",");
			if (n >= 3 && f[1] ~ /^[0-9]+$/ && f[2] ~ /^[0-9]+$/ && f[3] ~ /^[0-9]+$/) ok = 1 }
		if (!ok) { have = 0; skip = 0; if (length($0) > 0) print; next }
		last = f[3] + 0; have = 1
		if (last < min) { skip = 1; next }
		skip = 0; printf "%s%s\n", stamp(last), substr($0, i + 1)
	}' "$KMSG" >"$B/logs/kernel.log" 2>/dev/null || lerr="kernel log: awk failed; "
elif [ "$ROOT" = "" ] || [ "$ROOT" = "/" ] || [ -c "$KMSG" ]; then
	# dmesg reads the running kernel's buffer and returns: never blocks.
	$TO dmesg >"$B/logs/kernel.log" 2>/dev/null || { rm -f "$B/logs/kernel.log"; lerr="kernel log: dmesg failed; "; }
else
	lerr="kernel log: no /dev/kmsg under the host root; "
fi
if [ -d "$(H /var/log/pods)" ]; then
	for pd in "$(H /var/log/pods)"/*_*_*/; do
		[ -d "$pd" ] || continue
		pn=${pd%/}; pn=${pn##*/}
		ns=${pn%%_*}; rest=${pn#*_}; pod=${rest%%_*}; uid=${rest#*_}
		for cd in "$pd"*/; do
			[ -d "$cd" ] || continue
			c=${cd%/}; c=${c##*/}
			for lf in "$cd"*.log; do
				[ -f "$lf" ] || continue
				n=${lf##*/}; n=${n%.log}
				case "$n" in ''|*[!0-9]*) continue ;; esac
				id=""
				for ln in "$(H /var/log/containers)/${pod}_${ns}_${c}"-*.log; do
					[ -L "$ln" ] || continue
					case "$(readlink "$ln" 2>/dev/null)" in
					*"/var/log/pods/${pn}/${c}/${n}.log")
						id=${ln##*-}; id=${id%.log} ;;
					esac
				done
				if [ -n "$id" ]; then
					printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$ns" "$pod" "$uid" "$c" "$n" "$id"
				else
					printf '%s\t%s\t%s\t%s\t%s\n' "$ns" "$pod" "$uid" "$c" "$n"
				fi
			done
		done
	done | LC_ALL=C sort >"$B/logs/pods-index.tsv"
fi
if [ -n "$lerr" ]; then
	if [ -f "$B/logs/pods-index.tsv" ]; then source_done logs partial "${lerr%; }"; else source_done logs failed "${lerr%; }"; fi
else
	source_done logs ok ""
fi

# --- systemd ------------------------------------------------------------------
serr=
for d in /run/systemd/transient /run/systemd/system /etc/systemd/system \
	/usr/lib/systemd/system/kubelet.service.d /lib/systemd/system/kubelet.service.d; do
	[ -d "$(H "$d")" ] || continue
	# -type f: symlinks (*.wants) are not followed out of the host root.
	find "$(H "$d")" -type f 2>/dev/null | head -n 2000 | while IFS= read -r f; do
		p=${f#"$ROOT"}
		put "$f" "systemd/files${p}" && redact "systemd/files${p}"
	done
done
for f in /usr/lib/systemd/system/kubelet.service /lib/systemd/system/kubelet.service \
	/usr/lib/systemd/system/containerd.service /lib/systemd/system/containerd.service; do
	[ -f "$(H "$f")" ] && [ ! -f "$B/systemd/files$f" ] && put "$(H "$f")" "systemd/files$f"
done
pid1=$(cat "$(H /proc/1/comm)" 2>/dev/null)
if [ "$pid1" = systemd ] && [ -d "$(H /run/systemd/system)" ] && { [ "$ROOT" = "" ] || [ "$ROOT" = "/" ]; } && command -v systemctl >/dev/null 2>&1; then
	for u in kubepods.slice kubepods-burstable.slice kubepods-besteffort.slice kubelet.service containerd.service crio.service docker.service; do
		$TO systemctl show --no-pager "$u" >"$B/systemd/$u.show" 2>/dev/null || rm -f "$B/systemd/$u.show"
	done
else
	serr="skipped: systemctl (PID 1 is \"$pid1\", or the host root is not /)"
fi
if [ -d "$B/systemd" ]; then source_done systemd ok "$serr"; else source_done systemd skipped "$serr"; fi

# --- kubelet files ------------------------------------------------------------
kerr=
mkdir -p "$B/kubelet"
KPID=
for c in "$(H /proc)"/[0-9]*/comm; do
	[ "$(cat "$c" 2>/dev/null)" = kubelet ] || continue
	KPID=${c%/comm}; KPID=${KPID##*/}; break
done
CONFIG=/var/lib/kubelet/config.yaml
NODE_NAME=$(echo "$host" | tr 'A-Z' 'a-z')
if [ -n "$KPID" ]; then
	tr '\0' '\n' <"$(H "/proc/$KPID/cmdline")" >"$B/kubelet/flags.txt" 2>/dev/null
	c=$(sed -n 's/^--*config=//p' "$B/kubelet/flags.txt" | head -n1)
	[ -n "$c" ] && CONFIG=$c
	o=$(sed -n 's/^--*hostname-override=//p' "$B/kubelet/flags.txt" | head -n1)
	[ -n "$o" ] && NODE_NAME=$o
	redact kubelet/flags.txt
else
	kerr="skipped: no kubelet process in /proc; "
fi
put "$(H "$CONFIG")" kubelet/config.yaml && redact kubelet/config.yaml
for lf in /var/log/kubelet.log /var/log/kubelet/kubelet.log /var/log/kubernetes/kubelet.log /var/log/kubelet.INFO; do
	if [ -f "$(H "$lf")" ]; then
		tail -c 16777216 "$(H "$lf")" >"$B/kubelet/log.txt" && redact kubelet/log.txt
		break
	fi
done
if [ ! -f "$B/kubelet/log.txt" ] && [ "$pid1" = systemd ] && { [ "$ROOT" = "" ] || [ "$ROOT" = "/" ]; } && command -v journalctl >/dev/null 2>&1; then
	$TO journalctl -u kubelet --no-pager -o short-precise --since "-${SINCE_S}s" >"$B/kubelet/log.txt" 2>/dev/null && redact kubelet/log.txt
fi
kerr="${kerr}skipped: kubelet API (use the memsnap-collect binary)"
rmdir "$B/kubelet" 2>/dev/null
if [ -d "$B/kubelet" ]; then source_done kubelet partial "$kerr"; else source_done kubelet skipped "$kerr"; fi

# The runtimes' memory settings of container processes (runtime-heap-vs-limit):
# only the variables below are kept, one KEY=VALUE a line; every other
# variable is dropped by grep before anything is written to the bundle.
ENV_KEEP='^(JAVA_TOOL_OPTIONS|JDK_JAVA_OPTIONS|_JAVA_OPTIONS|GOMEMLIMIT|GOGC|NODE_OPTIONS)='
nenv=0
for pd in "$(H /proc)"/[0-9]*; do
	[ "$nenv" -lt 5000 ] || break
	grep -q kubepods "$pd/cgroup" 2>/dev/null || continue
	[ -r "$pd/environ" ] || continue
	pid=${pd##*/}
	tr '\000' '\n' <"$pd/environ" 2>/dev/null | grep -E "$ENV_KEEP" >"$STAGE/env.tmp"
	[ -s "$STAGE/env.tmp" ] || continue
	put "$STAGE/env.tmp" "proc/$pid/environ" && redact "proc/$pid/environ"
	nenv=$((nenv + 1))
done
rm -f "$STAGE/env.tmp"
if [ -d "$B/proc" ]; then source_done proc partial "skipped: collect.sh keeps only proc/<pid>/environ (runtime memory settings); the rest needs the memsnap-collect binary"
else source_done proc skipped "not collected by collect.sh"; fi
for s in volumes cadvisor pprof; do source_done "$s" skipped "not collected by collect.sh"; done

# --- manifest ---------------------------------------------------------------
js() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | tr -d '\n\r\t'; }
memkb=$(awk '/^MemTotal:/ {print $2}' "$B/node/meminfo" 2>/dev/null)
btime=$(awk '/^btime/ {print $2}' "$B/node/stat" 2>/dev/null)
boot=
[ -n "$btime" ] && boot=$(date -u -d "@$btime" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null)
page=$(getconf PAGESIZE 2>/dev/null || echo 4096)
SHA=
command -v sha256sum >/dev/null 2>&1 && SHA=sha256sum
{
	printf '{\n  "format": "memsnap-bundle",\n  "format_version": 1,\n'
	printf '  "collector": {"name": "memsnap-collect", "version": "%s", "mode": "script"},\n' "$VERSION"
	printf '  "created": "%s",\n' "$now"
	printf '  "node": {"hostname": "%s", "node_name": "%s", "kernel": "%s", "cgroup_mode": "%s", "cgroup_version": %s, "cgroup_driver": "%s", "page_size": %s, "mem_total_bytes": %s, "boot_time": "%s"},\n' \
		"$(js "$host")" "$(js "$NODE_NAME")" "$(js "$(k osrelease)")" "$CG_MODE" "$CG_VER" "$DRIVER" "$page" "$(( ${memkb:-0} * 1024 ))" "$boot"
	printf '  "sources": ['
	sep=
	while IFS='|' read -r name status err; do
		files=0; bytes=0
		case "$name" in
		node|cgroup|systemd|kubelet|proc) dir=$name ;;
		logs) dir=logs ;;
		*) dir= ;;
		esac
		if [ -n "$dir" ] && [ -d "$B/$dir" ]; then
			files=$(find "$B/$dir" -type f | wc -l)
			bytes=$(find "$B/$dir" -type f -exec cat {} + | wc -c)
		fi
		printf '%s\n    {"name": "%s", "paths": ["%s/"], "status": "%s", "error": "%s", "started": "%s", "duration_ms": 0, "files": %s, "bytes": %s, "truncated": false}' \
			"$sep" "$name" "$name" "$status" "$(js "$err")" "$now" $files $bytes
		sep=,
	done <"$SRC"
	printf '\n  ],\n  "files": ['
	# Sizes and sums in two bulk passes: one process per file is minutes on
	# a 1,000-pod node.
	(cd "$B" && find . -type f ! -name manifest.json -exec wc -c {} + | grep -v ' total$' | sed 's#^ *\([0-9]*\) \./#\1 #') | LC_ALL=C sort -k2 >"$STAGE/sizes"
	if [ -n "$SHA" ]; then
		(cd "$B" && find . -type f ! -name manifest.json -exec $SHA {} + | sed 's#^\([0-9a-f]*\)  \./#\1 #') | LC_ALL=C sort -k2 >"$STAGE/sums"
	else
		awk '{print "-", $2}' "$STAGE/sizes" >"$STAGE/sums"
	fi
	# join(1) is not in every busybox: merge with awk.
	awk -v q='"' 'NR == FNR { sum[$2] = $1; next }
		{ p = $2; gsub(/\\/, "\\\\", p); gsub(/"/, "\\\"", p); s = (sum[$2] == "-") ? "" : sum[$2]
		  printf "%s\n    {%spath%s: %s%s%s, %sbytes%s: %s, %ssha256%s: %s%s%s}", (FNR > 1 ? "," : ""), q, q, q, p, q, q, q, $1, q, q, q, s, q }' "$STAGE/sums" "$STAGE/sizes"
	printf '\n  ],\n  "redactions": ['
	sep=
	while IFS='|' read -r p rule n; do
		printf '%s\n    {"path": "%s", "rule": "%s", "count": %s}' "$sep" "$(js "$p")" "$rule" "$n"
		sep=,
	done <"$RED"
	printf '\n  ]\n}\n'
} >"$B/manifest.json"

# --- tar, manifest last; never a half-written file under the final name -------
set --
for d in node cgroup logs systemd kubelet proc; do [ -d "$B/$d" ] && set -- "$@" "$d"; done
if [ "$OUT" = - ]; then
	tar -C "$B" -czf - "$@" manifest.json || exit 3
else
	tar -C "$B" -czf "$OUT.partial" "$@" manifest.json && mv "$OUT.partial" "$OUT" || { rm -f "$OUT.partial"; echo "collect.sh: no bundle written" >&2; exit 3; }
	echo "collect.sh: wrote $OUT" >&2
fi
exit 0
