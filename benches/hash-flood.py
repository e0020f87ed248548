#!/usr/bin/env python3
"""Writes a capture of TCP SYNs from IPv6 addresses chosen so that rustc-hash's FxHasher (the
flow index's hash before it was keyed) gives every flow key the same 64 bits.

    benches/hash-flood.py OUT.pcap [FLOWS]     (default 50,000)

`dcsensor replay OUT.pcap` shows what one flow lookup costs when every key collides; with the
keyed hash the capture costs what any 50,000 new flows cost."""
import struct, sys

M = (1 << 64) - 1
K = 0xF1357AEA2E62A9C5  # FxHasher's 64-bit multiplier (rustc-hash 2)


def add(h, i):
    return ((h + i) * K) & M


SERVER = (0x20010DB8 << 96) | 1  # 2001:db8::1, the flow key's `lo` (the smaller address)
h0 = add(add(0, SERVER & M), SERVER >> 64)  # the hasher after the key's `lo`
C = 0xFEDC_BA98_7654_3210  # what every key's `hi` brings the hasher to


def packets(n):
    a = 0
    while n:
        a += 1
        b = (C - add(h0, a)) & M  # the address's high half cancels its low half
        hi = a | (b << 64)
        if hi <= SERVER:
            continue
        n -= 1
        yield hi


def frame(src, dst, sport, dport):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 5 << 4, 0x02, 64240, 0, 0)
    ip6 = struct.pack("!IHBB", 6 << 28, len(tcp), 6, 64) + src.to_bytes(16, "big") + dst.to_bytes(16, "big")
    eth = bytes.fromhex("020000000002" "020000000001" "86dd")
    return eth + ip6 + tcp


def main():
    out, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 50_000
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, hi in enumerate(packets(n)):
            fr = frame(hi, SERVER, 50_000, 445)
            f.write(struct.pack("<IIII", 1_700_000_000 + i // 100_000, (i % 100_000) * 10, len(fr), len(fr)))
            f.write(fr)


main()
