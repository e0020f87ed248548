//! Seed corpus for the fuzz targets, cut from capture files at the time the fuzzers run.
//!
//! ```text
//! cargo run --example fuzz_seeds -- fuzz/corpus ../shared/pcaps ../shared/lab-pcaps testdata-pcaps
//! ```
//!
//! Every capture (`.pcap`, `.pcapng`, `.cap`) under the given files and folders is read with the
//! sensor's own reader and packet decoder (tunnels taken off, fragments rebuilt), its TCP
//! payloads gathered per connection and direction (retransmitted bytes left out), and each fuzz
//! target gets inputs in its own format in `OUT/<target>/`:
//!
//! | target | seeds |
//! |---|---|
//! | `packet` | the first 16 KiB of every capture file (the reader's input, cut mid-record) |
//! | `tunnel` | the bytes inside VXLAN, Geneve, GRE, IP-in-IP, MPLS and PPPoE outer headers found in the captures, and the captures' own IP packets and frames behind the target's selector for IP-in-IP and VXLAN |
//! | `dns` | UDP payloads of port 53, 5353 and 5355 |
//! | `kerberos` | UDP payloads of 88 and 464, TCP messages of 88 and 464 without their record mark, each behind three control bytes |
//! | `ldap` | LDAP TCP conversations (389, 3268) in the target's format (mode 2, `\0\0` between turns), CLDAP datagrams (mode 3) |
//! | `ntlm` | NTLMSSP messages (mode 0), one connection's messages (mode 1), HTTP (mode 2) and LDAP (mode 3) conversations |
//! | `spnego` | GSS-API tokens (`0x60` wrappers, NegTokenResp) and NTLMSSP messages found in any payload |
//! | `smb` | SMB conversations (445, 139) as the target's steps, with and without small caps |
//! | `dcerpc` | DCE-RPC conversations (any TCP connection whose first bytes are a v5 PDU) as steps (mode 0), connectionless datagrams (mode 2) |
//! | `dcerpc_args` | request and response stubs of every DCE-RPC PDU, with their byte order |
//! | `kit` | each direction of DNS, Kerberos, SMB, DCE-RPC and LDAP streams behind their framing's selector |
//! | `detect_json` | the records the sensor writes for the capture (its JSON lines, as `dcsensor replay` writes them), at most 24 of each record type per capture |
//! | `detect_batch` | the sensor's MessagePack batches of the same records (its batcher's, as `dcsensor replay --sink file:DIR` writes them, closed at 16 records or 2 KiB), the batches holding the first 4 of each record type per capture, alone and with the two batches after them (`\xc1\xc1` between batches) |
//!
//! `tcp_reassembly` draws its streams itself and gets no seeds. Captures are never copied into
//! the repository: the corpus folder is ignored by git and rebuilt by `.ci/fuzz-smoke`.
//! Inputs are named by a hash of their bytes, so running the tool again adds nothing twice and
//! leaves what the fuzzers found alone.

use dcsensor::capture::file::FileSource;
use dcsensor::output::{JsonLines, Output, OutputError};
use dcsensor::packet::{Decoder, PacketConfig};
use dcsensor::pipeline::{self, Files, Options};
use dcsensor::record::{Record, Transport};
use dcsensor::stats::Counters;
use dcsensor::upstream::batch::{Batcher, Limits};
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The largest seed written (libFuzzer's `-max_len` follows the largest input of the corpus).
const MAX_SEED: usize = 16 * 1024;
/// Bytes of one connection kept, both directions together.
const MAX_FLOW: usize = 64 * 1024;
/// Seeds per target at most (enough variety; the fuzzer's first pass over them stays short).
const MAX_PER_TARGET: usize = 3000;

/// One connection or conversation: its payloads in arrival order, with their direction
/// (true: towards the server).
#[derive(Default)]
struct Conv {
    server_port: u16,
    to_server_first: Option<(IpAddr, u16)>,
    next_seq: [Option<u32>; 2],
    chunks: Vec<(bool, Vec<u8>)>,
    bytes: usize,
}

/// Seeds by target, deduplicated.
#[derive(Default)]
struct Seeds {
    by_target: HashMap<&'static str, Vec<Vec<u8>>>,
    seen: HashSet<(&'static str, u64)>,
}

impl Seeds {
    fn add(&mut self, target: &'static str, mut seed: Vec<u8>) {
        if seed.is_empty() {
            return;
        }
        seed.truncate(MAX_SEED);
        let v = self.by_target.entry(target).or_default();
        if v.len() >= MAX_PER_TARGET || !self.seen.insert((target, hash(&seed))) {
            return;
        }
        v.push(seed);
    }
}

fn hash(b: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    b.hash(&mut h);
    h.finish()
}

/// Ports a server listens on, to tell the direction of a conversation picked up midway.
const SERVER_PORTS: [u16; 14] = [
    53, 88, 135, 139, 389, 445, 464, 3268, 80, 8080, 5353, 5355, 4789, 6081,
];

fn captures(p: &Path, out: &mut Vec<PathBuf>) {
    if p.is_dir() {
        let Ok(rd) = std::fs::read_dir(p) else { return };
        let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for e in entries {
            captures(&e, out);
        }
    } else if p
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e, "pcap" | "pcapng" | "cap"))
    {
        out.push(p.to_path_buf());
    }
}

/// The payload behind an Ethernet frame's outer encapsulation, with the `tunnel` target's
/// selector for it (see fuzz/fuzz_targets/tunnel.rs).
fn outer_tunnel(frame: &[u8]) -> Option<(u8, &[u8])> {
    let mut et = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
    let mut at = 14;
    while matches!(et, 0x8100 | 0x88a8) {
        et = u16::from_be_bytes([*frame.get(at + 2)?, *frame.get(at + 3)?]);
        at += 4;
    }
    let l3 = frame.get(at..)?;
    // VXLAN (and Linux's old port) or Geneve: the selector, past the UDP header.
    let udp = |b: &[u8]| -> Option<(u8, usize)> {
        match u16::from_be_bytes([*b.get(2)?, *b.get(3)?]) {
            4789 | 8472 => Some((0, 8)),
            6081 => Some((1, 8)),
            _ => None,
        }
    };
    match et {
        0x8847 => Some((6, l3)),
        0x8864 => Some((7, l3)),
        0x0800 => {
            let ihl = usize::from(l3.first()? & 0x0f) * 4;
            let body = l3.get(ihl..)?;
            match l3.get(9)? {
                47 => Some((2, body)),
                4 => Some((4, body)),
                17 => {
                    let (sel, skip) = udp(body)?;
                    Some((sel, body.get(skip..)?))
                }
                _ => None,
            }
        }
        0x86dd => {
            let body = l3.get(40..)?;
            match l3.get(6)? {
                47 => Some((3, body)),
                41 => Some((5, body)),
                17 => {
                    let (sel, skip) = udp(body)?;
                    Some((sel, body.get(skip..)?))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// The `tunnel` target's inputs made of a plain Ethernet frame: its IP packet as IP-in-IP, the
/// frame behind a VXLAN header.
fn wrap_plain(frame: &[u8], seeds: &mut Seeds) {
    if frame.len() < 34 || frame[12..14] != [0x08, 0x00] {
        return;
    }
    let mut s = vec![4];
    s.extend_from_slice(&frame[14..]);
    seeds.add("tunnel", s);
    let mut s = vec![0, 0x08, 0, 0, 0, 0, 0, 0x2a, 0];
    s.extend_from_slice(frame);
    seeds.add("tunnel", s);
}

/// Splits `data` into the `[ctl][len][bytes]` steps of the smb and dcerpc targets.
fn steps(out: &mut Vec<u8>, ctl: u8, data: &[u8]) {
    for c in data.chunks(255) {
        out.push(ctl);
        out.push(c.len() as u8);
        out.extend_from_slice(c);
    }
}

/// A conversation with `\0\0` at each change of direction, starting towards the server (the
/// ldap and ntlm targets' stream modes).
fn turns(mode: u8, conv: &Conv) -> Vec<u8> {
    let mut s = vec![mode];
    let mut to_server = true;
    for (dir, c) in &conv.chunks {
        if *dir != to_server {
            s.extend_from_slice(&[0, 0]);
            to_server = *dir;
        }
        s.extend_from_slice(c);
    }
    s
}

/// One direction of a conversation, concatenated.
fn side(conv: &Conv, to_server: bool) -> Vec<u8> {
    conv.chunks
        .iter()
        .filter(|(d, _)| *d == to_server)
        .flat_map(|(_, c)| c.iter().copied())
        .collect()
}

/// Each DCE-RPC connection-oriented PDU in `stream`: (little endian, ptype, body after the
/// common 16-byte header, auth length).
fn dce_pdus(stream: &[u8]) -> Vec<(bool, u8, &[u8], usize)> {
    let mut v = Vec::new();
    let mut at = 0;
    while let Some(h) = stream.get(at..at + 16) {
        if h[0] != 5 || h[1] != 0 {
            break;
        }
        let le = h[4] & 0x10 != 0;
        let rd = |a: usize| {
            if le {
                u16::from_le_bytes([h[a], h[a + 1]])
            } else {
                u16::from_be_bytes([h[a], h[a + 1]])
            }
        };
        let (frag, auth) = (usize::from(rd(8)), usize::from(rd(10)));
        let Some(pdu) = stream.get(at..at + frag).filter(|_| frag >= 16) else {
            break;
        };
        v.push((le, h[2], &pdu[16..], auth));
        at += frag;
    }
    v
}

/// Stubs of requests (ptype 0) and responses (2) for dcerpc_args: `[flags][stub]`.
fn dce_stubs(stream: &[u8], seeds: &mut Seeds) {
    for (le, ptype, body, auth) in dce_pdus(stream) {
        let start = match ptype {
            0 if body.len() >= 8 => 8,
            2 if body.len() >= 8 => 8,
            _ => continue,
        };
        let end = if auth > 0 {
            body.len().saturating_sub(auth + 8)
        } else {
            body.len()
        };
        if let Some(stub) = body.get(start..end) {
            for ndr64 in [0u8, 2] {
                let mut s = vec![u8::from(!le) | ndr64];
                s.extend_from_slice(stub);
                seeds.add("dcerpc_args", s);
            }
        }
    }
}

/// GSS-API tokens and NTLMSSP messages anywhere in `data`, for spnego and ntlm.
fn tokens(data: &[u8], seeds: &mut Seeds) {
    let mut i = 0;
    while let Some(off) = data[i..].windows(8).position(|w| w == b"NTLMSSP\0") {
        let m = &data[i + off..];
        let m = &m[..m.len().min(4096)];
        let mut s = vec![0];
        s.extend_from_slice(m);
        seeds.add("ntlm", s);
        seeds.add("spnego", m.to_vec());
        i += off + 8;
    }
    for (i, w) in data.windows(2).enumerate() {
        // An application [0] wrapper followed (after its length) by an OID, or a NegTokenResp.
        let len_at = match w {
            [0x60, l] if *l & 0x80 == 0 || (0x81..=0x83).contains(l) => i + 1,
            [0xa1, l] if (0x81..=0x83).contains(l) => i + 1,
            _ => continue,
        };
        let l = data[len_at];
        let (n, hl) = if l & 0x80 == 0 {
            (usize::from(l), 1)
        } else {
            let k = usize::from(l & 0x7f);
            let Some(b) = data.get(len_at + 1..len_at + 1 + k) else {
                continue;
            };
            (
                b.iter().fold(0usize, |a, &x| (a << 8) | usize::from(x)),
                1 + k,
            )
        };
        let body = len_at + hl;
        let oid_next = data.get(body) == Some(&0x06) || data[i] == 0xa1;
        if let Some(tok) = data.get(i..body + n).filter(|_| oid_next && n >= 8) {
            seeds.add("spnego", tok.to_vec());
        }
    }
}

fn read_capture(path: &Path, seeds: &mut Seeds) -> Result<(), String> {
    let raw = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    seeds.add("packet", raw[..raw.len().min(MAX_SEED)].to_vec());
    let mut src = FileSource::open(path).map_err(|e| e.to_string())?;
    let counters = Counters::default();
    let mut dec = Decoder::new(PacketConfig::default());
    let mut convs: HashMap<(Transport, IpAddr, u16, IpAddr, u16), Conv> = HashMap::new();
    let mut plain_wrapped = 0;
    while let Ok(Some(frame)) = src.next_frame() {
        let bytes = frame.data.to_vec();
        if frame.link.0 == 1 {
            if let Some((sel, inner)) = outer_tunnel(&bytes) {
                let mut s = vec![sel];
                s.extend_from_slice(inner);
                seeds.add("tunnel", s);
            } else if plain_wrapped < 8 {
                plain_wrapped += 1;
                wrap_plain(&bytes, seeds);
            }
        }
        let f = dcsensor::capture::Frame {
            data: &bytes,
            ..frame
        };
        let Some((m, payload)) = dec.decode(&f, &counters) else {
            continue;
        };
        if m.transport == Transport::Udp {
            udp_seeds(m.sport, m.dport, payload, seeds);
        }
        let (a, b) = ((m.src, m.sport), (m.dst, m.dport));
        let key = if a <= b {
            (m.transport, a.0, a.1, b.0, b.1)
        } else {
            (m.transport, b.0, b.1, a.0, a.1)
        };
        let conv = convs.entry(key).or_default();
        if conv.to_server_first.is_none() {
            // The client: the side that sent the SYN, else the side not on a server port.
            let syn = m.transport == Transport::Tcp && m.flags & 0x02 != 0;
            let to_server = if syn {
                m.flags & 0x10 == 0
            } else {
                SERVER_PORTS.contains(&m.dport) || !SERVER_PORTS.contains(&m.sport)
            };
            conv.to_server_first = Some(if to_server { a } else { b });
            conv.server_port = if to_server { m.dport } else { m.sport };
        }
        let to_server = conv.to_server_first == Some(a);
        if payload.is_empty() || conv.bytes >= MAX_FLOW {
            continue;
        }
        let mut data = payload;
        if m.transport == Transport::Tcp {
            let d = usize::from(!to_server);
            let seq = m.seq;
            if let Some(next) = conv.next_seq[d] {
                let behind = next.wrapping_sub(seq);
                if behind < 1 << 30 {
                    // A retransmission: keep only the bytes past what came.
                    data = data.get(behind as usize..).unwrap_or(&[]);
                }
            }
            conv.next_seq[d] = Some(seq.wrapping_add(payload.len() as u32));
            if data.is_empty() {
                continue;
            }
        }
        conv.bytes += data.len();
        conv.chunks.push((to_server, data.to_vec()));
    }
    for ((transport, ..), conv) in &convs {
        if *transport == Transport::Tcp {
            tcp_seeds(conv, seeds);
        } else {
            let all: Vec<u8> = conv.chunks.iter().flat_map(|c| c.1.clone()).collect();
            tokens(&all, seeds);
        }
    }
    Ok(())
}

/// Record lines of one capture kept for `detect_json`, per record type (the first of each).
const RECORDS_PER_TYPE: usize = 24;

/// A writer the sensor's JSON-lines output writes into, shared with the caller.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("lock"))?
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Records per batch at most in `detect_batch` seeds (the sensor's batcher closes a batch here).
const BATCH_RECORDS: usize = 16;
/// Bytes per batch at most in `detect_batch` seeds (a record larger than this is a batch alone).
const BATCH_BYTES: usize = 2048;
/// A `detect_batch` seed's bytes at most (the fuzzer's `-max_len` in `.ci/fuzz-smoke` runs).
const BATCH_SEED: usize = 8 * 1024;
/// Batches of one capture kept per record type for `detect_batch` (the first holding it).
const BATCHES_PER_TYPE: usize = 4;
/// Between the batches of one `detect_batch` input (see fuzz/fuzz_targets/detect_batch.rs).
const BATCH_SEP: &[u8] = b"\xc1\xc1";

/// The sensor's two outputs at once: its JSON lines, and its batches as its batcher closes them
/// (small ones, see [`BATCH_BYTES`]), sensor `seeds`, numbered from 1.
struct Both {
    json: JsonLines<Lines>,
    batcher: Batcher,
    batches: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Both {
    fn take_closed(&mut self) -> Result<(), OutputError> {
        let mut b = self.batches.lock().map_err(|_| "lock")?;
        while let Some(c) = self.batcher.pop_ready() {
            b.push(c.bytes);
        }
        Ok(())
    }
}

impl Output for Both {
    fn record(&mut self, rec: &Record) -> Result<(), OutputError> {
        self.json.record(rec)?;
        self.batcher.push(rec, Instant::now())?;
        self.take_closed()
    }
    fn finish(&mut self) -> Result<(), OutputError> {
        self.json.finish()?;
        self.batcher.flush();
        self.take_closed()
    }
}

/// The sensor's records of a capture (the pipeline with its JSON-lines output and its batcher,
/// one worker) as seeds of `detect_json`: the first [`RECORDS_PER_TYPE`] lines of each record
/// type; and of `detect_batch`: see [`batch_seeds`].
fn record_seeds(path: &Path, seeds: &mut Seeds) -> Result<(), String> {
    let mut files = Files::open(&[path.to_path_buf()]).map_err(|e| e.to_string())?;
    let lines = Lines::default();
    let batches = Arc::new(Mutex::new(Vec::new()));
    let limits = Limits {
        max_records: BATCH_RECORDS,
        max_bytes: BATCH_BYTES,
        // closed by count and size only: the seeds do not depend on how fast the replay ran
        max_age: Duration::from_secs(1 << 40),
    };
    let opts = Options {
        workers: 1,
        ..Default::default()
    };
    pipeline::run(
        std::slice::from_mut(&mut files),
        &opts,
        Box::new(Both {
            json: JsonLines::new(lines.clone()),
            batcher: Batcher::new(limits, "seeds", "fuzz", 1),
            batches: Arc::clone(&batches),
        }),
        Default::default(),
        Default::default(),
    )
    .map_err(|e| e.to_string())?;
    batch_seeds(
        &std::mem::take(&mut *batches.lock().map_err(|_| "lock")?),
        seeds,
    );
    let text = std::mem::take(&mut *lines.0.lock().map_err(|_| "lock")?);
    let mut per_type: HashMap<String, usize> = HashMap::new();
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let kind = serde_json::from_slice::<serde_json::Value>(line)
            .ok()
            .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string))
            .unwrap_or_default();
        let n = per_type.entry(kind).or_default();
        if *n < RECORDS_PER_TYPE {
            *n += 1;
            seeds.add("detect_json", line.to_vec());
        }
    }
    Ok(())
}

/// `detect_batch` seeds from a capture's batches (in the order the sensor closed them): each
/// batch holding one of the first [`BATCHES_PER_TYPE`] batches' worth of a record type, alone,
/// and followed by the batches after it (as a spool holds them), at most [`BATCH_SEED`] bytes.
fn batch_seeds(batches: &[Vec<u8>], seeds: &mut Seeds) {
    #[derive(serde::Deserialize)]
    struct Kinds {
        records: Vec<Kind>,
    }
    #[derive(serde::Deserialize)]
    struct Kind {
        #[serde(rename = "type", default)]
        kind: String,
    }
    let mut per_type: HashMap<String, usize> = HashMap::new();
    for (i, b) in batches.iter().enumerate() {
        let Ok(k) = rmp_serde::from_slice::<Kinds>(b) else {
            continue;
        };
        let mut new = false;
        let kinds: HashSet<String> = k.records.into_iter().map(|r| r.kind).collect();
        for kind in kinds {
            let n = per_type.entry(kind).or_default();
            if *n < BATCHES_PER_TYPE {
                *n += 1;
                new = true;
            }
        }
        if !new || b.len() > BATCH_SEED {
            continue;
        }
        seeds.add("detect_batch", b.clone());
        let mut s = b.clone();
        for next in batches[i + 1..].iter().take(2) {
            if s.len() + BATCH_SEP.len() + next.len() > BATCH_SEED {
                break;
            }
            s.extend_from_slice(BATCH_SEP);
            s.extend_from_slice(next);
        }
        if s.len() > b.len() {
            seeds.add("detect_batch", s);
        }
    }
}

fn udp_seeds(sport: u16, dport: u16, p: &[u8], seeds: &mut Seeds) {
    let port = |x: u16| sport == x || dport == x;
    if port(53) || port(5353) || port(5355) {
        seeds.add("dns", p.to_vec());
    }
    if port(88) || port(464) {
        for ctl in [0u8, 1, 2 | (8 * 5)] {
            let mut s = vec![ctl];
            s.extend_from_slice(p);
            seeds.add("kerberos", s);
        }
    }
    if port(389) {
        let mut s = vec![3];
        s.extend_from_slice(p);
        seeds.add("ldap", s);
    }
    if p.len() >= 80 && p[0] == 4 {
        let mut s = vec![2, 0, p.len().min(255) as u8];
        s.extend_from_slice(&p[..p.len().min(255)]);
        seeds.add("dcerpc", s);
    }
}

fn tcp_seeds(conv: &Conv, seeds: &mut Seeds) {
    if conv.chunks.is_empty() {
        return;
    }
    let port = conv.server_port;
    let all: Vec<u8> = conv.chunks.iter().flat_map(|c| c.1.clone()).collect();
    tokens(&all, seeds);
    let (up, down) = (side(conv, true), side(conv, false));
    let dce = conv.chunks[0].1.starts_with(&[5, 0]);
    // The kit's framings: 0 two-byte prefix (DNS), 1 record mark (Kerberos), 2 NetBIOS (SMB),
    // 3 DCE-RPC, 4 BER (LDAP).
    let sel = match port {
        53 => Some(0),
        88 | 464 => Some(1),
        139 | 445 => Some(2),
        389 | 3268 => Some(4),
        _ if dce => Some(3),
        _ => None,
    };
    if let Some(sel) = sel {
        for s in [&up, &down] {
            for cap in [255u8, 24] {
                let mut k = vec![sel, cap];
                for c in s.chunks(255) {
                    k.extend_from_slice(&[1, c.len() as u8]);
                    k.extend_from_slice(c);
                }
                seeds.add("kit", k);
            }
        }
    }
    match port {
        53 => {
            for s in [&up, &down] {
                // Past the two-byte length: the messages as the dns target reads them.
                if let Some(m) = s.get(2..) {
                    seeds.add("dns", m.to_vec());
                }
                let mut t = vec![0, 0, 0, 0];
                t.extend_from_slice(s);
                seeds.add("dns", t);
            }
        }
        88 | 464 => {
            for (_, c) in &conv.chunks {
                if let Some(m) = c.get(4..) {
                    for ctl in [0u8, 1 | 4, 2 | (8 * 31)] {
                        let mut s = vec![ctl];
                        s.extend_from_slice(m);
                        seeds.add("kerberos", s);
                    }
                }
            }
        }
        389 | 3268 => {
            seeds.add("ldap", turns(2, conv));
            seeds.add("ntlm", turns(3, conv));
        }
        139 | 445 => {
            for caps in [0u8, 1] {
                let mut s = vec![caps];
                for (dir, c) in &conv.chunks {
                    steps(&mut s, u8::from(!*dir), c);
                }
                seeds.add("smb", s);
            }
        }
        _ => {}
    }
    let http = [
        b"GET ".as_slice(),
        b"POST ",
        b"HTTP/",
        b"RPC_IN",
        b"OPTIONS ",
    ]
    .iter()
    .any(|m| conv.chunks[0].1.starts_with(m));
    if http || port == 80 || port == 8080 {
        seeds.add("ntlm", turns(2, conv));
    }
    if dce {
        let mut s = vec![0];
        for (dir, c) in &conv.chunks {
            steps(&mut s, u8::from(!*dir), c);
        }
        seeds.add("dcerpc", s);
        dce_stubs(&up, seeds);
        dce_stubs(&down, seeds);
    }
    // An SMB pipe carries DCE-RPC too: the stubs inside SMB2 READ/WRITE/IOCTL are found by
    // their PDU header.
    if port == 445 || port == 139 {
        for s in [&up, &down] {
            let mut i = 0;
            while let Some(off) = s[i..]
                .windows(3)
                .position(|w| w[0] == 5 && w[1] == 0 && w[2] <= 20)
            {
                let at = i + off;
                let pdus = dce_pdus(&s[at..]);
                if let Some(&(le, _, body, _)) = pdus.first() {
                    let n = body.len() + 16;
                    let mut p = vec![1];
                    steps(&mut p, u8::from(le) ^ 1, &s[at..at + n]);
                    seeds.add("dcerpc", p);
                    dce_stubs(&s[at..at + n], seeds);
                }
                i = at + 3;
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!(
            "usage: fuzz_seeds OUT_DIR CAPTURE_OR_FOLDER...  (writes OUT_DIR/<target>/seed-<hash>)"
        );
        std::process::exit(2);
    }
    let out = PathBuf::from(&args[0]);
    let mut files = Vec::new();
    for a in &args[1..] {
        let p = Path::new(a);
        if !p.exists() {
            eprintln!(
                "fuzz_seeds: {a} does not exist; give capture files or folders that hold them"
            );
            std::process::exit(2);
        }
        captures(p, &mut files);
    }
    let mut seeds = Seeds::default();
    let mut unreadable = 0;
    for f in &files {
        if let Err(e) = read_capture(f, &mut seeds) {
            unreadable += 1;
            eprintln!("fuzz_seeds: skipped {}: {e}", f.display());
            continue;
        }
        if let Err(e) = record_seeds(f, &mut seeds) {
            eprintln!("fuzz_seeds: no records of {}: {e}", f.display());
        }
    }
    let mut targets: Vec<_> = seeds.by_target.iter().collect();
    targets.sort_by_key(|t| t.0);
    for (target, list) in targets {
        let dir = out.join(target);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            eprintln!("fuzz_seeds: cannot create {}: {e}", dir.display());
            std::process::exit(1);
        }
        for s in list {
            let p = dir.join(format!("seed-{:016x}", hash(s)));
            if let Err(e) = std::fs::write(&p, s) {
                eprintln!("fuzz_seeds: cannot write {}: {e}", p.display());
                std::process::exit(1);
            }
        }
        println!("{target}: {} seeds", list.len());
    }
    println!(
        "from {} capture files ({unreadable} unreadable)",
        files.len()
    );
}
