//! The fanout program, run by a classic BPF interpreter of the test's own (the opcodes the
//! program uses, with the kernel's rules for network-relative and ancillary loads), on made-up
//! and captured packets. That the kernel accepts and runs it is `tests/live.rs`'s part.

use super::*;

/// Runs `prog` on a packet whose EtherType is `protocol` and whose network layer is `net`, as
/// the kernel does for a fanout group; a load past the end ends the program with 0.
fn run(prog: &[libc::sock_filter], protocol: u16, net: &[u8]) -> u32 {
    assert!(!prog.is_empty() && prog.len() <= 4096);
    let (mut a, mut x, mut mem) = (0u32, 0u32, [0u32; 16]);
    let mut written = [false; 16];
    let mut pc = 0;
    let mut steps = 0;
    loop {
        steps += 1;
        assert!(steps <= prog.len(), "classic BPF only jumps forward");
        let i = prog[pc];
        let k = i.k;
        pc += 1;
        match i.code {
            LD_W_ABS if k == PROTOCOL => a = u32::from(protocol),
            LD_W_ABS => {
                let off = k.wrapping_sub(NET) as usize;
                assert!(k >= NET && off < 0x1000, "only network-relative loads");
                match net.get(off..off + 4) {
                    Some(b) => a = u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                    None => return 0,
                }
            }
            LD_MEM => {
                assert!(written[k as usize], "scratch slot {k} read before written");
                a = mem[k as usize];
            }
            LDX_MEM => {
                assert!(written[k as usize], "scratch slot {k} read before written");
                x = mem[k as usize];
            }
            ST => {
                mem[k as usize] = a;
                written[k as usize] = true;
            }
            XOR_X => a ^= x,
            MUL_K => a = a.wrapping_mul(k),
            RSH_K => a >>= k,
            JEQ_K => pc += usize::from(if a == k { i.jt } else { i.jf }),
            JA => pc += k as usize,
            RET_K => return k,
            RET_A => return a,
            c => panic!("opcode {c:#x} not expected"),
        }
        assert!(pc < prog.len(), "the program runs past its end");
    }
}

/// A key as [`random_key`] draws them, fixed so that the tests repeat.
const KEY: (u32, u32) = (0x9e37_79b1, 0x85eb_ca6b);

/// The member a packet goes to in a group of `n`, as the kernel picks it.
fn member(protocol: u16, net: &[u8], n: u32) -> u32 {
    run(&program(KEY), protocol, net) % n
}

fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, sport: u16, dport: u16) -> Vec<u8> {
    let mut p = vec![0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, proto, 0, 0];
    p.extend(src);
    p.extend(dst);
    p.extend(sport.to_be_bytes());
    p.extend(dport.to_be_bytes());
    p.extend([0; 16]);
    p
}

fn ipv6(src: [u8; 16], dst: [u8; 16], next: u8, tail: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0, 0, tail.len() as u8, next, 64];
    p.extend(src);
    p.extend(dst);
    p.extend(tail);
    p
}

/// A small deterministic generator of addresses.
fn lcg(state: &mut u64) -> u32 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*state >> 32) as u32
}

#[test]
fn both_directions_and_every_port_of_two_hosts_go_to_one_member() {
    let mut s = 7;
    for _ in 0..2000 {
        let (a, b) = (lcg(&mut s).to_be_bytes(), lcg(&mut s).to_be_bytes());
        let (p1, p2) = (lcg(&mut s) as u16, lcg(&mut s) as u16);
        for n in [2, 3, 4, 16] {
            let there = member(0x0800, &ipv4(a, b, 6, p1, p2), n);
            assert_eq!(member(0x0800, &ipv4(b, a, 6, p2, p1), n), there);
            // Another connection (ports) or protocol between the same hosts: the same member.
            assert_eq!(member(0x0800, &ipv4(a, b, 17, 53, p1 ^ 1), n), there);
            assert_eq!(member(0x0800, &ipv4(b, a, 6, 445, p2), n), there);
        }
        let mut a6 = [0u8; 16];
        let mut b6 = [0u8; 16];
        for w in 0..4 {
            a6[w * 4..w * 4 + 4].copy_from_slice(&lcg(&mut s).to_be_bytes());
            b6[w * 4..w * 4 + 4].copy_from_slice(&lcg(&mut s).to_be_bytes());
        }
        let tcp = [0x1f, 0x90, 0x01, 0xbd, 0, 0, 0, 0];
        let there = member(0x86dd, &ipv6(a6, b6, 6, &tcp), 4);
        assert_eq!(member(0x86dd, &ipv6(b6, a6, 6, &tcp), 4), there);
        // A fragment of a datagram between them (fragment header, 44): the same member.
        assert_eq!(member(0x86dd, &ipv6(a6, b6, 44, &[17, 0, 0, 1]), 4), there);
    }
}

/// How many of `clients` (addresses talking to one DC) each of `n` members gets.
fn spread(key: (u32, u32), clients: impl Iterator<Item = u32>, n: u32) -> Vec<u32> {
    let dc = [10, 0, 0, 1];
    let mut count = vec![0u32; n as usize];
    let prog = program(key);
    for c in clients {
        let p = ipv4(c.to_be_bytes(), dc, 6, 50000, 88);
        count[(run(&prog, 0x0800, &p) % n) as usize] += 1;
    }
    count
}

#[test]
fn address_pairs_spread_over_the_members() {
    // A DC's traffic: one address (the DC) and many clients, under several keys.
    let mut s = 11;
    for key in [KEY, random_key(), (lcg(&mut s), lcg(&mut s))] {
        for n in [2u32, 4, 8] {
            let count = spread(key, (0..4096u32).map(|h| 0x0a01_0000 + h), n);
            let even = 4096 / n;
            for (m, c) in count.iter().enumerate() {
                assert!(
                    c.abs_diff(even) < even / 5,
                    "key {key:x?}, {n} members: member {m} got {c} of 4096 clients ({count:?})"
                );
            }
        }
    }
}

#[test]
fn addresses_that_differ_only_high_up_still_spread() {
    // With one multiply, x and x + 2^(16 + log2 n) always met on one member: a sender free to
    // pick such source addresses could put all of its packets on one thread.
    for n in [2u32, 4] {
        let step = 1u32 << (16 + n.trailing_zeros());
        let count = spread(
            KEY,
            (0..256u32).map(|i| 0x0a00_0002u32.wrapping_add(i * step)),
            n,
        );
        assert!(
            count.iter().all(|&c| c >= 256 / n / 2),
            "{n} members: {count:?}"
        );
    }
}

#[test]
fn what_is_not_ip_or_too_short_goes_to_the_first_member() {
    let arp = [0u8; 28];
    assert_eq!(run(&program(KEY), 0x0806, &arp), 0);
    // An IPv4 header cut before the destination address, an IPv6 header cut inside it.
    let v4 = ipv4([10, 0, 0, 2], [10, 0, 0, 1], 6, 1, 2);
    assert_eq!(run(&program(KEY), 0x0800, &v4[..18]), 0);
    let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
    a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    b[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    (a[15], b[15]) = (2, 1);
    let v6 = ipv6(a, b, 6, &[]);
    assert_eq!(run(&program(KEY), 0x86dd, &v6[..38]), 0);
    assert_ne!(run(&program(KEY), 0x86dd, &v6), 0);
    assert_eq!(run(&program(KEY), 0x86dd, &[]), 0);
}

#[test]
fn captured_frames_of_both_directions_go_to_one_member() {
    use crate::capture::file::FileSource;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata-pcaps/lab");
    let mut pairs = std::collections::HashMap::new();
    let mut frames = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("pcap") {
            continue;
        }
        let mut file = FileSource::open(&path).unwrap();
        while let Ok(Some(frame)) = file.next_frame() {
            let d = frame.data;
            if frame.link != crate::capture::LinkType::ETHERNET || d.len() < 14 {
                continue;
            }
            // The kernel removes a VLAN tag before the program runs.
            let (ty, net) = match u16::from_be_bytes([d[12], d[13]]) {
                0x8100 if d.len() >= 18 => (u16::from_be_bytes([d[16], d[17]]), &d[18..]),
                t => (t, &d[14..]),
            };
            let (src, dst) = match ty {
                0x0800 if net.len() >= 20 => (net[12..16].to_vec(), net[16..20].to_vec()),
                0x86dd if net.len() >= 40 => (net[8..24].to_vec(), net[24..40].to_vec()),
                _ => continue,
            };
            frames += 1;
            let m = member(ty, net, 4);
            let key = if src < dst { (src, dst) } else { (dst, src) };
            let first = *pairs.entry(key.clone()).or_insert(m);
            assert_eq!(m, first, "{}: pair {key:?}", path.display());
        }
    }
    assert!(frames > 1000, "{frames} IP frames in the lab captures");
    assert!(pairs.len() > 3, "{} address pairs", pairs.len());
}
