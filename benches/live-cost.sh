#!/usr/bin/env bash
# What the sensor costs live: dcsensor captures on one end of a veth pair (in its own network
# namespace) while tcpreplay sends the DC-style bench capture from the other end at a steady
# packet rate; reported per rate: the sensor's CPU (percent of one core), peak memory (VmHWM),
# packets the sensor saw, and every drop counter of its final stats record. The last row sends
# as fast as this machine can (--topspeed).
#
#   benches/live-cost.sh [PCAP] [SECONDS] [RATE...]      (root; default 10 s at 10k 50k 100k pps)
#
# DCSENSOR_BIN=path measures that binary instead of building this tree's (to compare two builds,
# as in benches/e2e-replay.sh); extra `dcsensor live` options go in DCSENSOR_ARGS.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
[ "$(id -u)" -eq 0 ] || { echo "live-cost: needs root (network namespaces)" >&2; exit 2; }
pcap=${1:-/var/tmp/dcsensor-bench.pcap}
secs=${2:-10}
shift $(( $# >= 2 ? 2 : $# ))
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(10000 50000 100000 top)
bench_capture "$pcap"
bench_binary
bin=$(realpath "$bin") # run inside network namespaces
ns_s=dcscost-s ns_t=dcscost-t
cleanup() { ip netns del "$ns_s" 2>/dev/null || true; ip netns del "$ns_t" 2>/dev/null || true; }
trap cleanup EXIT
cleanup
ip netns add "$ns_s"; ip netns add "$ns_t"
ip link add dcscost-a type veth peer name dcscost-b
ip link set dcscost-a netns "$ns_s"; ip link set dcscost-b netns "$ns_t"
ip -n "$ns_s" link set dcscost-a mtu 9000 up; ip -n "$ns_t" link set dcscost-b mtu 9000 up
hz=$(getconf CLK_TCK)
printf '%-8s %10s %8s %10s %10s  %s\n' rate "sent pps" "cpu %" "peak MiB" packets drops
for rate in "${rates[@]}"; do
  out=$(mktemp)
  ip netns exec "$ns_s" "$bin" live -i dcscost-a --promisc --log-level warn ${DCSENSOR_ARGS:-} > "$out" 2>/dev/null &
  pid=$!
  sleep 1
  t0=$(awk '{print $14+$15}' /proc/$pid/stat); w0=$(date +%s.%N)
  if [ "$rate" = top ]; then
    sent=$(ip netns exec "$ns_t" timeout "$secs" tcpreplay -q --topspeed -i dcscost-b "$pcap" 2>&1 | awk '/Rated:/ {print $(NF-1)}' || true)
  else
    ip netns exec "$ns_t" timeout "$secs" tcpreplay -q --pps="$rate" -i dcscost-b "$pcap" >/dev/null 2>&1 || true
    sent=$rate
  fi
  t1=$(awk '{print $14+$15}' /proc/$pid/stat); w1=$(date +%s.%N)
  hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
  kill -TERM $pid; wait $pid || true
  cpu=$(python3 -c "print(f'{100*($t1-$t0)/$hz/($w1-$w0):.1f}')")
  python3 - "$out" "$rate" "$sent" "$cpu" "$hwm" <<'PY'
import json, sys
out, rate, sent, cpu, hwm = sys.argv[1:]
last = [json.loads(l) for l in open(out) if '"type":"stats"' in l][-1]
drops = {k: v for k, v in last["drops"].items() if v}
print(f"{rate:<8} {sent:>10} {cpu:>8} {int(hwm)/1024:>10.1f} {last['packets']:>10}  {drops or 'none'}")
PY
  rm -f "$out"
done
