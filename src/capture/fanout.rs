//! The kernel's packet fanout (Linux `PACKET_FANOUT`, packet(7)): several capture sockets on one
//! interface joined in a group, each packet delivered to exactly one of them, so that several
//! capture threads each read their own ring and each run their own flow table, with no
//! hand-over between threads.
//!
//! The kernel picks the socket by running a small classic BPF program of ours on every packet
//! ([`program`], `PACKET_FANOUT_CBPF`), not by its own flow hash (`PACKET_FANOUT_HASH`): the
//! program hashes the IP address pair only, the same for both directions, so that everything
//! between two hosts lands on one thread, as the pipeline's own [`crate::packet::flow_hash`]
//! keeps the SMB connections of two hosts together (SMB3 multichannel spreads one session over
//! several connections; the kernel's hash, which takes the ports, would split them). IPv4
//! fragments are reassembled by the kernel before the choice (`PACKET_FANOUT_FLAG_DEFRAG`), and
//! IPv6 fragments carry their addresses, so a datagram's pieces meet on one thread. Traffic that
//! is not IP, and a mirror that arrives in a tunnel (VXLAN, GRE, ERSPAN: one outer address pair),
//! all lands on one thread: correct, but not spread (use workers there). The hash is keyed with
//! multipliers drawn at random for each group ([`random_key`]), so that a sender who picks its
//! source addresses cannot aim them all at one thread, whose ring and share of the flow table
//! are a fraction of the totals.

/// `A`-register loads relative to the network header (`SKF_NET_OFF`): the program sees the IP
/// header at the same place whatever the link layer, and after the kernel removed a VLAN tag.
const NET: u32 = libc::SKF_NET_OFF as u32;
/// The ancillary load of the packet's protocol (its EtherType, `SKF_AD_PROTOCOL`).
const PROTOCOL: u32 = (libc::SKF_AD_OFF + libc::SKF_AD_PROTOCOL) as u32;

// Classic BPF opcodes (linux/filter.h): class | size | mode, or class | operation | source.
const LD_W_ABS: u16 = 0x20;
const LD_MEM: u16 = 0x60;
const ST: u16 = 0x02;
const LDX_MEM: u16 = 0x61;
const XOR_X: u16 = 0xac;
const MUL_K: u16 = 0x24;
const RSH_K: u16 = 0x74;
const JEQ_K: u16 = 0x15;
const JA: u16 = 0x05;
const RET_K: u16 = 0x06;
const RET_A: u16 = 0x16;

/// EtherTypes the program hashes.
const IPV4: u32 = 0x0800;
const IPV6: u32 = 0x86dd;

/// One classic BPF instruction (`struct sock_filter`).
fn op(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// Two random odd multipliers for [`program`], drawn for each group: they key the choice, so
/// that a sender who picks its source addresses cannot tell which of them share a thread.
pub fn random_key() -> (u32, u32) {
    use std::hash::BuildHasher;
    let r = std::collections::hash_map::RandomState::new().hash_one(0x6661_6e6f_7574u64);
    ((r as u32) | 1, ((r >> 32) as u32) | 1)
}

/// The program the kernel runs on every packet to pick a socket of the group: the XOR of the
/// packet's source and destination addresses (32-bit words, so IPv6's four each), which is the
/// same for both directions, mixed by two rounds of multiply (by the `key`'s odd numbers) and
/// fold (the high half XORed into the low), then shifted so that the high bits decide; the
/// kernel takes the result modulo the group's size. Without the key, or with one round, the
/// sum of the address and any multiple of 2^(16 + log2 N) would fall on the same thread
/// whatever the multiplier. Anything but IPv4 and IPv6, and a packet too short for its
/// addresses (the load fails, which ends the program with 0), goes to the first socket.
pub fn program(key: (u32, u32)) -> Vec<libc::sock_filter> {
    // Address words XORed into scratch slot 0: IPv4 at network offsets 12 and 16, IPv6 at 8-36.
    let v4 = [12u32, 16];
    let v6 = [8u32, 12, 16, 20, 24, 28, 32, 36];
    let mix = |p: &mut Vec<libc::sock_filter>, words: &[u32]| {
        p.push(op(LD_W_ABS, 0, 0, NET.wrapping_add(words[0])));
        p.push(op(ST, 0, 0, 0));
        for &w in &words[1..] {
            p.push(op(LD_W_ABS, 0, 0, NET.wrapping_add(w)));
            p.push(op(LDX_MEM, 0, 0, 0));
            p.push(op(XOR_X, 0, 0, 0));
            p.push(op(ST, 0, 0, 0));
        }
    };
    let mut v4_block = Vec::new();
    mix(&mut v4_block, &v4);
    let mut v6_block = Vec::new();
    mix(&mut v6_block, &v6);
    let finish = [
        op(LD_MEM, 0, 0, 0),
        op(MUL_K, 0, 0, key.0 | 1),
        op(ST, 0, 0, 0),
        op(RSH_K, 0, 0, 16),
        op(LDX_MEM, 0, 0, 0),
        op(XOR_X, 0, 0, 0),
        op(MUL_K, 0, 0, key.1 | 1),
        op(RSH_K, 0, 0, 16),
        op(RET_A, 0, 0, 0),
    ];
    // Layout: the protocol and its two tests (0-2), the return for other protocols (3), the
    // IPv4 block (from 4) and a jump over the IPv6 block, the IPv6 block, the finish. Jump
    // offsets count from the next instruction.
    let v4_at = 4;
    let v6_at = v4_at + v4_block.len() + 1;
    let mut p = vec![
        op(LD_W_ABS, 0, 0, PROTOCOL),
        op(JEQ_K, (v4_at - 2) as u8, 0, IPV4),
        op(JEQ_K, (v6_at - 3) as u8, 0, IPV6),
        op(RET_K, 0, 0, 0),
    ];
    p.extend(v4_block);
    p.push(op(JA, 0, 0, v6_block.len() as u32));
    p.extend(v6_block);
    p.extend(finish);
    p
}

/// The most members a group may have here (the kernel allows 256 per group).
pub const MAX_MEMBERS: usize = 64;

/// Whether `members` capture threads on `interfaces` interfaces can work: fanout splits one
/// interface's traffic; with several interfaces a flow may come in on two of them (a mirror of
/// each direction), which only the pipeline's own flow hash brings together.
pub fn check(members: usize, interfaces: usize) -> Result<(), String> {
    if members == 0 || members > MAX_MEMBERS {
        return Err(format!(
            "{members} capture threads: give 1 (no fanout) to {MAX_MEMBERS}"
        ));
    }
    if members > 1 && interfaces > 1 {
        return Err(format!(
            "fanout over {members} threads needs exactly one interface, {interfaces} are named: capture on one, or use workers (pipeline.workers, --workers) with several"
        ));
    }
    Ok(())
}

/// Why joining a group failed, with what to do.
fn join_error(interface: &str, what: &str) -> super::CaptureError {
    super::CaptureError::Open {
        source: interface.to_string(),
        reason: format!(
            "{what}: {}; this kernel refused a fanout group with a BPF program (PACKET_FANOUT_CBPF): set capture.fanout to 1 (or leave out --fanout) to capture on one thread",
            std::io::Error::last_os_error()
        ),
    }
}

/// Joins the packet socket `fd` (a capture opened on `interface`) to a fanout group with
/// [`program`] keyed by `key` (the same for every member): a new group with an id the kernel
/// picks when `group` is None, else the group `group`. Returns the group's id, for the next
/// sockets.
pub fn join(
    fd: i32,
    interface: &str,
    group: Option<u16>,
    key: (u32, u32),
) -> Result<u16, super::CaptureError> {
    let mut flags = libc::PACKET_FANOUT_CBPF | libc::PACKET_FANOUT_FLAG_DEFRAG;
    if group.is_none() {
        flags |= libc::PACKET_FANOUT_FLAG_UNIQUEID;
    }
    let arg: libc::c_int = (u32::from(group.unwrap_or(0)) | (flags << 16)) as libc::c_int;
    if !set_packet_option(fd, libc::PACKET_FANOUT, &arg) {
        return Err(join_error(interface, "cannot join a packet fanout group"));
    }
    // The group's id, as the kernel chose it (or as given).
    let mut got: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `got` and `len` are valid for writes of an int and a socklen_t.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_FANOUT,
            (&mut got as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if r != 0 {
        return Err(join_error(interface, "cannot read the fanout group's id"));
    }
    let mut prog = program(key);
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_mut_ptr(),
    };
    // `fprog` points at `prog`, which outlives the call; the kernel copies the program.
    if !set_packet_option(fd, libc::PACKET_FANOUT_DATA, &fprog) {
        return Err(join_error(
            interface,
            "cannot give the fanout group its program",
        ));
    }
    Ok(got as u32 as u16)
}

/// Sets the packet-socket option `name` of `fd` to `value`; whether the kernel took it (else
/// `errno` says why).
fn set_packet_option<T>(fd: i32, name: libc::c_int, value: &T) -> bool {
    // SAFETY: `value` is a live `T` of `size_of::<T>()` bytes for the call, which only reads it.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_PACKET,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    r == 0
}

#[cfg(test)]
mod tests;
