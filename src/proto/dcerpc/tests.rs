//! Real bytes: the lab captures in `testdata-pcaps/lab/` (ours), read at test time with the
//! capture reader and packet decoder (the captures have no loss or reordering), and for
//! SMB pipes a minimal SMB2 walker that hands pipe bytes to [`PipeConn`] like the SMB decoder.
use super::*;
use crate::proto::testutil::Harness;
use crate::proto::Shared;
use crate::record::{Body, Dcerpc, Record, Transport};
use std::collections::HashMap;

use crate::proto::testutil::{lab_tcp_segments as segments, Seg};

mod resync;

fn dce(r: &Record) -> &Dcerpc {
    match &r.body {
        Body::Dcerpc(d) => d,
        other => panic!("not dcerpc: {other:?}"),
    }
}

/// Feeds every TCP segment to or from `port` into one connection decoder, splitting each
/// segment into pieces of `chunk` bytes.
fn feed_tcp(h: &mut Harness, conn: &mut Conn, segs: &[Seg], port: u16, chunk: usize) {
    h.flow.server_port = port;
    for s in segs.iter().filter(|s| s.sport == port || s.dport == port) {
        h.flow.client_port = if s.dport == port { s.sport } else { s.dport };
        let dir = if s.dport == port {
            Dir::ToServer
        } else {
            Dir::ToClient
        };
        for piece in s.payload.chunks(chunk) {
            conn.data(&mut h.cx(s.ts), dir, piece);
        }
    }
    let last = segs.last().map(|s| s.ts).unwrap_or(0);
    conn.close(&mut h.cx(last));
}

fn dcsync(chunk: usize) -> Harness {
    let segs = segments("12_attack_dcsync.pcap");
    let mut h = Harness::new(Transport::Tcp, 135);
    let mut epm = Conn::new(None);
    feed_tcp(&mut h, &mut epm, &segs, 135, chunk);
    // The endpoint the mapper handed out now routes to this decoder.
    let mut flow = h.flow;
    flow.server_port = 49153;
    let now = segs[0].ts;
    assert!(crate::proto::tcp_by_port(&flow, &h.shared, now).is_some());
    assert_eq!(
        h.shared
            .endpoint(h.flow.server, 49153, now)
            .map(crate::record::UuidText::uuid)
            .as_deref(),
        Some("e3514235-4b06-11d1-ab04-00c04fc2dcd2")
    );
    let mut drs = Conn::new(None);
    feed_tcp(&mut h, &mut drs, &segs, 49153, chunk);
    // NTLM: bind (NEGOTIATE), bind_ack (CHALLENGE), AUTH3 (AUTHENTICATE), then the first
    // response gave the verdict to the NTLM decoder.
    assert_eq!(drs.client_tokens, 2);
    assert!(drs.verdict_given && !epm.verdict_given);
    // What the NTLM decoder made of the hand-off: one record, carrier dcerpc, with the
    // verdict given by the first response. Only the dcerpc records are kept after this.
    let ntlm: Vec<_> = h
        .out
        .iter()
        .filter_map(|r| match &r.body {
            Body::Ntlm(n) => Some(n.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(ntlm.len(), 1);
    assert_eq!(ntlm[0].carrier, Some(Carrier::Dcerpc));
    assert_eq!(ntlm[0].success, Some(true));
    assert_eq!(ntlm[0].status, Some(Code::Name("STATUS_SUCCESS")));
    h.out.retain(|r| matches!(r.body, Body::Dcerpc(_)));
    h
}

#[test]
fn dcsync_epm_then_drsuapi_on_the_learned_port() {
    let h = dcsync(usize::MAX);
    assert_eq!(h.out.len(), 19);
    let epm = dce(&h.out[0]);
    assert_eq!(epm.interface.as_deref(), Some("epm"));
    assert_eq!(
        epm.interface_uuid.as_deref(),
        Some("e1af8308-5d1f-11c9-91a4-08002b14a0fa")
    );
    assert_eq!(epm.interface_version.as_deref(), Some("3.0"));
    assert_eq!((epm.opnum, epm.operation), (Some(3), Some("ept_map")));
    assert_eq!(epm.endpoint.as_deref(), Some("tcp/49153"));
    assert_eq!(epm.stub_bytes, Some(132));
    assert_eq!(
        (
            epm.auth_type,
            epm.auth_level,
            epm.fault.as_deref(),
            epm.named_pipe.as_deref()
        ),
        (None, None, None, None)
    );
    assert!(epm.rtt.is_some());
    assert_eq!(h.out[0].dport, Some(135));

    let mut ops = Vec::new();
    for r in &h.out[1..] {
        let d = dce(r);
        assert_eq!(r.dport, Some(49153));
        assert_eq!(d.interface.as_deref(), Some("drsuapi"));
        assert_eq!(
            d.interface_uuid.as_deref(),
            Some("e3514235-4b06-11d1-ab04-00c04fc2dcd2")
        );
        assert_eq!(d.interface_version.as_deref(), Some("4.0"));
        assert_eq!(d.auth_type, Some(Code::Name("ntlmssp")));
        assert_eq!(d.auth_level, Some(Code::Name("privacy")));
        assert_eq!((d.fault.as_deref(), d.endpoint.as_deref()), (None, None));
        ops.push((
            d.opnum.unwrap(),
            d.operation.unwrap(),
            d.stub_bytes.unwrap(),
        ));
    }
    assert_eq!(ops[0], (0, "DRSBind", 84));
    assert_eq!(ops[1], (16, "DRSDomainControllerInfo", 56));
    assert_eq!(ops[2..].len(), 16);
    assert!(ops[2..].iter().all(|o| *o == (3, "DRSGetNCChanges", 329)));
    assert_eq!(h.counters.get(Counter::MalformedDcerpc), 0);
    // Calls are emitted in request order with the request's time.
    assert!(h.out.windows(2).all(|w| w[0].ts <= w[1].ts));
}

#[test]
fn arbitrary_splits_give_the_same_records() {
    let whole = dcsync(usize::MAX).out;
    for chunk in [1, 7, 16, 17, 1000] {
        assert_eq!(dcsync(chunk).out, whole, "chunk {chunk}");
    }
}

#[test]
fn midstream_pickup_on_a_learned_port_names_the_interface() {
    let h0 = dcsync(usize::MAX);
    let segs = segments("12_attack_dcsync.pcap");
    // The DRSUAPI connection without its bind, bind_ack and AUTH3.
    let later: Vec<Seg> = segs
        .into_iter()
        .filter(|s| s.sport == 49153 || s.dport == 49153)
        .skip(3)
        .collect();
    let mut h = Harness::new(Transport::Tcp, 49153);
    h.shared = Shared::default();
    let uuid = "e3514235-4b06-11d1-ab04-00c04fc2dcd2";
    h.shared.learn_endpoint(
        h.flow.server,
        49153,
        parse_uuid_str(uuid).unwrap(),
        later[0].ts,
    );
    let mut c = Conn::new(None);
    feed_tcp(&mut h, &mut c, &later, 49153, usize::MAX);
    assert_eq!(h.out.len(), 18);
    for (r, full) in h.out.iter().zip(&h0.out[1..]) {
        let (d, f) = (dce(r), dce(full));
        assert_eq!(d.interface.as_deref(), Some("drsuapi"));
        assert_eq!(d.interface_uuid.as_deref(), Some(uuid));
        assert_eq!(d.interface_version, None);
        assert_eq!(
            (d.opnum, d.operation, d.stub_bytes),
            (f.opnum, f.operation, f.stub_bytes)
        );
        assert_eq!(
            (d.auth_type, d.auth_level),
            (Some(Code::Name("ntlmssp")), Some(Code::Name("privacy")))
        );
    }
}

/// Splits one whole request PDU into `n` fragments (stub split in equal parts, auth-less).
fn fragment_request(pdu: &[u8], n: usize) -> Vec<Vec<u8>> {
    let h = parse::co_header(pdu).unwrap();
    assert_eq!(h.auth_len, 0);
    let stub = &pdu[24..usize::from(h.frag_len)];
    let per = stub.len().div_ceil(n);
    let parts: Vec<&[u8]> = stub.chunks(per).collect();
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let mut f = pdu[..24].to_vec();
            f[3] = if i == 0 { pfc::FIRST_FRAG } else { 0 }
                | if i + 1 == parts.len() {
                    pfc::LAST_FRAG
                } else {
                    0
                };
            f.extend_from_slice(part);
            let len = f.len() as u16;
            f[8..10].copy_from_slice(&len.to_le_bytes());
            f
        })
        .collect()
}

#[test]
fn fragmented_request_is_reassembled_and_capped() {
    let segs = segments("12_attack_dcsync.pcap");
    let epm: Vec<&Seg> = segs
        .iter()
        .filter(|s| s.dport == 135 || s.sport == 135)
        .collect();
    let (bind, ack, req, resp) = (&epm[0], &epm[1], &epm[2], &epm[3]);
    for (cap, want, dropped) in [(1 << 20, Some(132), 0), (100, None, 132)] {
        let mut h = Harness::new(Transport::Tcp, 135);
        h.config.dcerpc_max_stub = cap;
        let mut c = Conn::new(None);
        c.data(&mut h.cx(bind.ts), Dir::ToServer, &bind.payload);
        c.data(&mut h.cx(ack.ts), Dir::ToClient, &ack.payload);
        for f in fragment_request(&req.payload, 3) {
            c.data(&mut h.cx(req.ts), Dir::ToServer, &f);
        }
        c.data(&mut h.cx(resp.ts), Dir::ToClient, &resp.payload);
        assert_eq!(h.out.len(), 1);
        let d = dce(&h.out[0]);
        assert_eq!(
            (d.opnum, d.operation, d.stub_bytes),
            (Some(3), Some("ept_map"), want)
        );
        // The answer is still read even when the request was over the cap.
        assert_eq!(d.endpoint.as_deref(), Some("tcp/49153"));
        assert_eq!(h.counters.get(Counter::DropDecoderCap), dropped);
    }
}

/// Rewrites a little-endian PDU's header and fixed request/bind fields as big-endian.
fn to_big_endian(pdu: &[u8]) -> Vec<u8> {
    let mut b = pdu.to_vec();
    let h = parse::co_header(pdu).unwrap();
    b[4] = 0x00;
    let sw16 = |b: &mut Vec<u8>, at: usize| b.swap(at, at + 1);
    let sw32 = |b: &mut Vec<u8>, at: usize| {
        b.swap(at, at + 3);
        b.swap(at + 1, at + 2);
    };
    sw16(&mut b, 8);
    sw16(&mut b, 10);
    sw32(&mut b, 12);
    match h.ptype {
        ptype::REQUEST => {
            sw32(&mut b, 16);
            sw16(&mut b, 20);
            sw16(&mut b, 22);
        }
        ptype::BIND => {
            sw16(&mut b, 16);
            sw16(&mut b, 18);
            sw32(&mut b, 20);
            sw16(&mut b, 28);
            sw32(&mut b, 32);
            sw16(&mut b, 36);
            sw16(&mut b, 38);
            sw16(&mut b, 48);
            sw16(&mut b, 50);
        }
        ptype::RESPONSE => {
            sw32(&mut b, 16);
            sw16(&mut b, 20);
        }
        _ => {}
    }
    b
}

#[test]
fn big_endian_association_is_named_like_little_endian() {
    let segs = segments("12_attack_dcsync.pcap");
    let epm: Vec<&Seg> = segs
        .iter()
        .filter(|s| s.dport == 135 || s.sport == 135)
        .collect();
    let mut h = Harness::new(Transport::Tcp, 135);
    let mut c = Conn::new(None);
    c.data(
        &mut h.cx(epm[0].ts),
        Dir::ToServer,
        &to_big_endian(&epm[0].payload),
    );
    c.data(
        &mut h.cx(epm[2].ts),
        Dir::ToServer,
        &to_big_endian(&epm[2].payload),
    );
    c.data(
        &mut h.cx(epm[3].ts),
        Dir::ToClient,
        &to_big_endian(&epm[3].payload),
    );
    assert_eq!(h.out.len(), 1);
    let d = dce(&h.out[0]);
    assert_eq!(d.interface.as_deref(), Some("epm"));
    assert_eq!(d.interface_version.as_deref(), Some("3.0"));
    assert_eq!(
        (d.opnum, d.operation, d.stub_bytes),
        (Some(3), Some("ept_map"), Some(132))
    );
    assert_eq!(h.counters.get(Counter::MalformedDcerpc), 0);
}

#[test]
fn hostile_frag_lengths_are_counted_and_skipped() {
    let segs = segments("12_attack_dcsync.pcap");
    let epm: Vec<&Seg> = segs
        .iter()
        .filter(|s| s.dport == 135 || s.sport == 135)
        .collect();
    let mut h = Harness::new(Transport::Tcp, 135);
    let mut c = Conn::new(None);
    c.data(&mut h.cx(1), Dir::ToServer, &epm[0].payload);
    // frag_length 4 (below the header), then one claiming an auth verifier it cannot hold.
    let mut bad = epm[2].payload.clone();
    bad[8..10].copy_from_slice(&4u16.to_le_bytes());
    c.data(&mut h.cx(2), Dir::ToServer, &bad);
    // A valid request after the garbage is found again.
    c.data(&mut h.cx(4), Dir::ToServer, &epm[2].payload);
    c.data(&mut h.cx(5), Dir::ToClient, &epm[3].payload);
    let mut bad2 = epm[2].payload.clone();
    bad2[10..12].copy_from_slice(&0xfff0u16.to_le_bytes());
    c.data(&mut h.cx(5), Dir::ToServer, &bad2);
    // A frag_length larger than what follows, then a gap: nothing waits forever.
    let mut long = epm[2].payload.clone();
    long[8..10].copy_from_slice(&60000u16.to_le_bytes());
    long[12] = 9;
    c.data(&mut h.cx(6), Dir::ToServer, &long);
    assert!(c.buffered() > 0 && c.buffered() <= 60000);
    c.gap(&mut h.cx(7), Dir::ToServer, 59000);
    assert_eq!(c.buffered(), 0);
    c.close(&mut h.cx(8));
    assert_eq!(h.out.len(), 1);
    assert_eq!(dce(&h.out[0]).endpoint.as_deref(), Some("tcp/49153"));
    assert_eq!(dce(&h.out[0]).opnum, Some(3));
    assert_eq!(h.counters.get(Counter::MalformedDcerpc), 2);
}

#[test]
fn unanswered_call_is_emitted_at_timeout_and_bind_alone_at_close() {
    let segs = segments("12_attack_dcsync.pcap");
    let epm: Vec<&Seg> = segs
        .iter()
        .filter(|s| s.dport == 135 || s.sport == 135)
        .collect();
    let mut h = Harness::new(Transport::Tcp, 135);
    let mut c = Conn::new(None);
    c.data(&mut h.cx(10), Dir::ToServer, &epm[0].payload);
    c.data(&mut h.cx(11), Dir::ToClient, &epm[1].payload);
    c.data(&mut h.cx(12), Dir::ToServer, &epm[2].payload);
    c.tick(&mut h.cx(12 + 5 * crate::record::NS));
    assert!(h.out.is_empty());
    c.tick(&mut h.cx(12 + 31 * crate::record::NS));
    assert_eq!(h.out.len(), 1);
    let d = dce(&h.out[0]);
    assert_eq!(
        (h.out[0].ts, d.opnum, d.rtt, d.stub_bytes),
        (12, Some(3), None, Some(132))
    );
    // A second bind with no call after it is its own record at close.
    let mut c = Conn::new(None);
    c.data(&mut h.cx(20), Dir::ToServer, &epm[0].payload);
    c.data(&mut h.cx(25), Dir::ToClient, &epm[1].payload);
    c.close(&mut h.cx(30));
    assert_eq!(h.out.len(), 2);
    let d = dce(&h.out[1]);
    assert_eq!(h.out[1].ts, 20);
    assert_eq!(
        (d.interface.as_deref(), d.opnum, d.operation, d.rtt),
        (Some("epm"), None, None, Some(5))
    );
}

/// One SMB2 conversation: pipe bytes out of WRITE/READ/IOCTL, one [`PipeConn`] per file id.
#[derive(Default)]
struct Smb2 {
    bufs: [Vec<u8>; 2],
    names: HashMap<u64, String>,
    msg_fid: HashMap<u64, [u8; 16]>,
    pipes: HashMap<[u8; 16], PipeConn>,
    order: Vec<[u8; 16]>,
}

impl Smb2 {
    fn feed(&mut self, h: &mut Harness, ts: Ts, dir: Dir, data: &[u8]) {
        let buf = &mut self.bufs[dir.idx()];
        buf.extend_from_slice(data);
        let mut msgs = Vec::new();
        while buf.len() >= 4 {
            let len = usize::from(buf[1]) << 16 | usize::from(buf[2]) << 8 | usize::from(buf[3]);
            if buf.len() < 4 + len {
                break;
            }
            msgs.push(buf[4..4 + len].to_vec());
            buf.drain(..4 + len);
        }
        for m in msgs {
            let mut at = 0;
            while let Some(s) = m.get(at..) {
                self.message(h, ts, dir, s);
                let next = u32::from_le_bytes(s[20..24].try_into().unwrap()) as usize;
                if next == 0 {
                    break;
                }
                at += next;
            }
        }
    }

    fn message(&mut self, h: &mut Harness, ts: Ts, dir: Dir, s: &[u8]) {
        let u16at = |at: usize| usize::from(u16::from_le_bytes([s[at], s[at + 1]]));
        let u32at = |at: usize| u32::from_le_bytes(s[at..at + 4].try_into().unwrap()) as usize;
        let fid = |at: usize| -> [u8; 16] { s[at..at + 16].try_into().unwrap() };
        let cmd = u16at(12);
        let status = u32at(8);
        let msg = u64::from_le_bytes(s[24..32].try_into().unwrap());
        let b = 64;
        let mut pipe = |me: &mut Self, f: [u8; 16], data: &[u8]| {
            if let Some(p) = me.pipes.get_mut(&f) {
                p.data(&mut h.cx(ts), dir, data);
            }
        };
        match (cmd, dir) {
            (5, Dir::ToServer) => {
                let (off, len) = (u16at(b + 44), u16at(b + 46));
                let name: Vec<u16> = s[off..off + len]
                    .chunks(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect();
                self.names.insert(msg, String::from_utf16(&name).unwrap());
            }
            (5, Dir::ToClient) if status == 0 => {
                // Only pipes (the IPC$ opens of this capture have no dot; files uploaded do).
                if let Some(n) = self.names.remove(&msg).filter(|n| !n.contains('.')) {
                    self.pipes.insert(fid(b + 64), PipeConn::new(n));
                    self.order.push(fid(b + 64));
                }
            }
            (6, Dir::ToServer) => {
                if let Some(p) = self.pipes.get_mut(&fid(b + 8)) {
                    p.close(&mut h.cx(ts));
                }
            }
            (9, Dir::ToServer) => {
                let (off, len) = (u16at(b + 2), u32at(b + 4));
                pipe(self, fid(b + 16), &s[off..off + len]);
            }
            (8 | 11, Dir::ToServer) => {
                let f = if cmd == 8 { fid(b + 16) } else { fid(b + 8) };
                self.msg_fid.insert(msg, f);
                if cmd == 11 {
                    let (off, len) = (u32at(b + 24), u32at(b + 28));
                    pipe(self, f, &s[off..off + len]);
                }
            }
            (8 | 11, Dir::ToClient) if status == 0 || status == 0x8000_0005 => {
                let Some(f) = self.msg_fid.remove(&msg) else {
                    return;
                };
                let (off, len) = if cmd == 8 {
                    (usize::from(s[b + 2]), u32at(b + 4))
                } else {
                    (u32at(b + 32), u32at(b + 36))
                };
                pipe(self, f, &s[off..off + len]);
            }
            _ => {}
        }
    }
}

/// Replays the SMB2 streams of a lab capture through [`PipeConn`]s.
fn smb_pipes(name: &str) -> Harness {
    let segs = segments(name);
    let mut h = Harness::new(Transport::Tcp, 445);
    let mut convs: HashMap<u16, Smb2> = HashMap::new();
    let mut last = 0;
    for s in segs.iter().filter(|s| s.sport == 445 || s.dport == 445) {
        let client = if s.dport == 445 { s.sport } else { s.dport };
        h.flow.client_port = client;
        let dir = if s.dport == 445 {
            Dir::ToServer
        } else {
            Dir::ToClient
        };
        convs
            .entry(client)
            .or_default()
            .feed(&mut h, s.ts, dir, &s.payload);
        last = s.ts;
    }
    for (port, mut c) in convs {
        h.flow.client_port = port;
        for f in c.order.clone() {
            if let Some(p) = c.pipes.get_mut(&f) {
                p.close(&mut h.cx(last));
            }
        }
    }
    h
}

/// (interface, operation, stub bytes, fault) of each record.
type Summary = (String, Option<&'static str>, Option<u64>, Option<String>);

fn summary(h: &Harness) -> Vec<Summary> {
    h.out
        .iter()
        .map(dce)
        .map(|d| {
            (
                d.interface.unwrap().to_string(),
                d.operation,
                d.stub_bytes,
                d.fault.as_deref().map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn samr_and_lsarpc_recon_over_smb_pipes() {
    let h = smb_pipes("20_attack_recon_samr_lsarpc_smb_cleartext.pcap");
    // tshark shows 13 lsarpc request PDUs: 4 calls, two of them in several fragments.
    assert_eq!(h.out.len(), 38 + 4 + 9);
    assert_eq!(h.counters.get(Counter::MalformedDcerpc), 0);
    let samr: Vec<&Dcerpc> = h
        .out
        .iter()
        .map(dce)
        .filter(|d| d.interface.as_deref() == Some("samr"))
        .collect();
    assert_eq!(samr.len(), 47);
    let first: Vec<_> = samr.iter().take(8).map(|d| d.operation.unwrap()).collect();
    assert_eq!(
        first,
        [
            "SamrConnect",
            "SamrEnumerateDomainsInSamServer",
            "SamrLookupDomainInSamServer",
            "SamrOpenDomain",
            "SamrEnumerateUsersInDomain",
            "SamrOpenUser",
            "SamrQueryInformationUser2",
            "SamrCloseHandle",
        ]
    );
    assert!(samr
        .iter()
        .all(|d| d.named_pipe.as_deref() == Some("\\pipe\\samr")
            && d.interface_version.as_deref() == Some("1.0")
            && d.auth_type.is_none()
            && d.auth_level.is_none()
            && d.fault.is_none()
            && d.rtt.is_some()));
    assert_eq!(
        samr.iter()
            .filter(|d| d.operation == Some("SamrGetMembersInGroup"))
            .count(),
        1
    );
    let lsa: Vec<&Dcerpc> = h
        .out
        .iter()
        .map(dce)
        .filter(|d| d.interface.as_deref() == Some("lsarpc"))
        .collect();
    let ops: Vec<_> = lsa.iter().map(|d| d.operation.unwrap()).collect();
    assert_eq!(
        ops[..3],
        [
            "LsarOpenPolicy2",
            "LsarQueryInformationPolicy2",
            "LsarLookupSids"
        ]
    );
    assert_eq!(ops.iter().filter(|o| **o == "LsarLookupSids").count(), 2);
    // The fragmented LsarLookupSids calls: stub bytes of all fragments together.
    let big: Vec<u64> = lsa
        .iter()
        .filter(|d| d.operation == Some("LsarLookupSids"))
        .map(|d| d.stub_bytes.unwrap())
        .collect();
    assert_eq!(big, [8 * 4152 + 2832, 4152 + 3096]);
    assert!(lsa
        .iter()
        .all(|d| d.named_pipe.as_deref() == Some("\\pipe\\lsarpc")));
}

#[test]
fn pass_the_hash_svcctl_fault_and_dcom_bind_alone() {
    let h = smb_pipes("21_attack_pass_the_hash_smb_cleartext.pcap");
    let s = summary(&h);
    let scm: Vec<_> = s.iter().filter(|r| r.0 == "svcctl").collect();
    assert_eq!(scm.len(), 7);
    let fault = scm.iter().find(|r| r.3.is_some()).unwrap();
    assert_eq!(fault.1, Some("RCreateServiceW"));
    assert_eq!(fault.3.as_deref(), Some("nca_s_op_rng_error"));
    assert_eq!(
        scm.iter()
            .filter(|r| r.1 == Some("ROpenSCManagerW"))
            .count(),
        2
    );
    assert_eq!(
        s.iter()
            .filter(|r| r.0 == "srvsvc" && r.1 == Some("NetrShareEnum"))
            .count(),
        2
    );
    assert_eq!(h.out.len(), 9);

    // The DCOM activation bind on 135: NTLM, rejected, no call: a record with no operation.
    let segs = segments("21_attack_pass_the_hash_smb_cleartext.pcap");
    let mut h = Harness::new(Transport::Tcp, 135);
    let mut c = Conn::new(None);
    feed_tcp(&mut h, &mut c, &segs, 135, usize::MAX);
    assert_eq!(h.out.len(), 1);
    let d = dce(&h.out[0]);
    assert_eq!(d.interface.as_deref(), Some("IRemoteSCMActivator"));
    assert_eq!(
        d.interface_uuid.as_deref(),
        Some("000001a0-0000-0000-c000-000000000046")
    );
    assert_eq!(d.interface_version.as_deref(), Some("0.0"));
    assert_eq!((d.opnum, d.operation), (None, None));
    assert_eq!(d.auth_type, Some(Code::Name("ntlmssp")));
    assert_eq!(d.auth_level, Some(Code::Name("privacy")));
    assert!(d.rtt.is_some());
}

#[test]
fn benign_queries_over_several_pipes_of_one_session() {
    let h = smb_pipes("04_benign_rpc_queries.pcap");
    let s = summary(&h);
    assert_eq!(s.len(), 1 + 7 + 5 + 5 + 3 + 3 + 1);
    assert_eq!(
        s.iter()
            .filter(|r| r.1 == Some("NetrServerGetInfo"))
            .count(),
        1
    );
    assert_eq!(s.iter().filter(|r| r.1 == Some("NetrShareEnum")).count(), 1);
    assert_eq!(s.iter().filter(|r| r.1 == Some("SamrConnect5")).count(), 3);
    assert_eq!(
        s.iter().filter(|r| r.1 == Some("LsarOpenPolicy")).count(),
        2
    );
    assert_eq!(s.iter().filter(|r| r.0 == "lsarpc").count(), 6);
    assert_eq!(h.counters.get(Counter::MalformedDcerpc), 0);
}

#[test]
fn probe_accepts_connection_openings_and_midstream_pdus() {
    let segs = segments("12_attack_dcsync.pcap");
    let bind = &segs.iter().find(|s| s.dport == 135).unwrap().payload;
    assert!(probe(Dir::ToServer, bind));
    assert!(!probe(Dir::ToClient, bind));
    assert!(!probe(Dir::ToServer, &bind[..10]));
    // Midstream: a request or response opens a connection too; other types do not.
    let req = &segs
        .iter()
        .filter(|s| s.dport == 135)
        .nth(1)
        .unwrap()
        .payload;
    assert!(probe(Dir::ToServer, req));
    let mut other = bind.clone();
    other[2] = ptype::SHUTDOWN;
    assert!(!probe(Dir::ToServer, &other));
    let mut other = bind.clone();
    other[6] = 1; // drep[2] must be zero
    assert!(!probe(Dir::ToServer, &other));
    assert!(!probe(Dir::ToServer, b"GET / HTTP/1.1\r\n\r\n"));
}

#[test]
fn names_of_auth_faults_and_pipes() {
    assert_eq!(auth_type(10), Code::Name("ntlmssp"));
    assert_eq!(auth_type(14), Code::Num(14));
    assert_eq!(auth_level(6), Code::Name("privacy"));
    assert_eq!(fault_string(0x1c01_0002), "nca_s_op_rng_error");
    assert_eq!(fault_string(5), "nca_s_fault_access_denied");
    assert_eq!(fault_string(0xdead_beef), "0xdeadbeef");
    assert_eq!(pipe_name("samr").as_deref(), Some("\\pipe\\samr"));
    assert_eq!(
        pipe_name("\\PIPE\\lsarpc").as_deref(),
        Some("\\PIPE\\lsarpc")
    );
    assert_eq!(pipe_name("\\srvsvc").as_deref(), Some("\\pipe\\srvsvc"));
    // one leading backslash, whatever the opened name had
    assert_eq!(pipe_name("pipe\\samr").as_deref(), Some("\\pipe\\samr"));
    assert_eq!(pipe_name("\\\\pipe\\samr").as_deref(), Some("\\pipe\\samr"));
    // An unknown name is left out, never written as a bare `\pipe\`.
    for unknown in ["", "\\", "\\PIPE\\", "pipe\\", "\\pipe\\\\"] {
        assert_eq!(pipe_name(unknown), None, "{unknown:?}");
    }
}

/// A little-endian connection-oriented PDU of type `ptype` with `body`.
fn co_pdu(ptype: u8, call_id: u32, body: &[u8]) -> Vec<u8> {
    let mut v = vec![5, 0, ptype, 3, 0x10, 0, 0, 0];
    v.extend_from_slice(&((16 + body.len()) as u16).to_le_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&call_id.to_le_bytes());
    v.extend_from_slice(body);
    v
}

/// A UUID as NDR lays it out little-endian.
fn uuid_le(u: parse::Uuid) -> Vec<u8> {
    let mut v = ((u >> 96) as u32).to_le_bytes().to_vec();
    v.extend_from_slice(&((u >> 80) as u16).to_le_bytes());
    v.extend_from_slice(&((u >> 64) as u16).to_le_bytes());
    v.extend_from_slice(&(u as u64).to_be_bytes());
    v
}

/// A BIND offering `ifaces` as contexts 0, 1, ... (version 1.0, one transfer syntax each).
fn bind_of(ifaces: &[parse::Uuid]) -> Vec<u8> {
    let mut b = vec![
        0xb8,
        0x10,
        0xb8,
        0x10,
        0,
        0,
        0,
        0,
        ifaces.len() as u8,
        0,
        0,
        0,
    ];
    for (i, u) in ifaces.iter().enumerate() {
        b.extend_from_slice(&(i as u16).to_le_bytes());
        b.extend_from_slice(&[1, 0]);
        b.extend_from_slice(&uuid_le(*u));
        b.extend_from_slice(&[1, 0, 0, 0]);
        b.extend_from_slice(&[0x11; 20]);
    }
    co_pdu(parse::ptype::BIND, 7, &b)
}

/// A BIND_ACK answering `results` (0 accepted, 2 refused) in order, the last transfer syntax
/// NDR64 when `ndr64`.
fn bind_ack_of(results: &[u16], ndr64: bool) -> Vec<u8> {
    let mut b = vec![0xb8, 0x10, 0xb8, 0x10, 0, 0, 0, 0, 4, 0];
    b.extend_from_slice(b"135\0");
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(&[results.len() as u8, 0, 0, 0]);
    for (i, r) in results.iter().enumerate() {
        b.extend_from_slice(&r.to_le_bytes());
        b.extend_from_slice(&[0, 0]);
        let t = if ndr64 && i + 1 == results.len() {
            parse::NDR64
        } else {
            0x8a885d04_1ceb_11c9_9fe8_08002b104860
        };
        b.extend_from_slice(&uuid_le(t));
        b.extend_from_slice(&2u32.to_le_bytes());
    }
    co_pdu(parse::ptype::BIND_ACK, 7, &b)
}

#[test]
fn binds_of_many_contexts_name_the_accepted_one() {
    // Binds of 1 to 12 contexts (held inline up to a few, on the heap past them): the bind
    // alone at close names the context the server accepted, the last one offered, whatever
    // the count; parsed, the ack gives one result per context, in order.
    let ifaces = [
        0x12345778_1234_abcd_ef00_0123456789ac, // samr
        0x12345778_1234_abcd_ef00_0123456789ab, // lsarpc
        0x4b324fc8_1670_01d3_1278_5a47bf6ee188, // srvsvc
        0x367abb81_9844_35f1_ad32_98f038001003, // svcctl
        0x338cd001_2244_31f1_aaaa_900038001003, // winreg
        0x12345678_1234_abcd_ef00_01234567cffb, // netlogon
        0x6bffd098_a112_3610_9833_46c3f87e345a, // wkssvc
        0x86d35949_83c9_4044_b424_db363231fd0c, // tsch
        0x12345678_1234_abcd_ef00_0123456789ab, // spoolss
        0xe1af8308_5d1f_11c9_91a4_08002b14a0fa, // epm
        0xe3514235_4b06_11d1_ab04_00c04fc2dcd2, // drsuapi
        0x3dde7c30_165d_11d1_ab8f_00805f14db40, // backupkey
    ];
    for n in 1..=ifaces.len() {
        let bind = bind_of(&ifaces[..n]);
        let h = parse::co_header(&bind).unwrap();
        let (body, _) = parse::co_split(&h, &bind).unwrap();
        let (_, elems) = parse::bind(&h, body).unwrap();
        assert_eq!(elems.len(), n);
        assert_eq!(elems.spilled(), n > 4);
        for (i, e) in elems.iter().enumerate() {
            assert_eq!(
                (e.ctx_id, e.uuid, e.major, e.minor),
                (i as u16, ifaces[i], 1, 0)
            );
        }
        let mut results = vec![2u16; n];
        results[n - 1] = 0;
        let ack = bind_ack_of(&results, true);
        let h = parse::co_header(&ack).unwrap();
        let (body, _) = parse::co_split(&h, &ack).unwrap();
        let (_, res) = parse::bind_ack(&h, body).unwrap();
        assert_eq!(res.iter().map(|r| r.result).collect::<Vec<_>>(), results);
        assert_eq!(res[n - 1].transfer, parse::NDR64);

        let mut h = Harness::new(Transport::Tcp, 135);
        let mut c = Conn::new(None);
        c.data(&mut h.cx(10), Dir::ToServer, &bind);
        c.data(&mut h.cx(14), Dir::ToClient, &ack);
        assert!(c
            .contexts
            .iter()
            .all(|x| x.accepted == Some(x.id as usize == n - 1)));
        assert!(c
            .contexts
            .iter()
            .all(|x| x.ndr64 == (x.id as usize == n - 1)));
        c.close(&mut h.cx(20));
        assert_eq!(h.out.len(), 1, "{n}");
        let d = dce(&h.out[0]);
        assert_eq!(
            d.interface_uuid.map(|u| u.as_str().to_owned()),
            Some(parse::uuid_string(ifaces[n - 1])),
            "{n}"
        );
        assert_eq!((d.rtt, d.fault.as_deref()), (Some(4), None));
        // Every context refused: the bind was rejected, named after the first offered.
        let mut h = Harness::new(Transport::Tcp, 135);
        let mut c = Conn::new(None);
        c.data(&mut h.cx(10), Dir::ToServer, &bind);
        c.data(
            &mut h.cx(14),
            Dir::ToClient,
            &bind_ack_of(&vec![2; n], false),
        );
        c.close(&mut h.cx(20));
        let d = dce(&h.out[0]);
        assert_eq!(
            d.interface_uuid.map(|u| u.as_str().to_owned()),
            Some(parse::uuid_string(ifaces[0])),
            "{n}"
        );
        assert!(d.fault.is_some());
    }
}
