#!/usr/bin/env bash
# make-sample-004.sh — produce sample 004's heap profile and agent log by
# running the real scrape-agent program (lab/scrapeagent) under concurrent
# Prometheus-style scraping, then regenerate the sample's manifest.
#
#   samples/scripts/make-sample-004.sh        (from the repository root; `make samples-004`)
#
# Only loopback traffic; every loop is bounded; the agent is stopped by its
# own pid. Writes:
#   samples/seed-004-cadvisor-oom/pprof/cadvisor/heap.pb.gz   (bytes as served by /debug/pprof/heap)
#   samples/seed-004-cadvisor-oom/cadvisor/log.txt            (the agent's stderr)
set -eu

repo=$(cd "$(dirname "$0")/../.." && pwd)
sample="$repo/samples/seed-004-cadvisor-oom"
duration=${SCRAPE_SECONDS:-30}   # bounded scrape phase
interval=3                       # the seed's Prometheus scrape interval
clients=3                        # Prometheus replicas / jobs scraping the agent
work=$(mktemp -d)
agent_pid=""
cleanup() {
	if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

cd "$repo"
go build -o "$work/scrapeagent" ./lab/scrapeagent

# A node with a few containers that wrote many small files (the seed's
# "2-3G" writable layers) among many ordinary ones.
mk() { # mk ID FILES
	for d in "$work/rootfs/DATA/docker/overlay2/$1/diff" "$work/rootfs/DATA/docker/containers/$1"; do
		mkdir -p "$d"
		( cd "$d" && seq -f "f%05g" 1 "$2" | xargs touch )
	done
}
i=0
while [ $i -lt 40 ]; do
	id=$(printf 'container-%d' $i | sha256sum | cut -c1-64)
	if [ $((i % 8)) -eq 3 ]; then mk "$id" 700; else mk "$id" 12; fi
	i=$((i + 1))
done

# The sample's timeline: the current cadvisor process started at 09:14:05Z
# after its last OOM kill; the capture window ends shortly before the
# bundle's created time (2020-06-18T09:31:40Z).
"$work/scrapeagent" -listen 127.0.0.1:0 -addr-file "$work/addr" -root "$work/rootfs" \
	-scan-delay 2ms -containers 300 -history 60 -log-pid 1 \
	-log-clock 2020-06-18T09:30:58Z 2>"$work/log.txt" &
agent_pid=$!
n=0
while [ ! -s "$work/addr" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
[ -s "$work/addr" ] || { echo "scrapeagent did not start" >&2; exit 1; }
url="http://$(cat "$work/addr")"

# Each client scrapes every $interval s with a timeout of $interval s, as
# Prometheus does with scrape_timeout = scrape_interval: a timed-out
# scrape is abandoned by the client while the agent keeps working on it.
rounds=$((duration / interval))
client_pids=""
c=0
while [ $c -lt $clients ]; do
	(
		sleep "$c"
		r=0
		while [ $r -lt $rounds ]; do
			curl -s -o /dev/null --max-time "$interval" "$url/metrics" &
			sleep "$interval"
			r=$((r + 1))
		done
		wait
	) &
	client_pids="$client_pids $!"
	c=$((c + 1))
done
for p in $client_pids; do wait "$p"; done   # each curl ends by --max-time
sleep 1
curl -sf -o "$work/heap.pb.gz" "$url/debug/pprof/heap"
kill "$agent_pid"; wait "$agent_pid" 2>/dev/null || true; agent_pid=""

mkdir -p "$sample/pprof/cadvisor" "$sample/cadvisor"
cp "$work/heap.pb.gz" "$sample/pprof/cadvisor/heap.pb.gz"
cp "$work/log.txt" "$sample/cadvisor/log.txt"
go run ./samples/internal/gen -o samples -only seed-004-cadvisor-oom
echo "sample 004: heap $(wc -c <"$sample/pprof/cadvisor/heap.pb.gz") bytes, $(grep -c fsHandler "$sample/cadvisor/log.txt") fsHandler lines" >&2
