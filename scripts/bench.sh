#!/usr/bin/env bash
# bench.sh — DESIGN §5 budgets of `memsnap analyze`, measured side by side.
#
# For each size (pods, 3 containers each) it generates a bundle with
# memsnap-gen into a tmpfs, then runs, interleaved, RUNS times each:
#   memsnap analyze --format html, memsnap analyze --format json,
#   tar -xzf of the same bundle into a tmpfs directory,
# and prints medians of CPU time (user+sys, /usr/bin/time), peak RSS,
# report sizes and the ratios against tar; then the growth 100 -> 1000 pods.
#
#   MEMSNAP_BENCH_SIZES="10 100 250 1000"  sizes to run
#   MEMSNAP_BENCH_RUNS=5                   runs per command (>= 5 for the docs)
#   MEMSNAP_BENCH_CGROUP=v2 MEMSNAP_BENCH_DRIVER=systemd
#   MEMSNAP_BENCH_DIR=/dev/shm/...          work directory (tmpfs)
set -euo pipefail

sizes=${MEMSNAP_BENCH_SIZES:-"10 100 250 1000"}
runs=${MEMSNAP_BENCH_RUNS:-5}
cg=${MEMSNAP_BENCH_CGROUP:-v2}
driver=${MEMSNAP_BENCH_DRIVER:-systemd}
root=$(cd "$(dirname "$0")/.." && pwd)
work=${MEMSNAP_BENCH_DIR:-$(mktemp -d /dev/shm/memsnap-bench.XXXXXX)}
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

if [ ! -x /usr/bin/time ]; then
	echo "bench.sh: /usr/bin/time is missing (apt-get install -y time)" >&2
	exit 2
fi

bin="$work/bin"
mkdir -p "$bin"
(cd "$root" && go build -o "$bin/memsnap" ./analyzer/cmd/memsnap && go build -o "$bin/memsnap-gen" ./tools/memsnap-gen)

# measure LABEL CMD...: appends "cpu_seconds max_rss_kb" to $work/LABEL.
measure() {
	local label=$1
	shift
	/usr/bin/time -f '%U %S %M' -o "$work/time.out" "$@" >/dev/null 2>"$work/stderr.out" || {
		echo "bench.sh: $label failed:" >&2
		cat "$work/stderr.out" >&2
		exit 1
	}
	awk '{printf "%.3f %d\n", $1 + $2, $3}' "$work/time.out" >>"$work/$label"
}

calc() { awk "BEGIN { print $1 }"; }

median() { # column of file
	sort -n -k"$2" "$1" | awk -v c="$2" '{v[NR] = $c} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

printf '%s\n' "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), $(uname -r), $(go version | awk '{print $3}')"
printf '%s\n' "bundles: memsnap-gen --containers-per-pod 3 --cgroup $cg --driver $driver --seed 1; medians of $runs interleaved runs"
printf '%-6s %9s %9s | %8s %8s %8s | %6s %6s | %8s %8s %8s | %9s %9s\n' \
	pods bundle_MB raw_MB tar_cpu html_cpu json_cpu html_x json_x tar_MB html_MB json_MB html_size json_size

for pods in $sizes; do
	b="$work/node-$pods.tar.gz"
	"$bin/memsnap-gen" --pods "$pods" --containers-per-pod 3 --cgroup "$cg" --driver "$driver" --seed 1 -o "$b" 2>/dev/null
	rm -f "$work"/{tar,html,json}-"$pods"
	for _ in $(seq "$runs"); do
		rm -rf "$work/x" && mkdir "$work/x"
		measure "tar-$pods" tar -xzf "$b" -C "$work/x"
		measure "html-$pods" "$bin/memsnap" analyze --format html --now 2026-11-23T10:00:00Z -o "$work/r.html" "$b"
		measure "json-$pods" "$bin/memsnap" analyze --format json --now 2026-11-23T10:00:00Z -o "$work/r.json" "$b"
	done
	raw=$(du -sb "$work/x" | awk '{print $1}')
	rm -rf "$work/x"
	t=$(median "$work/tar-$pods" 1) h=$(median "$work/html-$pods" 1) j=$(median "$work/json-$pods" 1)
	printf '%-6s %9.1f %9.1f | %8.2f %8.2f %8.2f | %6.2f %6.2f | %8.0f %8.0f %8.0f | %8.2fM %8.2fM\n' \
		"$pods" "$(calc "$(stat -c %s "$b") / 1048576")" "$(calc "$raw / 1048576")" \
		"$t" "$h" "$j" "$(calc "$h / $t")" "$(calc "$j / $t")" \
		"$(calc "$(median "$work/tar-$pods" 2) / 1024")" "$(calc "$(median "$work/html-$pods" 2) / 1024")" "$(calc "$(median "$work/json-$pods" 2) / 1024")" \
		"$(calc "$(stat -c %s "$work/r.html") / 1048576")" "$(calc "$(stat -c %s "$work/r.json") / 1048576")"
	rm -f "$b"
done

if [ -s "$work/html-100" ] && [ -s "$work/html-1000" ]; then
	for f in html json; do
		printf 'growth 100 -> 1000 pods, %s: CPU x%.2f, peak RSS x%.2f (budget x12)\n' "$f" \
			"$(calc "$(median "$work/$f-1000" 1) / $(median "$work/$f-100" 1)")" \
			"$(calc "$(median "$work/$f-1000" 2) / $(median "$work/$f-100" 2)")"
	done
fi
