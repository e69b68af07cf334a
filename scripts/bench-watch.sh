#!/usr/bin/env bash
# bench-watch.sh — issue #15 budgets of memsnap-collect --watch on a
# generated 250-pod host tree (memsnap-gen --host-tree, ~1,000 cgroups):
# peak RSS of a whole watch, and the series bytes of 40 samples — the
# number ten minutes at 15 s take. The watch is shortened (40 samples at
# 500 ms) to keep the run short; the sampling CPU per sample comes from
# BenchmarkWatchSample (make bench), which moves the tree's numbers between
# samples (this tree's numbers do not move; the benchmark's do, and both
# figures are quoted in docs/series.md).
#
#   MEMSNAP_BENCH_RUNS=5  MEMSNAP_BENCH_CGROUP=v2  MEMSNAP_BENCH_DIR=/dev/shm/...
set -euo pipefail
runs=${MEMSNAP_BENCH_RUNS:-5}
cg=${MEMSNAP_BENCH_CGROUP:-v2}
root=$(cd "$(dirname "$0")/.." && pwd)
work=${MEMSNAP_BENCH_DIR:-$(mktemp -d /dev/shm/memsnap-bench-watch.XXXXXX)}
mkdir -p "$work/bin"
(cd "$root" && go build -o "$work/bin/memsnap-gen" ./tools/memsnap-gen && CGO_ENABLED=0 go build -o "$work/bin/memsnap-collect" ./collector-script)
server=
trap 'if [ -n "$server" ]; then kill "$server" 2>/dev/null; fi; rm -rf "$work"' EXIT
tree="$work/node"
"$work/bin/memsnap-gen" --pods 250 --containers-per-pod 3 --cgroup "$cg" --driver systemd --seed 1 --host-tree "$tree" 2>/dev/null
"$work/bin/memsnap-gen" --serve "$tree" >"$work/serve.out" 2>&1 &
server=$!
for _ in $(seq 50); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
read -r -a args <"$work/serve.out"
: >"$work/rss"
: >"$work/bytes"
for i in $(seq "$runs"); do
	rm -f "$work/w.tgz"
	/usr/bin/time -f '%M' -o "$work/time.out" "$work/bin/memsnap-collect" -o "$work/w.tgz" "${args[@]}" --cadvisor off \
		--watch 20s --every 500ms 2>"$work/stderr.out" || { cat "$work/stderr.out" >&2; exit 1; }
	cat "$work/time.out" >>"$work/rss"
	mkdir -p "$work/x" && tar -xzf "$work/w.tgz" -C "$work/x" series
	du -cb "$work"/x/series/*.tsv.gz | tail -1 | cut -f1 >>"$work/bytes"
	samples=$(tar -xzOf "$work/w.tgz" manifest.json | grep -o '"samples": *[0-9]*' | grep -o '[0-9]*$')
	rm -rf "$work/x"
done
med() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf 'watch, 250 pods (%s), %s samples; median of %d runs: peak RSS %.1f MB (budget 30 MB); series files %.2f MB, i.e. %.2f MB per 40 samples = 10 min at 15 s (budget 10 MB)\n' \
	"$cg" "$samples" "$runs" "$(awk "BEGIN{print $(med "$work/rss")/1024}")" "$(awk "BEGIN{print $(med "$work/bytes")/1e6}")" \
	"$(awk "BEGIN{print $(med "$work/bytes")/1e6*40/$samples}")"
