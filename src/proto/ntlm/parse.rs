//! Pure parsers for NTLMSSP messages (MS-NLMP 2.2): NEGOTIATE, CHALLENGE and AUTHENTICATE, their
//! payload fields (length, maximum length, offset), AV pairs and the NTLMv2 response.
//!
//! Nothing here allocates except the string conversions, which are bounded by the bytes present.
//! Every payload field is checked against the message before it is read: a field pointing past
//! the end is an error ([`Error::OutOfBounds`]); fields that overlap each other or the fixed
//! header are readable but reported ([`Authenticate::overlap`], [`Challenge::overlap`]).

use crate::record::Names;
use nom::bytes::complete::{tag, take};
use nom::number::complete::{le_u16, le_u32};
use nom::IResult;

/// Every NTLMSSP message starts with this signature.
pub const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

/// NEGOTIATE_UNICODE: strings are UTF-16LE (else OEM).
pub const FLAG_UNICODE: u32 = 0x0000_0001;
/// NEGOTIATE_VERSION: the 8-byte version field is meaningful.
pub const FLAG_VERSION: u32 = 0x0200_0000;

/// Names of the negotiate flags (MS-NLMP 2.2.2.5), by bit; reserved bits have none.
const FLAG_NAMES: [(u32, &str); 22] = [
    (0x0000_0001, "unicode"),
    (0x0000_0002, "oem"),
    (0x0000_0004, "request_target"),
    (0x0000_0010, "sign"),
    (0x0000_0020, "seal"),
    (0x0000_0040, "datagram"),
    (0x0000_0080, "lm_key"),
    (0x0000_0200, "ntlm"),
    (0x0000_0800, "anonymous"),
    (0x0000_1000, "oem_domain_supplied"),
    (0x0000_2000, "oem_workstation_supplied"),
    (0x0000_8000, "always_sign"),
    (0x0001_0000, "target_type_domain"),
    (0x0002_0000, "target_type_server"),
    (0x0008_0000, "extended_session_security"),
    (0x0010_0000, "identify"),
    (0x0040_0000, "request_non_nt_session_key"),
    (0x0080_0000, "target_info"),
    (0x0200_0000, "version"),
    (0x2000_0000, "negotiate_128"),
    (0x4000_0000, "key_exch"),
    (0x8000_0000, "negotiate_56"),
];

/// The names of the flags set in `flags`, in bit order (reserved bits are left out).
pub fn flag_names(flags: u32) -> Names {
    Names::pick(&FLAG_NAMES, |bit| flags & bit != 0)
}

/// AV pair ids (MS-NLMP 2.2.2.1).
pub mod av {
    pub const EOL: u16 = 0;
    pub const NB_COMPUTER_NAME: u16 = 1;
    pub const NB_DOMAIN_NAME: u16 = 2;
    pub const DNS_COMPUTER_NAME: u16 = 3;
    pub const DNS_DOMAIN_NAME: u16 = 4;
    pub const DNS_TREE_NAME: u16 = 5;
    pub const FLAGS: u16 = 6;
    pub const TIMESTAMP: u16 = 7;
    pub const SINGLE_HOST: u16 = 8;
    pub const TARGET_NAME: u16 = 9;
    pub const CHANNEL_BINDINGS: u16 = 10;
}

/// MsvAvFlags bit: the AUTHENTICATE carries a MIC.
pub const AV_FLAG_MIC: u32 = 0x2;

/// Why a message could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Does not start with [`SIGNATURE`].
    Signature,
    /// Shorter than its fixed header.
    Truncated,
    /// A message type other than 1, 2 or 3.
    UnknownType(u32),
    /// A payload field points (partly) outside the message.
    OutOfBounds,
}

/// A parsed NTLMSSP message, borrowing from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    Negotiate(Negotiate),
    Challenge(Challenge<'a>),
    Authenticate(Authenticate<'a>),
}

/// NEGOTIATE_MESSAGE: only the flags matter to us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiate {
    pub flags: u32,
}

/// CHALLENGE_MESSAGE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge<'a> {
    pub flags: u32,
    pub target_name: &'a [u8],
    /// The AV pairs (absent in old 32-byte challenges: empty).
    pub target_info: &'a [u8],
    /// Payload fields overlap each other or the fixed header.
    pub overlap: bool,
}

/// AUTHENTICATE_MESSAGE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticate<'a> {
    pub lm_response: &'a [u8],
    pub nt_response: &'a [u8],
    pub domain: &'a [u8],
    pub user: &'a [u8],
    pub workstation: &'a [u8],
    /// Negotiate flags; `None` in an old message whose payload starts before the flags field.
    pub flags: Option<u32>,
    /// The 16-byte MIC field, present when the payload starts at or after offset 88.
    pub mic: Option<&'a [u8]>,
    /// Payload fields overlap each other or the fixed header.
    pub overlap: bool,
}

/// A (length, maximum length, offset) payload descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Field {
    len: u16,
    offset: u32,
}

fn field(i: &[u8]) -> IResult<&[u8], Field> {
    let (i, len) = le_u16(i)?;
    let (i, _max) = le_u16(i)?;
    let (i, offset) = le_u32(i)?;
    Ok((i, Field { len, offset }))
}

impl Field {
    /// The start and end of a non-empty field inside a message of `total` bytes.
    fn range(self, total: usize) -> Result<Option<(usize, usize)>, Error> {
        if self.len == 0 {
            return Ok(None);
        }
        let start = usize::try_from(self.offset).map_err(|_| Error::OutOfBounds)?;
        let end = start
            .checked_add(usize::from(self.len))
            .ok_or(Error::OutOfBounds)?;
        if end > total {
            return Err(Error::OutOfBounds);
        }
        Ok(Some((start, end)))
    }
}

/// Slices the non-empty fields out of `msg`, checking bounds; reports whether any two of them
/// overlap or one starts inside the fixed header of `header` bytes.
fn slices<const N: usize>(
    msg: &[u8],
    fields: [Field; N],
    header: usize,
) -> Result<([&[u8]; N], bool), Error> {
    let mut ranges = [None; N];
    for (r, f) in ranges.iter_mut().zip(fields) {
        *r = f.range(msg.len())?;
    }
    let mut overlap = false;
    for (k, a) in ranges.iter().enumerate() {
        let Some((s1, e1)) = *a else { continue };
        if s1 < header {
            overlap = true;
        }
        for (s2, e2) in ranges.iter().skip(k + 1).flatten() {
            if s1 < *e2 && *s2 < e1 {
                overlap = true;
            }
        }
    }
    let out = ranges.map(|r| r.and_then(|(s, e)| msg.get(s..e)).unwrap_or(&[]));
    Ok((out, overlap))
}

/// The smallest offset of a non-empty field (where the payload starts), if any.
fn payload_start<const N: usize>(fields: &[Field; N]) -> Option<u32> {
    fields.iter().filter(|f| f.len > 0).map(|f| f.offset).min()
}

fn header(i: &[u8]) -> IResult<&[u8], u32> {
    let (i, _) = tag(&SIGNATURE[..])(i)?;
    le_u32(i)
}

/// Parses one NTLMSSP message (trailing bytes after it are allowed: carriers pad).
pub fn parse(msg: &[u8]) -> Result<Message<'_>, Error> {
    if !msg.starts_with(SIGNATURE) {
        return Err(Error::Signature);
    }
    let (rest, kind) = header(msg).map_err(|_| Error::Truncated)?;
    match kind {
        1 => negotiate(rest).map(Message::Negotiate),
        2 => challenge(msg, rest).map(Message::Challenge),
        3 => authenticate(msg, rest).map(Message::Authenticate),
        k => Err(Error::UnknownType(k)),
    }
}

fn negotiate(rest: &[u8]) -> Result<Negotiate, Error> {
    let (_, flags) = le_u32::<_, nom::error::Error<&[u8]>>(rest).map_err(|_| Error::Truncated)?;
    Ok(Negotiate { flags })
}

fn challenge<'a>(msg: &'a [u8], rest: &'a [u8]) -> Result<Challenge<'a>, Error> {
    fn fixed(i: &[u8]) -> IResult<&[u8], (Field, u32)> {
        let (i, target_name) = field(i)?;
        let (i, flags) = le_u32(i)?;
        let (i, _server_challenge) = take(8usize)(i)?;
        Ok((i, (target_name, flags)))
    }
    let (after, (target_name, flags)) = fixed(rest).map_err(|_| Error::Truncated)?;
    // Old challenges stop after the server challenge (32 bytes); the context and target info
    // fields follow only when the payload leaves room for them.
    let mut fields = [target_name, Field { len: 0, offset: 0 }];
    let mut header_len = 32;
    if let Ok((_, info)) =
        take::<_, _, nom::error::Error<&[u8]>>(8usize)(after).and_then(|(i, _)| field(i))
    {
        let start = payload_start(&[target_name]).unwrap_or(u32::MAX);
        if start >= 48 || target_name.len == 0 {
            fields[1] = info;
            header_len = 48;
        }
    }
    let ([target_name, target_info], overlap) = slices(msg, fields, header_len)?;
    Ok(Challenge {
        flags,
        target_name,
        target_info,
        overlap,
    })
}

fn authenticate<'a>(msg: &'a [u8], rest: &'a [u8]) -> Result<Authenticate<'a>, Error> {
    fn five(i: &[u8]) -> IResult<&[u8], [Field; 5]> {
        let (i, lm) = field(i)?;
        let (i, nt) = field(i)?;
        let (i, domain) = field(i)?;
        let (i, user) = field(i)?;
        let (i, ws) = field(i)?;
        Ok((i, [lm, nt, domain, user, ws]))
    }
    let (after, [lm, nt, domain, user, ws]) = five(rest).map_err(|_| Error::Truncated)?;
    // Very old messages end after the workstation field (offset 52), without a session key or
    // flags: where the payload starts tells which of the later fixed fields exist.
    let start = payload_start(&[lm, nt, domain, user, ws]).unwrap_or(u32::MAX);
    let none = Field { len: 0, offset: 0 };
    let (after, key) = if start >= 60 {
        field(after).unwrap_or((after, none))
    } else {
        (after, none)
    };
    let fields = [lm, nt, domain, user, ws, key];
    let start = start.min(payload_start(&[key]).unwrap_or(u32::MAX));
    let flags = if start >= 64 {
        le_u32::<_, nom::error::Error<&[u8]>>(after)
            .ok()
            .map(|(_, f)| f)
    } else {
        None
    };
    let header_len: usize = if flags.is_some() { 64 } else { 52 };
    let mic = if start >= 88 { msg.get(72..88) } else { None };
    let ([lm, nt, domain, user, workstation, _key], overlap) = slices(msg, fields, header_len)?;
    Ok(Authenticate {
        lm_response: lm,
        nt_response: nt,
        domain,
        user,
        workstation,
        flags,
        mic,
        overlap,
    })
}

/// Iterates over AV pairs until MsvAvEOL or the end of the data. A pair running past the end
/// stops the iteration and sets [`AvPairs::truncated`].
#[derive(Debug, Clone)]
pub struct AvPairs<'a> {
    rest: &'a [u8],
    /// A pair's header or value ran past the end of the data.
    pub truncated: bool,
}

/// The AV pairs of a target info block (or of an NTLMv2 response's client blob).
pub fn av_pairs(data: &[u8]) -> AvPairs<'_> {
    AvPairs {
        rest: data,
        truncated: false,
    }
}

impl<'a> Iterator for AvPairs<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        fn pair(i: &[u8]) -> IResult<&[u8], (u16, &[u8])> {
            let (i, id) = le_u16(i)?;
            let (i, len) = le_u16(i)?;
            let (i, value) = take(len)(i)?;
            Ok((i, (id, value)))
        }
        if self.rest.is_empty() {
            return None;
        }
        match pair(self.rest) {
            Ok((_, (av::EOL, _))) => {
                self.rest = &[];
                None
            }
            Ok((rest, p)) => {
                self.rest = rest;
                Some(p)
            }
            Err(_) => {
                self.truncated = true;
                self.rest = &[];
                None
            }
        }
    }
}

/// The client blob's AV pairs of an NTLMv2 response (after NTProofStr and the 28-byte blob
/// header), or `None` when the response is not NTLMv2.
pub fn ntlmv2_av_pairs(nt_response: &[u8]) -> Option<&[u8]> {
    if nt_response.len() <= 24 {
        return None;
    }
    nt_response.get(44..)
}

/// The MsvAvFlags value among `pairs`, if present.
pub fn av_flags(pairs: &[u8]) -> Option<u32> {
    av_pairs(pairs)
        .find(|(id, _)| *id == av::FLAGS)
        .and_then(|(_, v)| v.get(..4))
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Decodes UTF-16LE, replacing invalid sequences (an odd trailing byte is dropped).
pub fn utf16le(b: &[u8]) -> String {
    crate::proto::kit::text::utf16(b, false, usize::MAX)
}

/// Decodes an OEM string; the code page is unknown, so bytes map to the first 256 code points.
pub fn oem(b: &[u8]) -> String {
    crate::proto::kit::text::latin1(b)
}

/// The NTLM response version, from the response lengths (MS-NLMP 3.3): `NTLMv2` when the NT
/// response is longer than 24 bytes, `NTLMv1` at 24, `anonymous` for an empty user with empty
/// (or one-byte LM) responses, `LM` when only an LM response is present.
pub fn version(user_empty: bool, lm_len: usize, nt_len: usize) -> Option<&'static str> {
    if nt_len > 24 {
        Some("NTLMv2")
    } else if nt_len == 24 {
        Some("NTLMv1")
    } else if nt_len == 0 && lm_len <= 1 && user_empty {
        Some("anonymous")
    } else if nt_len == 0 && lm_len > 0 {
        Some("LM")
    } else {
        None
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Decodes a hex string (test data).
    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        s.chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }

    /// The NTLMSSP message inside a token (test helper: from the signature to the end).
    pub(crate) fn ntlmssp(token: &[u8]) -> &[u8] {
        let at = token.windows(8).position(|w| w == SIGNATURE).unwrap();
        &token[at..]
    }

    // testdata-pcaps/lab/03_benign_smb_ntlm.pcap, smb2.security_blob of frames 8, 9, 10 and 11
    // (smbclient as bob to the Samba DC): SPNEGO NegTokenInit with NEGOTIATE, NegTokenResp with
    // CHALLENGE, NegTokenResp with AUTHENTICATE, NegTokenResp accept-completed.
    pub(crate) const LAB03_NEGOTIATE: &str = "604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa22a04284e544c4d53535000010000001582086200000000280000000000000028000000060100000000000f";
    pub(crate) const LAB03_CHALLENGE: &str = "a181ba3081b7a0030a0101a10c060a2b06010401823702020aa281a104819e4e544c4d5353500002000000060006003800000015828962bf5c3b39de5640970000000000000000600060003e000000060100000000000f4c0041004200020006004c004100420001000600440043003100040016006c00610062002e006500780061006d0070006c00650003001e006400630031002e006c00610062002e006500780061006d0070006c006500070008003ce51ac15d7fdd0100000000";
    pub(crate) const LAB03_AUTHENTICATE: &str = "a18201b0308201aca2820194048201904e544c4d53535000030000001800180058000000fc00fc0070000000060006006c01000006000600720100000800080078010000100010008001000015820862060100000000000f2480df3b9841df6a62b7279a1c30be830000000000000000000000000000000000000000000000004e3bbefd8a9bf92d60a77ef3d0d3215901010000000000003ce51ac15d7fdd01cfe5ad9abd2418ec00000000020006004c004100420001000600440043003100040016006c00610062002e006500780061006d0070006c00650003001e006400630031002e006c00610062002e006500780061006d0070006c006500070008003ce51ac15d7fdd0106000400020000000800300030000000000000000000000000000000c9aabd7a5babebe24c3a107715154cdb0cdf86b695df3f9c9a76bbbb7bae09540a0010000000000000000000000000000000000009001c0063006900660073002f00310030002e00390039002e0030002e003100000000004c004100420062006f0062005700530030003100e6a08412453acfaa61433286156bd083a312041001000000ff9996a1c22e538e00000000";
    pub(crate) const LAB03_ACCEPT: &str =
        "a11b3019a0030a0100a312041001000000e87666128a6e2b9e00000000";

    // testdata-pcaps/lab/12_attack_dcsync.pcap, frame 57: the DCE-RPC AUTH3 of impacket's
    // secretsdump (Administrator, NTLMv2, no version field, no MIC), whole TCP payload.
    pub(crate) const LAB12_AUTH3: &str = "05001003100000006c01500101000000202020200a0600007f3501004e544c4d53535000030000001800180070000000b800b8008800000016001600400000001a001a005600000000000000700000001000100040010000358288e06c00610062002e006500780061006d0070006c006500410064006d0069006e006900730074007200610074006f0072005b1e7b51b263bfe827813d54dd541c5e5358496c52384d72d51ca11ddbeb35f5e4172bb4e7b45aef010100000000000098d7acc75d7fdd015358496c52384d7200000000020006004c004100420001000600440043003100040016006c00610062002e006500780061006d0070006c00650003001e006400630031002e006c00610062002e006500780061006d0070006c0065000700080098d7acc75d7fdd010900280063006900660073002f006400630031002e006c00610062002e006500780061006d0070006c006500000000003c69d1ac7c227357662890f5f765a0b2";

    #[test]
    fn negotiate_flags_from_smbclient() {
        let tok = hex(LAB03_NEGOTIATE);
        let Message::Negotiate(n) = parse(ntlmssp(&tok)).unwrap() else {
            panic!()
        };
        assert_eq!(n.flags, 0x6208_8215);
        assert_eq!(
            flag_names(n.flags),
            [
                "unicode",
                "request_target",
                "sign",
                "ntlm",
                "always_sign",
                "extended_session_security",
                "version",
                "negotiate_128",
                "key_exch"
            ]
        );
    }

    #[test]
    fn challenge_target_info_names() {
        let tok = hex(LAB03_CHALLENGE);
        let Message::Challenge(c) = parse(ntlmssp(&tok)).unwrap() else {
            panic!()
        };
        assert_eq!(c.flags, 0x6289_8215);
        assert!(!c.overlap);
        assert_eq!(utf16le(c.target_name), "LAB");
        let names: Vec<(u16, String)> = av_pairs(c.target_info)
            .filter(|(id, _)| *id != av::TIMESTAMP)
            .map(|(id, v)| (id, utf16le(v)))
            .collect();
        assert_eq!(
            names,
            [
                (av::NB_DOMAIN_NAME, "LAB".to_string()),
                (av::NB_COMPUTER_NAME, "DC1".to_string()),
                (av::DNS_DOMAIN_NAME, "lab.example".to_string()),
                (av::DNS_COMPUTER_NAME, "dc1.lab.example".to_string()),
            ]
        );
    }

    #[test]
    fn authenticate_ntlmv2_with_mic() {
        let tok = hex(LAB03_AUTHENTICATE);
        let Message::Authenticate(a) = parse(ntlmssp(&tok)).unwrap() else {
            panic!()
        };
        assert_eq!(utf16le(a.user), "bob");
        assert_eq!(utf16le(a.domain), "LAB");
        assert_eq!(utf16le(a.workstation), "WS01");
        assert_eq!(a.flags, Some(0x6208_8215));
        assert_eq!((a.lm_response.len(), a.nt_response.len()), (24, 252));
        assert_eq!(
            version(a.user.is_empty(), a.lm_response.len(), a.nt_response.len()),
            Some("NTLMv2")
        );
        assert_eq!(a.mic, Some(&hex("2480df3b9841df6a62b7279a1c30be83")[..]));
        let pairs = ntlmv2_av_pairs(a.nt_response).unwrap();
        assert_eq!(av_flags(pairs), Some(AV_FLAG_MIC));
        let target: Vec<String> = av_pairs(pairs)
            .filter(|(id, _)| *id == av::TARGET_NAME)
            .map(|(_, v)| utf16le(v))
            .collect();
        assert_eq!(target, ["cifs/10.99.0.1"]);
        assert!(!a.overlap);
    }

    #[test]
    fn authenticate_without_version_has_no_mic_field() {
        let pdu = hex(LAB12_AUTH3);
        let Message::Authenticate(a) = parse(ntlmssp(&pdu)).unwrap() else {
            panic!()
        };
        assert_eq!(utf16le(a.user), "Administrator");
        assert_eq!(utf16le(a.domain), "lab.example");
        assert!(a.workstation.is_empty());
        assert_eq!(a.flags, Some(0xe088_8235));
        assert_eq!(a.mic, None);
        assert_eq!(a.nt_response.len(), 184);
        assert_eq!(av_flags(ntlmv2_av_pairs(a.nt_response).unwrap()), None);
    }

    #[test]
    fn versions_from_response_lengths() {
        assert_eq!(version(false, 24, 24), Some("NTLMv1"));
        assert_eq!(version(false, 24, 0), Some("LM"));
        assert_eq!(version(true, 1, 0), Some("anonymous"));
        assert_eq!(version(true, 0, 0), Some("anonymous"));
        assert_eq!(version(false, 0, 0), None);
        assert_eq!(version(false, 0, 12), None);
    }

    #[test]
    fn hostile_offsets_are_errors_not_panics() {
        let tok = hex(LAB03_AUTHENTICATE);
        let msg = ntlmssp(&tok).to_vec();
        // User name offset (at 40) pointing one byte past the end.
        let mut m = msg.clone();
        let past = (m.len() as u32 - 5).to_le_bytes();
        m[40..44].copy_from_slice(&past);
        assert_eq!(parse(&m), Err(Error::OutOfBounds));
        // Offset near u32::MAX with a length that would wrap a 32-bit sum.
        let mut m = msg.clone();
        m[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(parse(&m), Err(Error::OutOfBounds));
        // User name pointing into the domain name: readable, flagged as overlapping.
        let mut m = msg.clone();
        m.copy_within(32..36, 40);
        let Message::Authenticate(a) = parse(&m).unwrap() else {
            panic!()
        };
        assert!(a.overlap);
        assert_eq!(utf16le(a.user), "LAB");
        // Domain pointing into the fixed header.
        let mut m = msg.clone();
        m[32..36].copy_from_slice(&8u32.to_le_bytes());
        let Message::Authenticate(a) = parse(&m).unwrap() else {
            panic!()
        };
        assert!(a.overlap);
        // Every truncation of the message either parses or errors, never panics.
        for n in 0..msg.len() {
            let _ = parse(&msg[..n]);
        }
        assert_eq!(parse(&msg[..20]), Err(Error::Truncated));
        assert_eq!(parse(b"NTLMSSP\0\x07\0\0\0"), Err(Error::UnknownType(7)));
        assert_eq!(parse(b"NTLMSSQ\0\x01\0\0\0"), Err(Error::Signature));
    }

    #[test]
    fn av_pairs_stop_at_truncation() {
        // One pair claiming 0xffff bytes of value with 2 present.
        let mut it = av_pairs(&[1, 0, 0xff, 0xff, b'A', 0]);
        assert_eq!(it.next(), None);
        assert!(it.truncated);
        let mut it = av_pairs(&[1, 0, 2, 0, b'A', 0, 0, 0, 0, 0, 1, 0]);
        assert_eq!(it.next(), Some((1, &b"A\0"[..])));
        assert_eq!(it.next(), None);
        assert!(!it.truncated);
    }

    #[test]
    fn strings_decode_lossily() {
        assert_eq!(utf16le(&[0x41, 0, 0x00, 0xd8, 0x42, 0]), "A\u{fffd}B");
        assert_eq!(utf16le(&[0x41, 0, 0x42]), "A");
        assert_eq!(oem(b"WS\xe901"), "WS\u{e9}01");
    }
}
