# Shared by the bench scripts (sourced, run from the project's root): the bench capture, the
# binary measured and a capture's packet count.

# bench_capture PCAP [COPIES]: builds PCAP with ../shared/bench/make-bench-pcap.sh (COPIES copies
# of its DC-style traffic, the script's default without) when it does not exist yet.
bench_capture() {
  local pcap=$1
  shift
  if [ ! -f "$pcap" ]; then
    echo "building $pcap with ../shared/bench/make-bench-pcap.sh" >&2
    ../shared/bench/make-bench-pcap.sh "$pcap" "$@" >&2
  fi
}

# bench_binary: sets `bin` to $DCSENSOR_BIN when given (to compare two builds), else to this
# tree's release build, built first.
bench_binary() {
  if [ -n "${DCSENSOR_BIN:-}" ]; then
    bin=$DCSENSOR_BIN
  else
    cargo build --release --quiet --bin dcsensor
    bin=target/release/dcsensor
  fi
}

# bench_packets PCAP: the number of packets in PCAP (capinfos).
bench_packets() {
  capinfos -c -M "$1" | awk -F: '/Number of packets/ {gsub(/ /,"",$2); print $2}'
}
