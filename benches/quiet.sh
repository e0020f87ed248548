#!/usr/bin/env bash
# Runs CMD with this machine's other CPU-busy processes (compilers, linkers, valgrind, chromium,
# other dcsensor runs and test binaries) stopped with SIGSTOP, and continues them when CMD ends:
# wall and CPU figures on a shared 2-core machine mean little while builds run beside them.
# Only for short timing runs; a test paused this way may time out.
#
#   benches/quiet.sh CMD [ARG...]
pids=$(ps -eo pid=,comm= | awk -v me=$$ '$2 ~ /^(rustc|cargo|cc|ld|collect2|cc1|cc1plus|valgrind|callgrind|memcheck|build-script|clippy-driver|rust-lld|chromium|dcsensor|detect-|fuzz)/ && $1 != me {print $1}')
[ -n "$pids" ] && kill -STOP $pids 2>/dev/null
trap '[ -n "$pids" ] && kill -CONT $pids 2>/dev/null' EXIT
"$@"
