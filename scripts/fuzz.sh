#!/usr/bin/env bash
# Runs every go-fuzz target in the module for FUZZTIME each (default 3m).
# `make test` calls it with a short FUZZTIME as a smoke; `make fuzz` with the
# full time and FUZZLOG=1, which appends one line per target to
# docs/fuzz-log.txt (time, package, target, duration, executions, new
# crashers, result). FUZZJOBS targets run at once (default 1), each with one
# fuzzing worker.
set -euo pipefail
cd "$(dirname "$0")/.."
export FUZZTIME=${FUZZTIME:-3m} FUZZLOG=${FUZZLOG:-0}
jobs=${FUZZJOBS:-1}

list_targets() {
  grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]+\(' . | grep -v '/testdata/' | sort |
  while read -r file; do
    for fn in $(grep -oE '^func Fuzz[A-Za-z0-9_]+' "$file" | awk '{print $2}'); do
      echo "$(dirname "$file") $fn"
    done
  done
}

run_one() {
  local dir=$1 fn=$2 log result execs crashers before after
  log=$(mktemp)
  before=$(find "$dir/testdata/fuzz/$fn" -type f 2>/dev/null | wc -l)
  if go test "$dir" -run='^$' -fuzz="^${fn}\$" -fuzztime="$FUZZTIME" -fuzzminimizetime=5s -parallel=1 >"$log" 2>&1; then
    result=ok
  else
    result=FAILED
  fi
  after=$(find "$dir/testdata/fuzz/$fn" -type f 2>/dev/null | wc -l)
  crashers=$((after - before))
  execs=$(grep -oE 'execs: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  echo "== $dir $fn: $result (execs ${execs:-?}, new crashers $crashers)"
  [ "$result" = ok ] || cat "$log"
  if [ "$FUZZLOG" = 1 ]; then
    printf '%s\t%s\t%s\t%s\texecs=%s\tnew_crashers=%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$dir" "$fn" \
      "$FUZZTIME" "${execs:-?}" "$crashers" "$result" >> docs/fuzz-log.txt
  fi
  rm -f "$log"
  [ "$result" = ok ]
}
export -f run_one

targets=$(list_targets)
[ -n "$targets" ] || { echo "fuzz.sh: no fuzz targets found" >&2; exit 1; }
echo "fuzz.sh: $(echo "$targets" | wc -l) targets, $FUZZTIME each, $jobs at a time"
echo "$targets" | xargs -P "$jobs" -L 1 bash -c 'run_one "$0" "$1"'
