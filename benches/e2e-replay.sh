#!/usr/bin/env bash
# End-to-end replay benchmark: dcsensor beside tcpdump and tshark on the same capture.
#
#   benches/e2e-replay.sh [PCAP] [-- extra dcsensor replay options]
#
# Without PCAP it builds the ~1 M packet DC-style capture with ../shared/bench/make-bench-pcap.sh
# (once, into /var/tmp/dcsensor-bench.pcap). Each tool reads the whole file once warm (the file
# is read once before, so all three find it in the page cache); reported: wall seconds, packets
# per second and peak RSS (GNU time). dcsensor writes its records to /dev/null.
#
# DCSENSOR_BIN=path times that binary instead of building this tree's (to compare two builds:
# keep the old one aside, see benches/records-diff.sh); DCSENSOR_ONLY=1 times dcsensor alone.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
pcap=${1:-/var/tmp/dcsensor-bench.pcap}
shift $(( $# > 0 ? 1 : 0 ))
[ "${1:-}" = "--" ] && shift
bench_capture "$pcap"
bench_binary
packets=$(bench_packets "$pcap")
cat "$pcap" >/dev/null

measure() { # label command...: wall seconds and peak RSS of one run, by GNU time
  local label=$1; shift
  local t; t=$(mktemp)
  local rc=0
  /usr/bin/time -f "%e %M" -o "$t" "$@" >/dev/null 2>&1 || rc=$?
  read -r wall kib < "$t"; rm -f "$t"
  printf '%s\t%s\t%s\t%s\n' "$label" "$wall" "$(awk -v k="$kib" 'BEGIN {printf "%.1f", k/1024}')" "$rc"
}
[ -x /usr/bin/time ] || { echo "e2e-replay: needs GNU time (apt-get install time)" >&2; exit 2; }

echo "capture: $pcap ($packets packets, $(du -h "$pcap" | cut -f1)), $(nproc) cores"
printf '%-34s %8s %12s %10s\n' tool seconds packets/s "peak MiB"
while IFS=$'\t' read -r label wall rss rc; do
  pps=$(python3 -c "print(f'{$packets/$wall:,.0f}')")
  printf '%-34s %8s %12s %10s%s\n' "$label" "$wall" "$pps" "$rss" "$([ "$rc" = 0 ] || echo "  (exit $rc)")"
done < <(
  if [ -z "${DCSENSOR_ONLY:-}" ]; then
    measure "tcpdump -r -w /dev/null" tcpdump -r "$pcap" -w /dev/null
    # A display filter makes tshark dissect every packet (with -q alone it skips dissection).
    measure "tshark -Y <dcsensor's protocols>" tshark -n -q -r "$pcap" -Y "kerberos || dns || dcerpc || ntlmssp || smb || smb2 || ldap"
  fi
  measure "dcsensor replay" "$bin" replay --no-progress "$pcap" -o /dev/null "$@"
)
