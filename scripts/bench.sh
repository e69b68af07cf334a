#!/usr/bin/env bash
# bench.sh — DESIGN §5 budgets of `memsnap analyze` and `memsnap-collect`,
# measured side by side.
#
# For each size (pods, 3 containers each) it generates with memsnap-gen, into
# a tmpfs, the node's bundle and the same node as a host tree, then runs,
# interleaved, RUNS times each:
#   analyzer:  memsnap analyze --format html, memsnap analyze --format json,
#              tar -xzf of the same bundle into a tmpfs directory;
#   collector: memsnap-collect --host-root <tree> against the tree's kubelet
#              (memsnap-gen --serve), tar -czf of the same files (the tree
#              and the kubelet's answers) at the same gzip level (6);
# and prints medians of CPU time (user+sys, /usr/bin/time), peak RSS, output
# sizes and the ratios against tar; then the growth 100 -> 1000 pods.
#
#   MEMSNAP_BENCH_SIZES="10 100 250 1000"  sizes to run
#   MEMSNAP_BENCH_RUNS=5                   runs per command (>= 5 for the docs)
#   MEMSNAP_BENCH_CGROUP=v2 MEMSNAP_BENCH_DRIVER=systemd
#   MEMSNAP_BENCH_DIR=/dev/shm/...          work directory (tmpfs)
#   MEMSNAP_BENCH_MULTI=4 MEMSNAP_BENCH_MULTI_PODS=100
#                                           several bundles in one analyze:
#                                           --jobs 1 against the default
#   MEMSNAP_BENCH_CLUSTER=100 MEMSNAP_BENCH_CLUSTER_PODS=250 MEMSNAP_BENCH_CLUSTER_RUNS=3
#                                           a cluster in one report (0 = off)
#   MEMSNAP_BENCH_BASELINE=DIR              also run DIR/memsnap (HTML) and
#       DIR/memsnap-collect, built from an older commit, interleaved with the
#       others, and print their medians and the speed-up ("before/after"):
#         git worktree add /tmp/base <commit>
#         cp -r report/templates/vendor /tmp/base/report/templates/   # ECharts
#         (cd /tmp/base && go build -o bin/memsnap ./analyzer/cmd/memsnap &&
#           CGO_ENABLED=0 go build -o bin/memsnap-collect ./collector-script)
#         MEMSNAP_BENCH_BASELINE=/tmp/base/bin scripts/bench.sh
set -euo pipefail

sizes=${MEMSNAP_BENCH_SIZES:-"10 100 250 1000"}
runs=${MEMSNAP_BENCH_RUNS:-5}
base=${MEMSNAP_BENCH_BASELINE:-}
cg=${MEMSNAP_BENCH_CGROUP:-v2}
driver=${MEMSNAP_BENCH_DRIVER:-systemd}
root=$(cd "$(dirname "$0")/.." && pwd)
work=${MEMSNAP_BENCH_DIR:-$(mktemp -d /dev/shm/memsnap-bench.XXXXXX)}
mkdir -p "$work"

if [ ! -x /usr/bin/time ]; then
	echo "bench.sh: /usr/bin/time is missing (apt-get install -y time)" >&2
	exit 2
fi

bin="$work/bin"
mkdir -p "$bin"
(cd "$root" && go build -o "$bin/memsnap" ./analyzer/cmd/memsnap && go build -o "$bin/memsnap-gen" ./tools/memsnap-gen &&
	CGO_ENABLED=0 go build -o "$bin/memsnap-collect" ./collector-script)
server=
trap 'if [ -n "$server" ]; then kill "$server" 2>/dev/null; fi; rm -rf "$work"' EXIT

# measure LABEL CMD...: appends "cpu_seconds max_rss_kb wall_seconds" to $work/LABEL.
measure() {
	local label=$1
	shift
	/usr/bin/time -f '%U %S %M %e' -o "$work/time.out" "$@" >/dev/null 2>"$work/stderr.out" || {
		echo "bench.sh: $label failed:" >&2
		cat "$work/stderr.out" >&2
		exit 1
	}
	awk '{printf "%.3f %d %.3f\n", $1 + $2, $3, $4}' "$work/time.out" >>"$work/$label"
}

calc() { awk "BEGIN { print $1 }"; }

median() { # column of file
	sort -n -k"$2" "$1" | awk -v c="$2" '{v[NR] = $c} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

printf '%s\n' "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), $(uname -r), $(go version | awk '{print $3}')"
printf '%s\n' "bundles: memsnap-gen --containers-per-pod 3 --cgroup $cg --driver $driver --seed 1; medians of $runs interleaved runs"
echo "analyzer (tar.gz -> report), CPU seconds and peak RSS MB:"
printf '%-6s %9s %9s | %8s %8s %8s %8s | %6s %6s %6s %6s | %8s %8s %8s | %9s %9s\n' \
	pods bundle_MB raw_MB tar_cpu gz_cpu html_cpu json_cpu html_x json_x html_gz json_gz tar_MB html_MB json_MB html_size json_size

for pods in $sizes; do
	b="$work/node-$pods.tar.gz"
	"$bin/memsnap-gen" --pods "$pods" --containers-per-pod 3 --cgroup "$cg" --driver "$driver" --seed 1 -o "$b" 2>/dev/null
	rm -f "$work"/{tar,gz,html,json,basehtml}-"$pods"
	for _ in $(seq "$runs"); do
		rm -rf "$work/x" && mkdir "$work/x"
		measure "tar-$pods" tar -xzf "$b" -C "$work/x"
		# The floor: every byte must be inflated (stdout goes to /dev/null).
		measure "gz-$pods" gzip -dc "$b"
		measure "html-$pods" "$bin/memsnap" analyze --format html --now 2026-11-23T10:00:00Z -o "$work/r.html" "$b"
		measure "json-$pods" "$bin/memsnap" analyze --format json --now 2026-11-23T10:00:00Z -o "$work/r.json" "$b"
		if [ -n "$base" ]; then
			measure "basehtml-$pods" "$base/memsnap" analyze --format html --now 2026-11-23T10:00:00Z -o "$work/b.html" "$b"
		fi
	done
	raw=$(du -sb "$work/x" | awk '{print $1}')
	rm -rf "$work/x"
	t=$(median "$work/tar-$pods" 1) g=$(median "$work/gz-$pods" 1) h=$(median "$work/html-$pods" 1) j=$(median "$work/json-$pods" 1)
	printf '%-6s %9.1f %9.1f | %8.2f %8.2f %8.2f %8.2f | %6.2f %6.2f %6.2f %6.2f | %8.0f %8.0f %8.0f | %8.2fM %8.2fM\n' \
		"$pods" "$(calc "$(stat -c %s "$b") / 1048576")" "$(calc "$raw / 1048576")" \
		"$t" "$g" "$h" "$j" "$(calc "$h / $t")" "$(calc "$j / $t")" "$(calc "$h / $g")" "$(calc "$j / $g")" \
		"$(calc "$(median "$work/tar-$pods" 2) / 1024")" "$(calc "$(median "$work/html-$pods" 2) / 1024")" "$(calc "$(median "$work/json-$pods" 2) / 1024")" \
		"$(calc "$(stat -c %s "$work/r.html") / 1048576")" "$(calc "$(stat -c %s "$work/r.json") / 1048576")"
	if [ -n "$base" ]; then
		printf '       baseline html: CPU %.2f s, peak RSS %.0f MB -> now %.2f s, %.0f MB (CPU x%.2f)\n' \
			"$(median "$work/basehtml-$pods" 1)" "$(calc "$(median "$work/basehtml-$pods" 2) / 1024")" "$h" \
			"$(calc "$(median "$work/html-$pods" 2) / 1024")" "$(calc "$h / $(median "$work/basehtml-$pods" 1)")"
	fi
	rm -f "$b"
done

echo
echo "collector (host tree -> bundle), CPU seconds and peak RSS MB; tar -czf of the same files:"
printf '%-6s %9s %7s | %8s %8s | %6s | %8s %8s | %9s %9s\n' \
	pods files tree_MB tar_cpu col_cpu col_x tar_MB col_MB tar_size col_size
for pods in $sizes; do
	tree="$work/tree-$pods"
	"$bin/memsnap-gen" --pods "$pods" --containers-per-pod 3 --cgroup "$cg" --driver "$driver" --seed 1 --host-tree "$tree" 2>/dev/null
	"$bin/memsnap-gen" --serve "$tree" >"$work/serve.out" 2>&1 &
	server=$!
	for _ in $(seq 50); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
	read -r -a collect_args <"$work/serve.out"
	rm -f "$work"/{ctar,collect,basecollect}-"$pods"
	for _ in $(seq "$runs"); do
		rm -f "$work/t.tgz" "$work/c.tgz"
		# The open log files of fds.tsv are sparse stand-ins the collector
		# only stats; tar would read their holes.
		measure "ctar-$pods" tar -czf "$work/t.tgz" -C "$tree" --exclude=./root/var/log/app .
		measure "collect-$pods" "$bin/memsnap-collect" -o "$work/c.tgz" "${collect_args[@]}" --cadvisor off
		if [ -n "$base" ]; then
			rm -f "$work/b.tgz"
			measure "basecollect-$pods" "$base/memsnap-collect" -o "$work/b.tgz" "${collect_args[@]}" --cadvisor off
		fi
	done
	kill "$server" && wait "$server" 2>/dev/null || true
	server=
	files=$(find "$tree" -path "$tree/root/var/log/app" -prune -o -type f -print | wc -l)
	treemb=$(($(du -sb "$tree" | awk '{print $1}') - $(du -sb "$tree/root/var/log/app" | awk '{print $1}')))
	t=$(median "$work/ctar-$pods" 1) c=$(median "$work/collect-$pods" 1)
	printf '%-6s %9d %7.1f | %8.2f %8.2f | %6.2f | %8.0f %8.1f | %8.2fM %8.2fM\n' \
		"$pods" "$files" "$(calc "$treemb / 1048576")" "$t" "$c" "$(calc "$c / $t")" \
		"$(calc "$(median "$work/ctar-$pods" 2) / 1024")" "$(calc "$(median "$work/collect-$pods" 2) / 1024")" \
		"$(calc "$(stat -c %s "$work/t.tgz") / 1048576")" "$(calc "$(stat -c %s "$work/c.tgz") / 1048576")"
	if [ -n "$base" ]; then
		printf '       baseline collect: CPU %.2f s (x%.2f of tar), peak RSS %.1f MB -> now %.2f s, %.1f MB\n' \
			"$(median "$work/basecollect-$pods" 1)" "$(calc "$(median "$work/basecollect-$pods" 1) / $t")" \
			"$(calc "$(median "$work/basecollect-$pods" 2) / 1024")" "$c" "$(calc "$(median "$work/collect-$pods" 2) / 1024")"
	fi
	rm -rf "$tree"
done

# Several bundles in one run (CI hands memsnap one per node): --jobs 1
# against the default (one per CPU, at most 4), wall time as well as CPU.
multi=${MEMSNAP_BENCH_MULTI:-4}
mpods=${MEMSNAP_BENCH_MULTI_PODS:-100}
if [ "$multi" -gt 1 ]; then
	echo
	echo "several bundles: $multi bundles of $mpods pods in one memsnap analyze --format json, wall and CPU seconds, peak RSS MB:"
	mb=()
	for i in $(seq "$multi"); do
		"$bin/memsnap-gen" --pods "$mpods" --containers-per-pod 3 --cgroup "$cg" --driver "$driver" --seed "$i" -o "$work/m-$i.tar.gz" 2>/dev/null
		mb+=("$work/m-$i.tar.gz")
	done
	rm -f "$work"/multi-*
	for _ in $(seq "$runs"); do
		for j in 1 0; do
			measure "multi-$j" "$bin/memsnap" analyze --jobs "$j" --format json --now 2026-11-23T10:00:00Z -o "$work/m.json" "${mb[@]}"
		done
	done
	printf '%-22s %8s %8s %8s\n' jobs wall_s cpu_s rss_MB
	for j in 1 0; do
		label="--jobs $j"
		[ "$j" = 0 ] && label="--jobs default ($(($(nproc) < 4 ? $(nproc) : 4)))"
		printf '%-22s %8.2f %8.2f %8.0f\n' "$label" "$(median "$work/multi-$j" 3)" "$(median "$work/multi-$j" 1)" \
			"$(calc "$(median "$work/multi-$j" 2) / 1024")"
	done
	printf 'wall time default / --jobs 1: x%.2f\n' "$(calc "$(median "$work/multi-0" 3) / $(median "$work/multi-1" 3)")"
	rm -f "${mb[@]}"
fi

# A cluster in one report (issue #17): one bundle of MEMSNAP_BENCH_CLUSTER_PODS
# pods given MEMSNAP_BENCH_CLUSTER times to one memsnap analyze writing HTML
# and JSON, default --jobs; wall time matters here (the budget is wall time on
# 2 cores). Its anchor, interleaved: gzip -dc of the same bundle as many times
# (the bytes that must be inflated). A 100-node run takes minutes: runs
# default to 3 (MEMSNAP_BENCH_CLUSTER_RUNS), said in the output.
cluster=${MEMSNAP_BENCH_CLUSTER:-0}
cpods=${MEMSNAP_BENCH_CLUSTER_PODS:-250}
cruns=${MEMSNAP_BENCH_CLUSTER_RUNS:-3}
if [ "$cluster" -gt 0 ]; then
	echo
	echo "cluster: $cluster nodes x $cpods pods (one bundle given $cluster times), html+json in one memsnap analyze, medians of $cruns interleaved runs:"
	cb="$work/cluster.tar.gz"
	"$bin/memsnap-gen" --pods "$cpods" --containers-per-pod 3 --cgroup "$cg" --driver "$driver" --seed 1 -o "$cb" 2>/dev/null
	cargs=()
	for _ in $(seq "$cluster"); do cargs+=("$cb"); done
	rm -f "$work"/cluster-{an,gz}
	for _ in $(seq "$cruns"); do
		measure cluster-gz sh -c 'b=$1; shift; for _ in "$@"; do gzip -dc "$b"; done' sh "$cb" "${cargs[@]}"
		rm -rf "$work/cl"
		measure cluster-an "$bin/memsnap" analyze --format html --format json --now 2026-11-23T10:00:00Z -o "$work/cl" "${cargs[@]}"
	done
	printf '%-8s %8s %8s %8s | %8s %8s | %9s %9s\n' nodes wall_s cpu_s rss_MB gz_cpu cpu_x html_size json_size
	printf '%-8s %8.2f %8.2f %8.0f | %8.2f %8.2f | %8.2fM %8.2fM\n' "$cluster" \
		"$(median "$work/cluster-an" 3)" "$(median "$work/cluster-an" 1)" "$(calc "$(median "$work/cluster-an" 2) / 1024")" \
		"$(median "$work/cluster-gz" 1)" "$(calc "$(median "$work/cluster-an" 1) / $(median "$work/cluster-gz" 1)")" \
		"$(calc "$(stat -c %s "$work/cl/memsnap-report.html") / 1048576")" "$(calc "$(stat -c %s "$work/cl/memsnap-report.json") / 1048576")"
	echo "goals (#17): <= 60 s wall on 2 cores, peak RSS <= 400 MB whatever the number of nodes, HTML <= 5 MB"
	rm -rf "$cb" "$work/cl"
fi

echo
if [ -s "$work/html-100" ] && [ -s "$work/html-1000" ]; then
	for f in html json collect; do
		printf 'growth 100 -> 1000 pods, %s: CPU x%.2f, peak RSS x%.2f\n' "$f" \
			"$(calc "$(median "$work/$f-1000" 1) / $(median "$work/$f-100" 1)")" \
			"$(calc "$(median "$work/$f-1000" 2) / $(median "$work/$f-100" 2)")"
	done
	echo "budgets (DESIGN §5): analyze CPU <= 2x tar -xzf and RSS <= 200 MB at 250 pods, growth 100 -> 1000 <= x12;"
	echo "goals (#17): 1,000 pods CPU <= 2x gzip -dc (html_gz, json_gz), peak RSS <= 150 MB; 250 pods <= 1.2x tar -xzf"
	echo "                     collect CPU <= 1.5x tar -czf, RSS <= 30 MB at every size"
fi
