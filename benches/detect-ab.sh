#!/usr/bin/env bash
# Interleaved before/after runs of `dcsensor detect` on one input (JSON lines or a batch
# directory): each binary's CPU time (`perf stat -e task-clock`, millisecond resolution, where
# GNU time steps by 10 ms) and page faults, run after run, then the median and range of each in
# records per CPU second. Interleaving keeps a shared machine's drift out of the comparison; run
# it under benches/quiet.sh to pause builds.
#
#   benches/detect-ab.sh INPUT RUNS BIN...
#
# The rate counts the records of INPUT's JSON-lines form: INPUT itself, or for a batch directory
# `target/bench-detect/bench-N.records.jsonl` beside `bench-N.batches` (as benches/e2e-detect.sh
# makes them).
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: benches/detect-ab.sh INPUT RUNS BIN..." >&2; exit 2; }
command -v perf >/dev/null || { echo "detect-ab: needs perf (apt-get install linux-perf)" >&2; exit 2; }
input=$1 runs=$2
shift 2
jsonl=$input
[ -d "$input" ] && jsonl=${input%.batches}.records.jsonl
[ -f "$jsonl" ] || { echo "detect-ab: $jsonl not found (the JSON lines the rate is counted on)" >&2; exit 2; }
records=$(wc -l < "$jsonl")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for i in $(seq 1 "$runs"); do
  for b in "$@"; do
    n=$(echo "$b" | md5sum | cut -c1-8)
    perf stat -e task-clock,page-faults -x, -o "$out/stat" "$b" detect --log-level warn "$input" > /dev/null
    awk -F, '/task-clock/ {t=$1} /page-faults/ {f=$1} END {print t, f}' "$out/stat" >> "$out/$n"
  done
done
echo "input: $input ($records records), $runs interleaved runs, load: $(cut -d' ' -f1-3 /proc/loadavg)"
for b in "$@"; do
  n=$(echo "$b" | md5sum | cut -c1-8)
  python3 - "$out/$n" "$records" "$b" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
recs, name = int(sys.argv[2]), sys.argv[3]
cpu = [r[0] / 1000 for r in rows]
med = statistics.median(cpu)
print(f"{name}: {recs / med:,.0f} records per CPU second (median; {recs / max(cpu):,.0f} to {recs / min(cpu):,.0f}), "
      f"CPU {med:.4f} s, page faults {statistics.median(r[1] for r in rows):,.0f}")
PY
done
