#!/usr/bin/env bash
# Records diff: replays every capture of ../shared/pcaps and testdata-pcaps/ with two dcsensor
# binaries and compares their JSON lines byte for byte (timestamps included).
#
#   benches/records-diff.sh OLD_BINARY NEW_BINARY [CAPTURE_OR_DIR...]
#
# Use it to show that a refactor changes no record: build the base commit in release, copy its
# binary aside (cp target/release/dcsensor /tmp/dcsensor-base), build yours, then run
#   benches/records-diff.sh /tmp/dcsensor-base target/release/dcsensor
# Without CAPTURE_OR_DIR it replays ../shared/pcaps (when present) and testdata-pcaps/. Each
# capture is replayed alone with one worker (--workers 1), so the order of records is the
# binary's, not the scheduler's; the stats record's wall-clock `elapsed` is blanked (it is the
# only field that differs between two runs of one binary). Prints one line per capture whose records differ (with the
# count of differing lines and the first difference), then a summary line:
#   records-diff: N captures, N identical, N differ, N lines old, N lines new
# Exit status: 0 when every capture gives identical records, 1 when any differs, 2 on misuse.
# Set KEEP=DIR to keep both outputs of every capture in DIR (old/ and new/).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
  echo "usage: $0 OLD_BINARY NEW_BINARY [CAPTURE_OR_DIR...]" >&2
  exit 2
fi
old=$1 new=$2
shift 2
for b in "$old" "$new"; do
  [ -x "$b" ] || { echo "records-diff: $b is not an executable dcsensor binary; build one with cargo build --release" >&2; exit 2; }
done
if [ $# -eq 0 ]; then
  set -- testdata-pcaps
  if [ -d ../shared/pcaps ]; then
    set -- ../shared/pcaps "$@"
  else
    echo "records-diff: ../shared/pcaps is absent: only testdata-pcaps/ is compared" >&2
  fi
fi
work=${KEEP:-$(mktemp -d)}
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work/old" "$work/new"

caps=$(find "$@" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) | sort)
n=0 same=0 differ=0 lold=0 lnew=0
while IFS= read -r cap; do
  [ -n "$cap" ] || continue
  n=$((n + 1))
  key=$(printf '%s' "$cap" | sed 's|^\.\./||; s|/|__|g')
  o="$work/old/$key.jsonl" w="$work/new/$key.jsonl"
  rco=0 rcn=0
  "$old" replay --no-progress --workers 1 "$cap" -o "$o" 2>"$o.err" || rco=$?
  "$new" replay --no-progress --workers 1 "$cap" -o "$w" 2>"$w.err" || rcn=$?
  # The stats record's wall-clock fields differ from run to run: blank them, keep the rest.
  for f in "$o" "$w"; do
    sed -E -i 's/"elapsed":[0-9.eE+-]+/"elapsed":"-"/g' "$f"
  done
  echo "exit $rco" >>"$o"
  echo "exit $rcn" >>"$w"
  lold=$((lold + $(wc -l <"$o"))); lnew=$((lnew + $(wc -l <"$w")))
  if cmp -s "$o" "$w"; then
    same=$((same + 1))
  else
    differ=$((differ + 1))
    lines=$( (diff "$o" "$w" || true) | grep -c '^[<>]' || true)
    first=$( (diff "$o" "$w" || true) | grep -m2 '^[<>]' | cut -c1-300 | tr '\n' ' ' || true)
    echo "DIFF $cap: $lines lines: $first"
  fi
done <<<"$caps"
echo "records-diff: $n captures, $same identical, $differ differ, $lold lines old, $lnew lines new"
[ "$differ" -eq 0 ]
