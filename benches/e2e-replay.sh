#!/usr/bin/env bash
# End-to-end replay benchmark: dcsensor beside tcpdump and tshark on the same capture.
#
#   benches/e2e-replay.sh [PCAP] [-- extra dcsensor replay options]
#
# Without PCAP it builds the ~1 M packet DC-style capture with ../shared/bench/make-bench-pcap.sh
# (once, into /var/tmp/dcsensor-bench.pcap). Each tool reads the whole file once warm (the file
# is read once before, so all three find it in the page cache); reported: wall seconds, packets
# per second and peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
pcap=${1:-/var/tmp/dcsensor-bench.pcap}
shift $(( $# > 0 ? 1 : 0 ))
[ "${1:-}" = "--" ] && shift
if [ ! -f "$pcap" ]; then
  echo "building $pcap with ../shared/bench/make-bench-pcap.sh" >&2
  ../shared/bench/make-bench-pcap.sh "$pcap" >&2
fi
cargo build --release --quiet
bin=target/release/dcsensor
packets=$(capinfos -c -M "$pcap" | awk -F: '/Number of packets/ {gsub(/ /,"",$2); print $2}')
cat "$pcap" >/dev/null

measure() { # label command...
  python3 - "$@" <<'PY'
import resource, subprocess, sys, time
label, cmd = sys.argv[1], sys.argv[2:]
t = time.perf_counter()
r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
wall = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"{label}\t{wall:.2f}\t{rss:.1f}\t{r.returncode}")
PY
}

echo "capture: $pcap ($packets packets, $(du -h "$pcap" | cut -f1)), $(nproc) cores"
printf '%-28s %8s %12s %10s\n' tool seconds packets/s "peak MiB"
while IFS=$'\t' read -r label wall rss rc; do
  pps=$(python3 -c "print(f'{$packets/$wall:,.0f}')")
  printf '%-28s %8s %12s %10s%s\n' "$label" "$wall" "$pps" "$rss" "$([ "$rc" = 0 ] || echo "  (exit $rc)")"
done < <(
  measure "tcpdump -r -w /dev/null" tcpdump -r "$pcap" -w /dev/null
  measure "tshark -n -q -r" tshark -n -q -r "$pcap"
  measure "dcsensor replay" "$bin" replay --no-progress "$pcap" -o /dev/null "$@"
)
