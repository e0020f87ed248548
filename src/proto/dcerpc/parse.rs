//! Pure parsers for DCE-RPC: the connection-oriented (v5) PDU header and bodies, the security
//! trailer, the connectionless (v4) header, and endpoint-mapper towers. No state, no I/O; every
//! function takes a byte slice and returns borrowed views or small plain structs.
//!
//! Multi-byte integers follow the PDU's data representation label (`drep[0]`: 0x10 =
//! little-endian, 0x00 = big-endian); tower floors are little-endian by definition.

use nom::bytes::complete::take;
use nom::number::complete::{u16 as nu16, u32 as nu32, u8 as nu8};
use nom::number::Endianness;
use nom::IResult;
use smallvec::SmallVec;

/// Length of the connection-oriented common header.
pub const CO_HEADER_LEN: usize = 16;
/// Length of the connectionless header.
pub const CL_HEADER_LEN: usize = 80;
/// Length of the security trailer that precedes an auth verifier.
pub const SEC_TRAILER_LEN: usize = 8;

/// Connection-oriented PDU types.
pub mod ptype {
    pub const REQUEST: u8 = 0;
    pub const PING: u8 = 1;
    pub const RESPONSE: u8 = 2;
    pub const FAULT: u8 = 3;
    pub const WORKING: u8 = 4;
    pub const NOCALL: u8 = 5;
    pub const REJECT: u8 = 6;
    pub const ACK: u8 = 7;
    pub const CL_CANCEL: u8 = 8;
    pub const FACK: u8 = 9;
    pub const CANCEL_ACK: u8 = 10;
    pub const BIND: u8 = 11;
    pub const BIND_ACK: u8 = 12;
    pub const BIND_NAK: u8 = 13;
    pub const ALTER_CONTEXT: u8 = 14;
    pub const ALTER_CONTEXT_RESP: u8 = 15;
    pub const AUTH3: u8 = 16;
    pub const SHUTDOWN: u8 = 17;
    pub const CO_CANCEL: u8 = 18;
    pub const ORPHANED: u8 = 19;
}

/// `pfc_flags` bits of the connection-oriented header.
pub mod pfc {
    pub const FIRST_FRAG: u8 = 0x01;
    pub const LAST_FRAG: u8 = 0x02;
    pub const OBJECT_UUID: u8 = 0x80;
}

/// A UUID as one number in canonical order (`time_low` in the top 32 bits), so
/// `format!("{:032x}")` with dashes gives the canonical string and tables can match on it.
pub type Uuid = u128;

/// The canonical lowercase text of a UUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`).
#[cfg(test)]
pub fn uuid_string(u: Uuid) -> String {
    crate::record::UuidText::uuid(u).as_str().to_owned()
}

fn endian(drep0: u8) -> Endianness {
    if drep0 & 0x10 != 0 {
        Endianness::Little
    } else {
        Endianness::Big
    }
}

/// A UUID in NDR (first three fields in the given byte order, the last eight bytes as is).
pub fn uuid(e: Endianness) -> impl Fn(&[u8]) -> IResult<&[u8], Uuid> {
    move |i| {
        let (i, a) = nu32(e)(i)?;
        let (i, b) = nu16(e)(i)?;
        let (i, c) = nu16(e)(i)?;
        let (i, d) = take(8usize)(i)?;
        let mut tail = [0u8; 8];
        tail.copy_from_slice(d);
        let v = (u128::from(a) << 96)
            | (u128::from(b) << 80)
            | (u128::from(c) << 64)
            | u128::from(u64::from_be_bytes(tail));
        Ok((i, v))
    }
}

/// The connection-oriented common header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoHeader {
    pub minor: u8,
    pub ptype: u8,
    pub flags: u8,
    pub drep: [u8; 4],
    pub frag_len: u16,
    pub auth_len: u16,
    pub call_id: u32,
}

impl CoHeader {
    /// The byte order of the PDU's integers.
    pub fn endian(&self) -> Endianness {
        endian(self.drep[0])
    }
}

/// Why a buffer does not start a connection-oriented PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// Fewer than 16 bytes: wait for more.
    Incomplete,
    /// Not a v5 header, or fields out of range.
    Invalid,
}

/// Parses and checks the 16-byte header: version 5.0/5.1, a known PDU type, a data
/// representation of ASCII with little- or big-endian integers, and a frag_length that holds the
/// header and the auth verifier.
pub fn co_header(i: &[u8]) -> Result<CoHeader, HeaderError> {
    let Some(h) = i.get(..CO_HEADER_LEN) else {
        // A partial header can still be rejected early on its first bytes.
        if i.first().is_some_and(|&v| v != 5) || i.get(1).is_some_and(|&m| m > 1) {
            return Err(HeaderError::Invalid);
        }
        return Err(HeaderError::Incomplete);
    };
    if h[0] != 5 || h[1] > 1 || h[2] > ptype::ORPHANED || (h[4] & 0xef) != 0 || h[5] > 3 {
        return Err(HeaderError::Invalid);
    }
    let drep = [h[4], h[5], h[6], h[7]];
    let le = h[4] & 0x10 != 0;
    let rd16 = |a: u8, b: u8| {
        if le {
            u16::from_le_bytes([a, b])
        } else {
            u16::from_be_bytes([a, b])
        }
    };
    let frag_len = rd16(h[8], h[9]);
    let auth_len = rd16(h[10], h[11]);
    let cid = [h[12], h[13], h[14], h[15]];
    let call_id = if le {
        u32::from_le_bytes(cid)
    } else {
        u32::from_be_bytes(cid)
    };
    let need = CO_HEADER_LEN
        + if auth_len > 0 {
            SEC_TRAILER_LEN + usize::from(auth_len)
        } else {
            0
        };
    if usize::from(frag_len) < need {
        return Err(HeaderError::Invalid);
    }
    Ok(CoHeader {
        minor: h[1],
        ptype: h[2],
        flags: h[3],
        drep,
        frag_len,
        auth_len,
        call_id,
    })
}

/// The security trailer and the auth verifier (token) of a PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Auth<'a> {
    pub auth_type: u8,
    pub auth_level: u8,
    pub pad_len: u8,
    pub context_id: u32,
    pub token: &'a [u8],
}

/// Splits one whole PDU (`pdu.len() == frag_len`) into its body (after the common header, before
/// the auth padding) and its auth trailer, if any.
pub fn co_split<'a>(h: &CoHeader, pdu: &'a [u8]) -> Option<(&'a [u8], Option<Auth<'a>>)> {
    let end = usize::from(h.frag_len).min(pdu.len());
    let pdu = pdu.get(..end)?;
    if h.auth_len == 0 {
        return Some((pdu.get(CO_HEADER_LEN..)?, None));
    }
    let tstart = end.checked_sub(usize::from(h.auth_len) + SEC_TRAILER_LEN)?;
    if tstart < CO_HEADER_LEN {
        return None;
    }
    let t = pdu.get(tstart..)?;
    let (auth_type, auth_level, pad_len) = (t[0], t[1], t[2]);
    let ctx = [t[4], t[5], t[6], t[7]];
    let context_id = match h.endian() {
        Endianness::Big => u32::from_be_bytes(ctx),
        _ => u32::from_le_bytes(ctx),
    };
    let token = t.get(SEC_TRAILER_LEN..)?;
    // The padding belongs to the stub's alignment; a hostile pad larger than the body is ignored.
    let body_end = tstart
        .checked_sub(usize::from(pad_len))
        .filter(|&e| e >= CO_HEADER_LEN)
        .unwrap_or(tstart);
    let body = pdu.get(CO_HEADER_LEN..body_end)?;
    Some((
        body,
        Some(Auth {
            auth_type,
            auth_level,
            pad_len,
            context_id,
            token,
        }),
    ))
}

/// The fixed part of a REQUEST body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    pub ctx_id: u16,
    pub opnum: u16,
    pub object: Option<Uuid>,
    pub stub: &'a [u8],
}

/// Parses a REQUEST body (after the common header, auth padding removed).
pub fn request<'a>(h: &CoHeader, body: &'a [u8]) -> IResult<&'a [u8], Request<'a>> {
    let e = h.endian();
    let (i, _alloc_hint) = nu32(e)(body)?;
    let (i, ctx_id) = nu16(e)(i)?;
    let (i, opnum) = nu16(e)(i)?;
    let (i, object) = if h.flags & pfc::OBJECT_UUID != 0 {
        let (i, o) = uuid(e)(i)?;
        (i, Some(o))
    } else {
        (i, None)
    };
    Ok((
        &i[i.len()..],
        Request {
            ctx_id,
            opnum,
            object,
            stub: i,
        },
    ))
}

/// The fixed part of a RESPONSE body: context id and the stub.
pub fn response<'a>(h: &CoHeader, body: &'a [u8]) -> IResult<&'a [u8], (u16, &'a [u8])> {
    let e = h.endian();
    let (i, _alloc_hint) = nu32(e)(body)?;
    let (i, ctx_id) = nu16(e)(i)?;
    let (i, _cancel_count) = nu8(i)?;
    let (i, _reserved) = nu8(i)?;
    Ok((&i[i.len()..], (ctx_id, i)))
}

/// A FAULT body: context id and status.
pub fn fault<'a>(h: &CoHeader, body: &'a [u8]) -> IResult<&'a [u8], (u16, u32)> {
    let e = h.endian();
    let (i, _alloc_hint) = nu32(e)(body)?;
    let (i, ctx_id) = nu16(e)(i)?;
    let (i, _cancel_count) = nu8(i)?;
    let (i, _reserved) = nu8(i)?;
    let (i, status) = nu32(e)(i)?;
    Ok((i, (ctx_id, status)))
}

/// One presentation context offered in a BIND or ALTER_CONTEXT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextElem {
    pub ctx_id: u16,
    pub uuid: Uuid,
    pub major: u16,
    pub minor: u16,
}

/// Most contexts read from one BIND (the count is one byte, so at most 255 anyway).
pub const MAX_BIND_CONTEXTS: usize = 255;

/// The contexts of one BIND held inline: binds offer one to three (NDR, NDR64, bind time
/// feature negotiation); more spill to the heap.
pub type ContextElems = SmallVec<[ContextElem; 4]>;

/// Parses a BIND/ALTER_CONTEXT body: the offered contexts (abstract syntaxes).
pub fn bind<'a>(h: &CoHeader, body: &'a [u8]) -> IResult<&'a [u8], ContextElems> {
    let e = h.endian();
    let (i, _max_xmit) = nu16(e)(body)?;
    let (i, _max_recv) = nu16(e)(i)?;
    let (i, _assoc) = nu32(e)(i)?;
    let (i, n) = nu8(i)?;
    let (mut i, _) = take(3usize)(i)?;
    // Each element is at least 44 bytes: never reserve more than the bytes present can hold.
    let mut out = ContextElems::with_capacity(usize::from(n).min(i.len() / 44));
    for _ in 0..n {
        let (r, ctx_id) = nu16(e)(i)?;
        let (r, n_ts) = nu8(r)?;
        let (r, _) = nu8(r)?;
        let (r, uuid) = uuid(e)(r)?;
        let (r, major) = nu16(e)(r)?;
        let (r, minor) = nu16(e)(r)?;
        let (r, _) = take(20usize * usize::from(n_ts))(r)?;
        out.push(ContextElem {
            ctx_id,
            uuid,
            major,
            minor,
        });
        i = r;
    }
    Ok((i, out))
}

/// The NDR64 transfer syntax (71710533-beba-4937-8319-b5dbef9ccc36).
pub const NDR64: Uuid = 0x71710533_beba_4937_8319_b5dbef9ccc36;

/// The server's answer for one offered context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtxResult {
    /// 0 acceptance, 1 user rejection, 2 provider rejection, 3 negotiate ack.
    pub result: u16,
    /// Why it was refused.
    pub reason: u16,
    /// The transfer syntax accepted.
    pub transfer: Uuid,
}

/// The results of one BIND_ACK held inline, as [`ContextElems`].
pub type CtxResults = SmallVec<[CtxResult; 4]>;

/// Parses a BIND_ACK/ALTER_CONTEXT_RESP body: one result per offered context, in order
/// (result 0 = acceptance).
pub fn bind_ack<'a>(h: &CoHeader, body: &'a [u8]) -> IResult<&'a [u8], CtxResults> {
    let e = h.endian();
    let (i, _max_xmit) = nu16(e)(body)?;
    let (i, _max_recv) = nu16(e)(i)?;
    let (i, _assoc) = nu32(e)(i)?;
    let (i, sec_len) = nu16(e)(i)?;
    let (i, _port) = take(sec_len)(i)?;
    // Pad to a 4-byte boundary of the PDU: the body starts at offset 16, so align on it too.
    let used = 10 + usize::from(sec_len);
    let (i, _) = take((4 - used % 4) % 4)(i)?;
    let (i, n) = nu8(i)?;
    let (mut i, _) = take(3usize)(i)?;
    let mut out = CtxResults::with_capacity(usize::from(n).min(i.len() / 24));
    for _ in 0..n {
        let (r, result) = nu16(e)(i)?;
        let (r, reason) = nu16(e)(r)?;
        let (r, transfer) = uuid(e)(r)?;
        let (r, _ts_version) = nu32(e)(r)?;
        out.push(CtxResult {
            result,
            reason,
            transfer,
        });
        i = r;
    }
    Ok((i, out))
}

/// The connectionless (v4) header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClHeader {
    pub ptype: u8,
    pub flags1: u8,
    pub drep: [u8; 3],
    pub object: Uuid,
    pub interface: Uuid,
    pub activity: Uuid,
    pub if_major: u16,
    pub if_minor: u16,
    pub seqnum: u32,
    pub opnum: u16,
    pub body_len: u16,
    pub fragnum: u16,
    pub auth_proto: u8,
}

/// `flags1` bits of the connectionless header.
pub mod cl_flags {
    pub const LASTFRAG: u8 = 0x02;
    pub const FRAG: u8 = 0x04;
}

/// Parses a connectionless header: version 4, a PDU type up to 10, ASCII/IEEE data
/// representation. Returns the header and the body (bounded by `len` and the datagram).
pub fn cl_header(i: &[u8]) -> Option<(ClHeader, &[u8])> {
    let h = i.get(..CL_HEADER_LEN)?;
    if h[0] != 4 || h[1] > ptype::CANCEL_ACK || (h[4] & 0xef) != 0 || h[5] > 3 {
        return None;
    }
    let e = endian(h[4]);
    let r = |i| -> IResult<&[u8], ClHeader> {
        let (i, _) = take(8usize)(i)?;
        let (i, object) = uuid(e)(i)?;
        let (i, interface) = uuid(e)(i)?;
        let (i, activity) = uuid(e)(i)?;
        let (i, _boot) = nu32(e)(i)?;
        let (i, vers) = nu32(e)(i)?;
        let (i, seqnum) = nu32(e)(i)?;
        let (i, opnum) = nu16(e)(i)?;
        let (i, _ihint) = nu16(e)(i)?;
        let (i, _ahint) = nu16(e)(i)?;
        let (i, body_len) = nu16(e)(i)?;
        let (i, fragnum) = nu16(e)(i)?;
        let (i, auth_proto) = nu8(i)?;
        let (i, _serial_lo) = nu8(i)?;
        Ok((
            i,
            ClHeader {
                ptype: h[1],
                flags1: h[2],
                drep: [h[4], h[5], h[6]],
                object,
                interface,
                activity,
                if_major: (vers & 0xffff) as u16,
                if_minor: (vers >> 16) as u16,
                seqnum,
                opnum,
                body_len,
                fragnum,
                auth_proto,
            },
        ))
    };
    let (rest, hdr) = r(i).ok()?;
    let body = rest.get(..usize::from(hdr.body_len)).unwrap_or(rest);
    Some((hdr, body))
}

/// The first u32 of a connectionless FAULT or REJECT body: the status.
pub fn cl_status(h: &ClHeader, body: &[u8]) -> Option<u32> {
    nu32::<_, nom::error::Error<&[u8]>>(endian(h.drep[0]))(body)
        .ok()
        .map(|(_, s)| s)
}

/// What one endpoint-mapper tower says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tower {
    pub interface: Option<Uuid>,
    pub tcp_port: Option<u16>,
    pub udp_port: Option<u16>,
    pub ip: Option<[u8; 4]>,
}

/// Reads the floors of one tower (`twr_t` octets: floor count, then per floor lhs and rhs).
pub fn tower(octets: &[u8]) -> Option<Tower> {
    let le16 = |b: &[u8], at: usize| Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]));
    let count = le16(octets, 0)?;
    let mut at = 2usize;
    let mut t = Tower::default();
    for _ in 0..count.min(16) {
        let lhs_len = usize::from(le16(octets, at)?);
        let lhs = octets.get(at + 2..at + 2 + lhs_len)?;
        at += 2 + lhs_len;
        let rhs_len = usize::from(le16(octets, at)?);
        let rhs = octets.get(at + 2..at + 2 + rhs_len)?;
        at += 2 + rhs_len;
        match lhs.first() {
            Some(0x0d) if t.interface.is_none() && lhs.len() >= 17 => {
                let (_, u) = uuid(Endianness::Little)(&lhs[1..]).ok()?;
                t.interface = Some(u);
            }
            Some(0x07) if rhs.len() >= 2 => t.tcp_port = Some(u16::from_be_bytes([rhs[0], rhs[1]])),
            Some(0x08) if rhs.len() >= 2 => t.udp_port = Some(u16::from_be_bytes([rhs[0], rhs[1]])),
            Some(0x09) if rhs.len() >= 4 => t.ip = Some([rhs[0], rhs[1], rhs[2], rhs[3]]),
            _ => {}
        }
    }
    Some(t)
}

/// Most towers read from one `ept_map` answer.
pub const MAX_TOWERS: usize = 16;

/// Reads the towers of an `ept_map` response stub: entry handle (20 bytes), num_towers, then a
/// conformant varying array of tower pointers and the towers they point to.
pub fn ept_map_response(drep0: u8, stub: &[u8]) -> Option<Vec<Tower>> {
    let e = endian(drep0);
    let p = |i| -> IResult<&[u8], Vec<Tower>> {
        let (i, _handle) = take(20usize)(i)?;
        let (i, _num) = nu32(e)(i)?;
        let (i, _max) = nu32(e)(i)?;
        let (i, _offset) = nu32(e)(i)?;
        let (i, actual) = nu32(e)(i)?;
        let n = (actual as usize).min(MAX_TOWERS);
        let mut i = i;
        let mut nonnull = 0;
        for _ in 0..n {
            let (r, ptr) = nu32(e)(i)?;
            if ptr != 0 {
                nonnull += 1;
            }
            i = r;
        }
        // Skip the pointers beyond MAX_TOWERS without reading their towers.
        let skip = (actual as usize).saturating_sub(n).saturating_mul(4);
        let (mut i, _) = take(skip.min(i.len()))(i)?;
        let mut out = Vec::with_capacity(nonnull);
        for _ in 0..nonnull {
            let (r, _len) = nu32(e)(i)?;
            let (r, max) = nu32(e)(r)?;
            let (r, oct) = take(max)(r)?;
            let pad = (4 - (max as usize) % 4) % 4;
            let (r, _) = take(pad.min(r.len()))(r)?;
            if let Some(t) = tower(oct) {
                out.push(t);
            }
            i = r;
        }
        Ok((i, out))
    };
    p(stub).ok().map(|(_, v)| v)
}

/// Reads the interface of the tower in an `ept_map` request: object (unique pointer to a UUID),
/// then the map tower (unique pointer to `twr_t`).
pub fn ept_map_request(drep0: u8, stub: &[u8]) -> Option<Tower> {
    let e = endian(drep0);
    let p = |i| -> IResult<&[u8], Option<Tower>> {
        let (i, obj_ptr) = nu32(e)(i)?;
        let (i, _) = take(if obj_ptr != 0 { 16usize } else { 0 })(i)?;
        let (i, twr_ptr) = nu32(e)(i)?;
        if twr_ptr == 0 {
            return Ok((i, None));
        }
        let (i, _len) = nu32(e)(i)?;
        let (i, max) = nu32(e)(i)?;
        let (i, oct) = take(max)(i)?;
        Ok((i, tower(oct)))
    };
    p(stub).ok().and_then(|(_, t)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_text_is_the_canonical_form() {
        for u in [
            0u128,
            u128::MAX,
            0x12345678_9abc_def0_0fed_cba987654321,
            1 << 127,
            0xf,
        ] {
            let h = format!("{u:032x}");
            let want = format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..]
            );
            assert_eq!(uuid_string(u), want);
        }
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // 12_attack_dcsync.pcap frame 41: BIND to the endpoint mapper (little-endian).
    const EPM_BIND: &str = "05000b03100000004800000001000000b810b8100000000001000000000001000883afe11f5dc91191a408002b14a0fa03000000045d888aeb1cc9119fe808002b10486002000000";
    // Frame 43: its BIND_ACK (secondary address "135").
    const EPM_BIND_ACK: &str = "05000c03100000003c00000001000000b810b810cae1000004003133350000000100000000000000045d888aeb1cc9119fe808002b10486002000000";
    // Frame 46: the ept_map response handing out drsuapi on TCP 49153.
    const EPM_MAP_RESP: &str = "050002031000000098000000010000008000000000000000000000000000000000000000000000000000000001000000040000000000000001000000030000004b0000004b000000050013000d354251e3064bd111ab0400c04fc2dcd204000200000013000d045d888aeb1cc9119fe808002b10486002000200000001000b020000000100070200c0010100090400000000000000000000";

    #[test]
    fn bind_and_ack_of_the_endpoint_mapper() {
        let b = hex(EPM_BIND);
        let h = co_header(&b).unwrap();
        assert_eq!(
            (h.ptype, h.flags, h.frag_len, h.auth_len, h.call_id),
            (ptype::BIND, 3, 72, 0, 1)
        );
        let (body, auth) = co_split(&h, &b).unwrap();
        assert!(auth.is_none());
        let (_, ctx) = bind(&h, body).unwrap();
        assert_eq!(ctx.len(), 1);
        assert_eq!(
            uuid_string(ctx[0].uuid),
            "e1af8308-5d1f-11c9-91a4-08002b14a0fa"
        );
        assert_eq!((ctx[0].ctx_id, ctx[0].major, ctx[0].minor), (0, 3, 0));
        let a = hex(EPM_BIND_ACK);
        let h = co_header(&a).unwrap();
        let (body, _) = co_split(&h, &a).unwrap();
        let r = bind_ack(&h, body).unwrap().1;
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].result, 0);
    }

    #[test]
    fn ept_map_response_tower_gives_port_and_interface() {
        let b = hex(EPM_MAP_RESP);
        let h = co_header(&b).unwrap();
        let (body, _) = co_split(&h, &b).unwrap();
        let (_, (ctx, stub)) = response(&h, body).unwrap();
        assert_eq!(ctx, 0);
        let towers = ept_map_response(h.drep[0], stub).unwrap();
        assert_eq!(towers.len(), 1);
        assert_eq!(
            uuid_string(towers[0].interface.unwrap()),
            "e3514235-4b06-11d1-ab04-00c04fc2dcd2"
        );
        assert_eq!(towers[0].tcp_port, Some(49153));
        assert_eq!(towers[0].ip, Some([0, 0, 0, 0]));
    }

    #[test]
    fn big_endian_header_reads_lengths_in_its_byte_order() {
        let mut b = hex(EPM_BIND);
        // Relabel as big-endian and swap the header integers accordingly.
        b[4] = 0x00;
        b[8..10].copy_from_slice(&72u16.to_be_bytes());
        b[12..16].copy_from_slice(&1u32.to_be_bytes());
        // Swap the bind's own fields: context id, UUID fields and version.
        b[28..30].copy_from_slice(&0u16.to_be_bytes());
        b[32..36].copy_from_slice(&0xe1af8308u32.to_be_bytes());
        b[36..38].copy_from_slice(&0x5d1fu16.to_be_bytes());
        b[38..40].copy_from_slice(&0x11c9u16.to_be_bytes());
        b[48..50].copy_from_slice(&3u16.to_be_bytes());
        let h = co_header(&b).unwrap();
        assert_eq!((h.frag_len, h.call_id), (72, 1));
        let (body, _) = co_split(&h, &b).unwrap();
        let (_, ctx) = bind(&h, body).unwrap();
        assert_eq!(
            uuid_string(ctx[0].uuid),
            "e1af8308-5d1f-11c9-91a4-08002b14a0fa"
        );
        assert_eq!(ctx[0].major, 3);
    }

    #[test]
    fn hostile_headers_are_rejected() {
        let mut b = hex(EPM_BIND);
        b[8] = 8; // frag_length 8 < 16
        assert_eq!(co_header(&b), Err(HeaderError::Invalid));
        let mut b = hex(EPM_BIND);
        b[10] = 0xff; // auth_length beyond frag_length
        assert_eq!(co_header(&b), Err(HeaderError::Invalid));
        assert_eq!(co_header(&[5, 0, 11]), Err(HeaderError::Incomplete));
        assert_eq!(co_header(&[4, 0]), Err(HeaderError::Invalid));
        assert_eq!(co_header(&[5, 7]), Err(HeaderError::Invalid));
        // A bind claiming 255 contexts in a short body fails cleanly.
        let mut b = hex(EPM_BIND);
        b[24] = 0xff;
        let h = co_header(&b).unwrap();
        let (body, _) = co_split(&h, &b).unwrap();
        assert!(bind(&h, body).is_err());
        // Towers with lengths past the end.
        assert_eq!(tower(&[5, 0, 0xff, 0xff]), None);
        assert!(ept_map_response(0x10, &[0u8; 40]).unwrap().is_empty());
    }
}
