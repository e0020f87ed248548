//! Fuzz target: the tunnel layer. The first input byte picks an outer encapsulation (VXLAN,
//! Geneve, GRE, IP-in-IP over IPv4 and IPv6, MPLS, PPPoE), whose fixed outer headers are built
//! here around the rest of the input, so that the fuzzer spends its time inside the tunnel
//! headers and the frames they carry (nested tunnels, fragments, hostile lengths). The result
//! must never panic, and every frame yields a packet or is counted or held.
#![no_main]
use dcsensor::capture::{Frame, LinkType};
use dcsensor::packet::{Decoder, PacketConfig};
use dcsensor::stats::{Counter, Counters};
use libfuzzer_sys::fuzz_target;

fn eth(et: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
    v.extend_from_slice(&et.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()).min(65535) as u16;
    let mut v = vec![
        0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    v[2..4].copy_from_slice(&total.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn ipv6(nh: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x60, 0, 0, 0];
    v.extend_from_slice(&(payload.len().min(65535) as u16).to_be_bytes());
    v.extend_from_slice(&[nh, 64]);
    v.extend_from_slice(&[0; 31]);
    v.push(1);
    v.extend_from_slice(payload);
    v
}

fn udp(dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = 40000u16.to_be_bytes().to_vec();
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&((8 + payload.len()).min(65535) as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(payload);
    v
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let frame = match sel % 8 {
        0 => eth(0x0800, &ipv4(17, &udp(4789, rest))),
        1 => eth(0x0800, &ipv4(17, &udp(6081, rest))),
        2 => eth(0x0800, &ipv4(47, rest)),
        3 => eth(0x86dd, &ipv6(47, rest)),
        4 => eth(0x0800, &ipv4(4, rest)),
        5 => eth(0x86dd, &ipv6(41, rest)),
        6 => eth(0x8847, rest),
        _ => eth(0x8864, rest),
    };
    let counters = Counters::default();
    let mut dec = Decoder::new(PacketConfig {
        fragment_memory: 16 * 1024,
        ..PacketConfig::default()
    });
    // Whole, and cut by a snap length at a point the selector's high bits choose.
    let cut = frame.len() * usize::from(sel >> 3) / 32;
    for (bytes, orig) in [(&frame[..], frame.len()), (&frame[..cut], frame.len())] {
        let before: u64 = Counter::ALL.iter().map(|&k| counters.get(k)).sum();
        let f = Frame {
            ts: 1,
            link: LinkType::ETHERNET,
            data: bytes,
            orig_len: orig as u32,
        };
        let out = dec
            .decode(&f, &counters)
            .map(|(m, p)| (m.tunnel.depth(), p.len()));
        let after: u64 = Counter::ALL.iter().map(|&k| counters.get(k)).sum();
        match out {
            Some((depth, len)) => assert!(depth <= 4 && len <= bytes.len()),
            None => assert!(after > before || dec.fragments_pending() > 0),
        }
    }
    dec.flush_fragments(&counters);
});
