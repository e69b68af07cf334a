#!/usr/bin/env bash
# Runs every go-fuzz target in the module for FUZZTIME each (default 3m).
# `make test` calls it with a short FUZZTIME as a smoke; `make fuzz` with the
# full time, appending a line per target to docs/fuzz-log.txt when FUZZLOG=1.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-3m}
status=0
targets=$(grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]+\(' . | grep -v '/testdata/' | sort)
[ -n "$targets" ] || { echo "fuzz.sh: no fuzz targets found" >&2; exit 1; }
for file in $targets; do
  dir=$(dirname "$file")
  for fn in $(grep -oE '^func Fuzz[A-Za-z0-9_]+' "$file" | awk '{print $2}'); do
    echo "== fuzz $dir $fn ($FUZZTIME)"
    log=$(mktemp)
    if go test "$dir" -run='^$' -fuzz="^${fn}\$" -fuzztime="$FUZZTIME" -fuzzminimizetime=5s >"$log" 2>&1; then
      result=ok
    else
      result=FAILED; status=1
      cat "$log"
    fi
    execs=$(grep -oE 'execs: [0-9]+' "$log" | tail -1 | awk '{print $2}')
    tail -n 2 "$log"
    if [ "${FUZZLOG:-0}" = 1 ]; then
      printf '%s\t%s\t%s\t%s\texecs=%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$dir" "$fn" "$FUZZTIME" "${execs:-?}" "$result" >> docs/fuzz-log.txt
    fi
    rm -f "$log"
  done
done
exit $status
