#!/usr/bin/env bash
# End-to-end detection benchmark: `dcsensor detect` on a JSON-lines record file of the bench
# capture (parsing every line, the engine, writing the alerts), one process on one core.
#
#   benches/e2e-detect.sh [COPIES] [RUNS]        (default 4 copies, 3 runs)
#
# The capture is built with ../shared/bench/make-bench-pcap.sh into target/bench-detect/ (as
# benches/detect.rs does) and replayed once into records (`dcsensor replay --workers 1`); the
# record file is read once before timing, so it is in the page cache. Reported per run: wall
# seconds, user+system CPU seconds, records per CPU second (per core: the process is single
# threaded on this input) and peak RSS (GNU time), then the instructions of one run under
# callgrind when DCSENSOR_CALLGRIND=1 (repeatable on a loaded machine, unlike wall time).
#
# DCSENSOR_BIN=path times that binary instead of building this tree's.
# DCSENSOR_E2E_INPUT=batches reads the same records as MessagePack batches instead (the form
# sensors ship: `dcsensor replay --workers 1 --sink file:DIR` of the same capture, made once
# into target/bench-detect/bench-COPIES.batches/); the rate is still per record of the JSON-lines
# file (the batches add the sensor's `stats` records, which the engine skips).
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
copies=${1:-4}
runs=${2:-3}
dir=target/bench-detect
mkdir -p "$dir"
pcap=$dir/bench-$copies.pcap
if [ ! -f "$pcap" ]; then
  echo "building $pcap with ../shared/bench/make-bench-pcap.sh" >&2
  ../shared/bench/make-bench-pcap.sh "$pcap.part" "$copies" > "$dir/make-bench-pcap.log" 2>&1 ||
    { echo "make-bench-pcap.sh failed, see $dir/make-bench-pcap.log" >&2; exit 2; }
  mv "$pcap.part" "$pcap"
fi
bench_binary
[ -x /usr/bin/time ] || { echo "e2e-detect: needs GNU time (apt-get install time)" >&2; exit 2; }
jsonl=$dir/bench-$copies.records.jsonl
if [ ! -f "$jsonl" ] || [ "$pcap" -nt "$jsonl" ]; then
  "$bin" replay --no-progress --workers 1 "$pcap" --log-level warn 2>/dev/null |
    grep -v '"type":"stats"' > "$jsonl.part"
  mv "$jsonl.part" "$jsonl"
fi
records=$(wc -l < "$jsonl")
input=$jsonl
if [ "${DCSENSOR_E2E_INPUT:-}" = batches ]; then
  input=$dir/bench-$copies.batches
  if [ ! -d "$input" ] || [ "$pcap" -nt "$input" ]; then
    rm -rf "$input.part"
    "$bin" replay --no-progress --workers 1 "$pcap" --log-level warn --sensor-id bench \
      --sink "file:$input.part" >/dev/null 2>&1
    rm -rf "$input.part/.spool" "$input"
    mv "$input.part" "$input"
  fi
fi
cat "$jsonl" >/dev/null
[ -d "$input" ] && cat "$input"/*.msgpack >/dev/null
echo "records: $input ($records records, $(du -shL "$input" | cut -f1)), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wall-clock figures on a shared machine are noisy; CPU seconds are less so"
printf '%-4s %8s %8s %14s %10s %8s\n' run wall cpu "records/cpu-s" "peak MiB" alerts
for i in $(seq 1 "$runs"); do
  t=$(mktemp); out=$(mktemp)
  /usr/bin/time -f "%e %U %S %M" -o "$t" "$bin" detect --log-level warn "$input" > "$out"
  read -r wall user sys kib < "$t"
  alerts=$(wc -l < "$out")
  rm -f "$t" "$out"
  python3 - "$i" "$wall" "$user" "$sys" "$kib" "$records" "$alerts" <<'PY'
import sys
i, wall, user, sys_, kib, recs, alerts = sys.argv[1:]
cpu = float(user) + float(sys_)
print(f"{i:<4} {float(wall):8.2f} {cpu:8.2f} {int(recs)/max(cpu,1e-9):14,.0f} {int(kib)/1024:10.1f} {alerts:>8}")
PY
done
if [ -n "${DCSENSOR_CALLGRIND:-}" ]; then
  command -v valgrind >/dev/null || { echo "DCSENSOR_CALLGRIND: needs valgrind" >&2; exit 2; }
  cg=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file="$cg" "$bin" detect --log-level warn "$input" >/dev/null 2>"$cg.log"
  ir=$(awk '/^summary:/ {print $2}' "$cg")
  python3 -c "print(f'callgrind: {int($ir):,} instructions, {int($ir)/$records:,.0f} per record (profile: $cg)')"
fi
