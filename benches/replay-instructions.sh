#!/usr/bin/env bash
# Instructions per packet of `dcsensor replay`, counted by valgrind's callgrind: unlike wall-clock
# time, the count does not change when other programs share the cores, so two builds compare
# on a busy machine. Every thread is counted (capture, workers, output).
#
#   benches/replay-instructions.sh [PCAP] [-- extra dcsensor replay options]
#
# Without PCAP it builds a 3-copy bench capture (~86 k packets) with
# ../shared/bench/make-bench-pcap.sh into /var/tmp/dcsensor-bench3.pcap. DCSENSOR_BIN=path
# counts that binary instead of building this tree's (to compare two builds). Prints the total
# instructions, the packets and the instructions per packet; CALLGRIND_OUT=FILE keeps the
# profile for callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
pcap=${1:-/var/tmp/dcsensor-bench3.pcap}
shift $(( $# > 0 ? 1 : 0 ))
[ "${1:-}" = "--" ] && shift
command -v valgrind >/dev/null || { echo "replay-instructions: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
bench_capture "$pcap" 3
bench_binary
packets=$(bench_packets "$pcap")
out=${CALLGRIND_OUT:-$(mktemp)}
[ -n "${CALLGRIND_OUT:-}" ] || trap 'rm -f "$out"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" replay --no-progress --workers 1 "$pcap" -o /dev/null "$@" 2>/dev/null >/dev/null
ir=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ && !done {gsub(/,/,"",$1); print $1; done = 1}')
echo "capture: $pcap ($packets packets), binary: $bin"
python3 -c "print(f'instructions: {$ir:,}  per packet: {$ir/$packets:,.0f}')"
