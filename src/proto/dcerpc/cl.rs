//! Connectionless DCE-RPC (v4) over UDP: every datagram carries the interface, activity,
//! sequence number and opnum in its 80-byte header. A REQUEST is matched with its RESPONSE,
//! FAULT or REJECT by activity and sequence number; one `dcerpc` record per call.

use super::parse::{self, cl_flags, ptype, Uuid};
use super::{auth_type, fault_string, interfaces};
use crate::proto::{Ctx, Dir, UdpApp};
use crate::record::{Body, Dcerpc, InterfaceName, Ts, UuidText, VersionText};
use crate::stats::Counter;

/// One call in flight.
#[derive(Debug)]
struct ClCall {
    activity: Uuid,
    seq: u32,
    ts: Ts,
    interface: Uuid,
    major: u16,
    minor: u16,
    opnum: u16,
    stub: u64,
    over_cap: bool,
    /// Highest request fragment number counted (retransmissions are not counted twice).
    next_frag: u16,
    auth_proto: u8,
    resp_ts: Option<Ts>,
}

/// The connectionless decoder of one UDP conversation.
#[derive(Debug, Default)]
pub struct ClConn {
    calls: Vec<ClCall>,
}

impl ClConn {
    fn emit(cx: &mut Ctx<'_>, c: ClCall, fault: Option<u32>) {
        let known = interfaces::lookup(c.interface);
        let rec = Dcerpc {
            interface: Some(match known {
                Some(i) => InterfaceName::Known(i.name),
                None => InterfaceName::Uuid(UuidText::uuid(c.interface)),
            }),
            interface_uuid: Some(UuidText::uuid(c.interface)),
            interface_version: Some(VersionText::version(c.major, c.minor)),
            opnum: Some(c.opnum),
            operation: known.and_then(|i| i.operation(c.opnum)),
            auth_type: (c.auth_proto != 0).then(|| auth_type(c.auth_proto)),
            fault: fault.map(fault_string),
            stub_bytes: (!c.over_cap).then_some(c.stub),
            rtt: c.resp_ts.map(|t| t.saturating_sub(c.ts)),
            ..Default::default()
        };
        cx.emit(c.ts, Body::Dcerpc(rec));
    }

    fn find(&self, h: &parse::ClHeader) -> Option<usize> {
        self.calls
            .iter()
            .position(|c| c.activity == h.activity && c.seq == h.seqnum)
    }
}

impl UdpApp for ClConn {
    fn datagram(&mut self, cx: &mut Ctx<'_>, _dir: Dir, data: &[u8]) {
        let Some((h, body)) = parse::cl_header(data) else {
            cx.count(Counter::MalformedDcerpc);
            return;
        };
        let len = body.len() as u64;
        match h.ptype {
            ptype::REQUEST => {
                let i = match self.find(&h) {
                    Some(i) => i,
                    None => {
                        if self.calls.len() >= cx.config.dcerpc_max_calls.max(1) {
                            cx.count(Counter::DropDecoderCap);
                            let old = self.calls.remove(0);
                            Self::emit(cx, old, None);
                        }
                        self.calls.push(ClCall {
                            activity: h.activity,
                            seq: h.seqnum,
                            ts: cx.now,
                            interface: h.interface,
                            major: h.if_major,
                            minor: h.if_minor,
                            opnum: h.opnum,
                            stub: 0,
                            over_cap: false,
                            next_frag: 0,
                            auth_proto: h.auth_proto,
                            resp_ts: None,
                        });
                        self.calls.len() - 1
                    }
                };
                let c = &mut self.calls[i];
                let frag = if h.flags1 & cl_flags::FRAG != 0 {
                    h.fragnum
                } else {
                    0
                };
                if frag < c.next_frag {
                    return; // a retransmission
                }
                c.next_frag = frag.saturating_add(1);
                if c.over_cap {
                    cx.count_n(Counter::DropDecoderCap, len);
                } else if c.stub + len > cx.config.dcerpc_max_stub as u64 {
                    cx.count_n(Counter::DropDecoderCap, c.stub + len);
                    c.over_cap = true;
                } else {
                    c.stub += len;
                }
            }
            ptype::RESPONSE => {
                let Some(i) = self.find(&h) else { return };
                self.calls[i].resp_ts.get_or_insert(cx.now);
                if h.flags1 & cl_flags::FRAG == 0 || h.flags1 & cl_flags::LASTFRAG != 0 {
                    let c = self.calls.remove(i);
                    Self::emit(cx, c, None);
                }
            }
            ptype::FAULT | ptype::REJECT => {
                let Some(i) = self.find(&h) else { return };
                let mut c = self.calls.remove(i);
                c.resp_ts.get_or_insert(cx.now);
                Self::emit(cx, c, Some(parse::cl_status(&h, body).unwrap_or(0)));
            }
            // ping, working, nocall, ack, cancel, fack, cancel_ack: flow control only.
            _ => {}
        }
    }

    fn waiting(&self) -> bool {
        !self.calls.is_empty()
    }

    fn tick(&mut self, cx: &mut Ctx<'_>) {
        let timeout = cx.config.request_timeout;
        let now = cx.now;
        let mut i = 0;
        while i < self.calls.len() {
            if now.saturating_sub(self.calls[i].ts) >= timeout {
                let c = self.calls.remove(i);
                Self::emit(cx, c, None);
            } else {
                i += 1;
            }
        }
    }

    fn close(&mut self, cx: &mut Ctx<'_>) {
        for c in std::mem::take(&mut self.calls) {
            Self::emit(cx, c, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::testutil::Harness;
    use crate::record::{Record, Transport};

    /// UDP payloads of a little-endian Ethernet/IPv4 pcap, with their time.
    fn udp_payloads(path: &std::path::Path) -> Option<Vec<(Ts, Vec<u8>)>> {
        let f = std::fs::read(path).ok()?;
        let rd32 = |at: usize| u32::from_le_bytes(f[at..at + 4].try_into().unwrap());
        let mut out = Vec::new();
        let mut at = 24;
        while at + 16 <= f.len() {
            let ts = u64::from(rd32(at)) * 1_000_000_000 + u64::from(rd32(at + 4)) * 1000;
            let caplen = rd32(at + 8) as usize;
            let fr = &f[at + 16..at + 16 + caplen];
            at += 16 + caplen;
            if fr.len() < 42 || fr[12..14] != [0x08, 0x00] || fr[23] != 17 {
                continue;
            }
            let ihl = usize::from(fr[14] & 0x0f) * 4;
            out.push((ts, fr[14 + ihl + 8..].to_vec()));
        }
        Some(out)
    }

    fn dce(r: &Record) -> &Dcerpc {
        match &r.body {
            Body::Dcerpc(d) => d,
            other => panic!("not dcerpc: {other:?}"),
        }
    }

    /// The shared corpus' connectionless capture, big-endian (scapy-made: five requests, each answered on
    /// the same activity and sequence number). Read at run time; skipped when absent.
    #[test]
    fn connectionless_requests_from_the_shared_corpus() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/pcaps/suricata-verify/dcerpc__dcerpc-udp-scapy/input.pcap");
        if !crate::skip::need_shared("connectionless_requests_from_the_shared_corpus") {
            return;
        }
        let dgrams = udp_payloads(&path).expect("the capture is in the shared corpus");
        assert_eq!(dgrams.len(), 10);
        let mut h = Harness::new(Transport::Udp, 135);
        let mut c = ClConn::default();
        for (i, (ts, d)) in dgrams.iter().enumerate() {
            let dir = if i % 2 == 0 {
                Dir::ToServer
            } else {
                Dir::ToClient
            };
            c.datagram(&mut h.cx(*ts), dir, d);
        }
        assert_eq!(h.out.len(), 5);
        c.close(&mut h.cx(dgrams[9].0));
        assert_eq!(h.out.len(), 5);
        let uuids: Vec<_> = h
            .out
            .iter()
            .map(|r| dce(r).interface_uuid.unwrap().to_string())
            .collect();
        assert_eq!(
            uuids,
            [
                "8f8ab437-0c52-4b49-a2ae-33aa20bc561f",
                "bacab84e-569d-4acd-bd97-8f9c56f37701",
                "1eb94ad0-be43-4990-9462-fa6e4829c0a9",
                "e96598c5-3f18-4a1e-8931-9e52b747adf8",
                "c91394fc-9863-4ac5-9239-b2c7c27d4c0f",
            ]
        );
        let rtts: Vec<_> = h.out.iter().map(|r| dce(r).rtt.unwrap()).collect();
        assert_eq!(rtts, [464_000, 303_000, 299_000, 299_000, 1_028_000]);
        assert!(
            h.out
                .iter()
                .all(|r| dce(r).opnum == Some(0)
                    && dce(r).interface_version.as_deref() == Some("1.0"))
        );
        assert_eq!(h.out[0].ts, dgrams[0].0);

        // The first request answered by a response and the second by a fault (the same
        // datagrams with the PDU type changed): matched by activity and sequence number.
        let mut h = Harness::new(Transport::Udp, 135);
        let mut c = ClConn::default();
        let (t0, req) = &dgrams[0];
        let (t2, req2) = &dgrams[2];
        c.datagram(&mut h.cx(*t0), Dir::ToServer, req);
        c.datagram(&mut h.cx(*t2), Dir::ToServer, req2);
        let mut resp = req.clone();
        resp[1] = ptype::RESPONSE;
        c.datagram(&mut h.cx(t0 + 1000), Dir::ToClient, &resp);
        let mut fault = req2.clone();
        fault[1] = ptype::FAULT;
        fault[74..76].copy_from_slice(&4u16.to_be_bytes());
        fault.truncate(80);
        fault.extend_from_slice(&0x1c01_0002u32.to_be_bytes());
        c.datagram(&mut h.cx(t2 + 2000), Dir::ToClient, &fault);
        assert_eq!(h.out.len(), 2);
        assert_eq!(
            (dce(&h.out[0]).rtt, dce(&h.out[0]).fault.as_deref()),
            (Some(1000), None)
        );
        assert_eq!(
            (dce(&h.out[1]).rtt, dce(&h.out[1]).fault.as_deref()),
            (Some(2000), Some("nca_s_op_rng_error"))
        );
        // Garbage is counted.
        c.datagram(&mut h.cx(t2 + 3000), Dir::ToServer, &req[..40]);
        assert_eq!(h.counters.get(Counter::MalformedDcerpc), 1);
    }
}

#[cfg(test)]
mod probe_tests {
    use crate::proto::dcerpc::probe_udp;

    /// A little-endian v4 REQUEST header with `body` bytes of stub and auth protocol `auth`.
    fn request(body: u16, auth: u8) -> Vec<u8> {
        let mut h = vec![4, 0, 0x20, 0, 0x10, 0, 0, 0];
        h.extend_from_slice(&[0u8; 48]); // object, interface, activity
        h.extend_from_slice(&[0u8; 12]); // boot time, interface version, sequence
        h.extend_from_slice(&[3, 0, 0xff, 0xff, 0xff, 0xff]); // opnum 3, hints
        h.extend_from_slice(&body.to_le_bytes());
        h.extend_from_slice(&[0, 0, auth, 0]); // fragment number, auth protocol, serial
        assert_eq!(h.len(), 80);
        h.extend(std::iter::repeat_n(0xab, usize::from(body)));
        h
    }

    #[test]
    fn a_request_whose_lengths_add_up_is_dcerpc() {
        assert!(probe_udp(&request(24, 0)));
        assert!(probe_udp(&request(0, 0)));
        let mut with_trailer = request(24, 10);
        with_trailer.extend_from_slice(&[0; 16]);
        assert!(probe_udp(&with_trailer));
    }

    #[test]
    fn anything_else_is_not() {
        let mut longer = request(24, 0);
        longer.push(0);
        assert!(
            !probe_udp(&longer),
            "bytes beyond the body without an auth trailer"
        );
        let mut response = request(24, 0);
        response[1] = 2;
        assert!(
            !probe_udp(&response),
            "a response does not start a conversation"
        );
        let mut v5 = request(24, 0);
        v5[0] = 5;
        assert!(!probe_udp(&v5));
        assert!(!probe_udp(&request(24, 0)[..79]));
        assert!(!probe_udp(b"\x04\x00 arbitrary datagram that is long enough to hold a header ......................"));
    }
}
