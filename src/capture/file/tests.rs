//! Tests of the capture file reader: pcap and pcapng variants, hostile and truncated files,
//! slow readers; helpers other modules' tests use (lab captures, owned frames).

use super::*;
use std::path::PathBuf;

/// A frame read back: timestamp, link type, bytes, length on the wire.
pub(crate) type Owned = (Ts, LinkType, Vec<u8>, u32);

pub(crate) fn lab(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata-pcaps/lab")
        .join(name)
}

pub(crate) fn packet_testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/packet/testdata")
        .join(name)
}

pub(crate) fn read_all(src: &mut FileSource) -> Vec<Owned> {
    let mut v = Vec::new();
    while let Some(f) = src.next_frame().unwrap() {
        v.push((f.ts, f.link, f.data.to_vec(), f.orig_len));
    }
    v
}

pub(crate) fn read_path(p: &Path) -> Vec<Owned> {
    let mut src = FileSource::open(p).unwrap();
    let v = read_all(&mut src);
    assert_eq!(src.warning(), None);
    v
}

fn put16(out: &mut Vec<u8>, be: bool, v: u16) {
    out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
}

fn put32(out: &mut Vec<u8>, be: bool, v: u32) {
    out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
}

/// Writes a pcap file (our test writer; its output is checked against the lab files).
pub(crate) fn pcap_bytes(
    be: bool,
    nanos: bool,
    link: LinkType,
    snaplen: u32,
    frames: &[Owned],
) -> Vec<u8> {
    let mut o = Vec::new();
    put32(&mut o, be, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
    put16(&mut o, be, 2);
    put16(&mut o, be, 4);
    put32(&mut o, be, 0);
    put32(&mut o, be, 0);
    put32(&mut o, be, snaplen);
    put32(&mut o, be, link.0);
    for (ts, _, data, orig) in frames {
        let div = if nanos { 1 } else { 1000 };
        put32(&mut o, be, (ts / 1_000_000_000) as u32);
        put32(&mut o, be, ((ts % 1_000_000_000) / div) as u32);
        put32(&mut o, be, data.len() as u32);
        put32(&mut o, be, *orig);
        o.extend_from_slice(data);
    }
    o
}

/// One pcapng block: type, body (padded here), in the given byte order.
fn block(o: &mut Vec<u8>, be: bool, btype: u32, body: &[u8]) {
    let padded = body.len().div_ceil(4) * 4;
    let total = (12 + padded) as u32;
    put32(o, be, btype);
    put32(o, be, total);
    o.extend_from_slice(body);
    o.resize(o.len() + padded - body.len(), 0);
    put32(o, be, total);
}

pub(crate) fn shb(o: &mut Vec<u8>, be: bool) {
    let mut b = Vec::new();
    put32(&mut b, be, 0x1a2b_3c4d);
    put16(&mut b, be, 1);
    put16(&mut b, be, 0);
    b.extend_from_slice(&(-1i64).to_le_bytes());
    block(o, be, PCAPNG_SHB, &b);
}

pub(crate) fn idb(
    o: &mut Vec<u8>,
    be: bool,
    link: LinkType,
    snaplen: u32,
    tsresol: Option<u8>,
    tsoffset: Option<i64>,
) {
    let mut b = Vec::new();
    put16(&mut b, be, link.0 as u16);
    put16(&mut b, be, 0);
    put32(&mut b, be, snaplen);
    // An option we do not read first (if_name), then the two we do.
    put16(&mut b, be, 2);
    put16(&mut b, be, 3);
    b.extend_from_slice(b"lo\0\0");
    if let Some(r) = tsresol {
        put16(&mut b, be, 9);
        put16(&mut b, be, 1);
        b.extend_from_slice(&[r, 0, 0, 0]);
    }
    if let Some(off) = tsoffset {
        put16(&mut b, be, 14);
        put16(&mut b, be, 8);
        b.extend_from_slice(&if be {
            off.to_be_bytes()
        } else {
            off.to_le_bytes()
        });
    }
    put16(&mut b, be, 0);
    put16(&mut b, be, 0);
    block(o, be, PCAPNG_IDB, &b);
}

pub(crate) fn epb(o: &mut Vec<u8>, be: bool, iface: u32, ticks: u64, data: &[u8], orig: u32) {
    let mut b = Vec::new();
    put32(&mut b, be, iface);
    put32(&mut b, be, (ticks >> 32) as u32);
    put32(&mut b, be, ticks as u32);
    put32(&mut b, be, data.len() as u32);
    put32(&mut b, be, orig);
    b.extend_from_slice(data);
    b.resize(b.len().div_ceil(4) * 4, 0);
    // An epb_flags option, to be skipped.
    put16(&mut b, be, 2);
    put16(&mut b, be, 4);
    put32(&mut b, be, 1);
    put16(&mut b, be, 0);
    put16(&mut b, be, 0);
    block(o, be, PCAPNG_EPB, &b);
}

/// A simple packet block holding `data` cut to `snaplen`.
fn spb(o: &mut Vec<u8>, be: bool, data: &[u8], snaplen: usize) {
    let mut b = Vec::new();
    put32(&mut b, be, data.len() as u32);
    b.extend_from_slice(&data[..data.len().min(snaplen)]);
    block(o, be, PCAPNG_SPB, &b);
}

fn obsolete_pb(o: &mut Vec<u8>, be: bool, iface: u16, ticks: u64, data: &[u8]) {
    let mut b = Vec::new();
    put16(&mut b, be, iface);
    put16(&mut b, be, 0);
    put32(&mut b, be, (ticks >> 32) as u32);
    put32(&mut b, be, ticks as u32);
    put32(&mut b, be, data.len() as u32);
    put32(&mut b, be, data.len() as u32);
    b.extend_from_slice(data);
    block(o, be, PCAPNG_PB, &b);
}

const DNS_TS1: Ts = 1_795_886_857_136_281_000;
const DNS_LENS: [usize; 28] = [
    98, 138, 105, 153, 109, 157, 109, 157, 108, 156, 103, 151, 115, 163, 146, 194, 94, 158, 94,
    138, 99, 143, 105, 158, 105, 163, 99, 127,
];

#[test]
fn lab_pcap_frames_match_tshark() {
    let path = lab("05_benign_dns.pcap");
    let mut src = FileSource::open(&path).unwrap();
    assert_eq!(src.link(), Some(LinkType::ETHERNET));
    assert_eq!(src.name(), path.display().to_string());
    let frames = read_all(&mut src);
    assert_eq!(frames.len(), 28);
    let lens: Vec<usize> = frames.iter().map(|f| f.2.len()).collect();
    assert_eq!(lens, DNS_LENS);
    assert!(frames
        .iter()
        .all(|f| f.1 == LinkType::ETHERNET && f.3 as usize == f.2.len()));
    assert_eq!(frames[0].0, DNS_TS1);
    assert_eq!(frames[27].0, 1_795_886_857_140_990_000);
    assert_eq!(src.offset(), std::fs::metadata(&path).unwrap().len());
    assert_eq!(src.warning(), None);
    // After the end it stays at the end.
    assert!(src.next_frame().unwrap().is_none());
}

#[test]
fn every_lab_capture_has_the_capinfos_frame_count() {
    let counts = [
        ("01_benign_kerberos_logon.pcap", 59),
        ("02_benign_smb_kerberos.pcap", 94),
        ("03_benign_smb_ntlm.pcap", 83),
        ("04_benign_rpc_queries.pcap", 127),
        ("05_benign_dns.pcap", 28),
        ("06_dns_zone_transfer.pcap", 20),
        ("07_dns_many_lookups.pcap", 800),
        ("10_attack_kerberoasting.pcap", 125),
        ("11_attack_asrep_roasting.pcap", 104),
        ("12_attack_dcsync.pcap", 132),
        ("13_attack_recon_samr_lsarpc.pcap", 359),
        ("14_attack_password_spray_kerberos.pcap", 44),
        ("15_attack_bruteforce_ntlm.pcap", 293),
        ("16_attack_account_enumeration.pcap", 126),
        ("17_attack_pass_the_hash.pcap", 217),
        ("18_attack_overpass_the_hash.pcap", 44),
        ("19_attack_golden_ticket.pcap", 66),
        ("20_attack_recon_samr_lsarpc_smb_cleartext.pcap", 361),
        ("21_attack_pass_the_hash_smb_cleartext.pcap", 222),
    ];
    for (name, n) in counts {
        assert_eq!(read_path(&lab(name)).len(), n, "{name}");
    }
}

#[test]
fn pcap_both_byte_orders_and_resolutions_read_back_the_same_frames() {
    let frames = read_path(&lab("05_benign_dns.pcap"));
    for be in [false, true] {
        for nanos in [false, true] {
            // With nanosecond resolution, give the frames nanoseconds the microsecond file
            // could not hold.
            let want: Vec<Owned> = frames
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    (
                        f.0 + if nanos { 1 + i as u64 } else { 0 },
                        f.1,
                        f.2.clone(),
                        f.3 + 4,
                    )
                })
                .collect();
            let bytes = pcap_bytes(be, nanos, LinkType::ETHERNET, 262_144, &want);
            let mut src = FileSource::from_bytes("mem.pcap", bytes.clone()).unwrap();
            assert_eq!(read_all(&mut src), want, "be={be} nanos={nanos}");
            assert_eq!(src.offset(), bytes.len() as u64);
            assert_eq!(src.warning(), None);
        }
    }
    // Our writer reproduces the lab file byte for byte apart from its header.
    let orig = std::fs::read(lab("05_benign_dns.pcap")).unwrap();
    let ours = pcap_bytes(false, false, LinkType::ETHERNET, 262_144, &frames);
    assert_eq!(orig[24..], ours[24..]);
}

#[test]
fn pcapng_written_by_mergecap_has_two_link_types() {
    let frames = read_path(&packet_testdata("merged-two-interfaces.pcapng"));
    assert_eq!(frames.len(), 14);
    let links: Vec<u32> = frames.iter().map(|f| f.1 .0).collect();
    assert_eq!(
        links,
        [276, 1, 276, 1, 276, 1, 276, 1, 276, 1, 276, 1, 276, 1]
    );
    let lens: Vec<usize> = frames.iter().map(|f| f.2.len()).collect();
    assert_eq!(
        lens,
        [1296, 1290, 1296, 1290, 536, 530, 1300, 1294, 1300, 1294, 612, 606, 62, 56]
    );
    assert_eq!(frames[0].0, 1_795_887_778_281_076_000);
    assert_eq!(frames[13].0, 1_795_887_778_281_444_000);
    // The same frames as the two pcaps it was merged from.
    let lo = read_path(&packet_testdata("lo-fragments.pcap"));
    let any = read_path(&packet_testdata("any-sll2-fragments.pcap"));
    for i in 0..7 {
        assert_eq!(frames[2 * i], any[i]);
        assert_eq!(frames[2 * i + 1], lo[i]);
    }
}

/// Two sections (little then big endian), interfaces with different link types, time
/// resolutions and offsets, all three packet block kinds, and blocks to skip.
fn pcapng_fixture(frames: &[Owned]) -> Vec<u8> {
    let mut o = Vec::new();
    shb(&mut o, false);
    idb(&mut o, false, LinkType::ETHERNET, 0, None, None);
    idb(&mut o, false, LinkType(105), 65535, None, None); // 802.11: not supported
    idb(
        &mut o,
        false,
        LinkType::ETHERNET,
        262_144,
        Some(9),
        Some(-10),
    );
    // A Name Resolution Block and an Interface Statistics Block, to be skipped.
    block(&mut o, false, 4, &[0, 0, 0, 0]);
    block(&mut o, false, 5, &[0; 12]);
    epb(
        &mut o,
        false,
        0,
        frames[0].0 / 1000,
        &frames[0].2,
        frames[0].3,
    );
    epb(&mut o, false, 1, 0, &frames[1].2, frames[1].3);
    epb(
        &mut o,
        false,
        2,
        frames[2].0 + 10_000_000_000 + 7,
        &frames[2].2,
        frames[2].3,
    );
    // A second section, big endian: its interface 0 counts in 2^-20 s with an offset.
    shb(&mut o, true);
    idb(
        &mut o,
        true,
        LinkType::ETHERNET,
        96,
        Some(0x80 | 20),
        Some(100),
    );
    let ticks = (((frames[3].0 - 100_000_000_000) as u128) << 20) / 1_000_000_000;
    let ticks = ticks as u64;
    epb(&mut o, true, 0, ticks, &frames[3].2, frames[3].3);
    obsolete_pb(&mut o, true, 0, ticks + (1 << 20), &frames[4].2);
    spb(&mut o, true, &frames[5].2, 96);
    block(&mut o, true, 0x0BAD, &[1, 2, 3]); // a custom block: skipped
    o
}

#[test]
fn pcapng_sections_interfaces_resolutions_and_block_kinds() {
    let frames = read_path(&lab("05_benign_dns.pcap"));
    let bytes = pcapng_fixture(&frames);
    let mut src = FileSource::from_bytes("mem.pcapng", bytes.clone()).unwrap();
    let got = read_all(&mut src);
    assert_eq!(src.warning(), None);
    assert_eq!(src.skipped_unsupported(), 1);
    assert_eq!(src.offset(), bytes.len() as u64);
    assert_eq!(got.len(), 5);
    assert_eq!(got[0], frames[0].clone());
    assert_eq!(
        got[1],
        (
            frames[2].0 + 7,
            LinkType::ETHERNET,
            frames[2].2.clone(),
            frames[2].3
        )
    );
    // 2^-20 s ticks: within a microsecond of the original.
    let t3 = ((((frames[3].0 - 100_000_000_000) as u128) << 20) / 1_000_000_000) as u64;
    let want3 =
        100_000_000_000 + (t3 >> 20) * 1_000_000_000 + (t3 & 0xfffff) * 1_000_000_000 / (1 << 20);
    assert_eq!(got[2].0, want3);
    assert!(frames[3].0 - got[2].0 < 1000);
    assert_eq!(got[2].2, frames[3].2);
    assert_eq!(got[3].0, want3 + 1_000_000_000);
    assert_eq!(got[3].2, frames[4].2);
    // The simple packet block: cut to the interface's snap length, time of the last frame.
    assert_eq!(got[4].2, frames[5].2[..96].to_vec());
    assert_eq!(got[4].3 as usize, frames[5].2.len());
    assert_eq!(got[4].0, got[3].0);
    // tshark agrees on the little-endian half (written out once with `pcapng_fixture`):
    // frame 1 at DNS_TS1, frame 2 at frames[2].0 + 7 ns.
    assert_eq!(got[0].0, DNS_TS1);
}

#[test]
fn a_file_cut_at_any_byte_yields_the_frames_before_the_cut() {
    let frames = read_path(&lab("05_benign_dns.pcap"));
    let few = &frames[..3];
    let pcap = pcap_bytes(false, false, LinkType::ETHERNET, 65535, few);
    let mut ng = Vec::new();
    shb(&mut ng, true);
    idb(&mut ng, true, LinkType::ETHERNET, 0, Some(9), None);
    for f in few {
        epb(&mut ng, true, 0, f.0, &f.2, f.3);
    }
    for (kind, bytes) in [("pcap", pcap), ("pcapng", ng)] {
        // Where each record ends.
        let mut ends = Vec::new();
        let mut src = FileSource::from_bytes("x", bytes.clone()).unwrap();
        let header_end = src.offset() as usize;
        while src.next_frame().unwrap().is_some() {
            ends.push(src.offset() as usize);
        }
        assert_eq!(ends.len(), 3);
        for cut in 0..bytes.len() {
            let name = format!("cut-{cut}.{kind}");
            let r = FileSource::from_bytes(name.clone(), bytes[..cut].to_vec());
            let first_block = if kind == "pcap" { 24 } else { 28 };
            if cut < first_block {
                match r {
                    Err(CaptureError::NotACapture { source, .. }) => assert_eq!(source, name),
                    Err(e) => panic!("{kind} cut at {cut}: {e}"),
                    Ok(_) => panic!("{kind} cut at {cut} opened"),
                }
                continue;
            }
            let mut src = r.unwrap_or_else(|e| panic!("{kind} cut at {cut}: {e}"));
            let got = read_all(&mut src);
            let complete = ends.iter().filter(|&&e| e <= cut).count();
            assert_eq!(got.len(), complete, "{kind} cut at {cut}");
            for (g, f) in got.iter().zip(few) {
                assert_eq!(g.2, f.2);
            }
            let boundary = cut == header_end || cut == first_block || ends.contains(&cut);
            match src.warning() {
                None => assert!(boundary, "{kind} cut at {cut}: no warning"),
                Some(w) => {
                    assert!(!boundary, "{kind} cut at {cut}: {w}");
                    let at = if complete == 0 {
                        header_end.min(cut)
                    } else {
                        ends[complete - 1]
                    };
                    let at = if cut < header_end { first_block } else { at };
                    assert!(
                        w.starts_with(&format!("{name}: file ends in the middle of a ")),
                        "{w}"
                    );
                    assert!(
                        w.contains(&format!(" at byte {at} (")),
                        "{kind} cut at {cut}: {w}"
                    );
                }
            }
            assert!(src.next_frame().unwrap().is_none());
        }
    }
}

#[test]
fn inputs_that_are_not_captures_are_refused_with_the_reason() {
    let e = FileSource::from_bytes("notes.txt", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec())
        .err()
        .unwrap();
    assert_eq!(
        e.to_string(),
        "notes.txt: not a pcap or pcapng capture (unknown magic number 47455420); give dcsensor a file written by tcpdump, tshark or dumpcap"
    );
    let e = FileSource::from_bytes("empty", Vec::new()).err().unwrap();
    assert!(
        matches!(&e, CaptureError::NotACapture { reason, .. } if reason == "the file is empty"),
        "{e}"
    );
    let e = FileSource::from_bytes("tiny", vec![0xd4, 0xc3])
        .err()
        .unwrap();
    assert!(
        matches!(&e, CaptureError::NotACapture { reason, .. } if reason == "the file is only 2 bytes long")
    );
    // pcapng whose byte-order magic is wrong.
    let mut ng = Vec::new();
    shb(&mut ng, false);
    ng[8] = 0;
    let e = FileSource::from_bytes("bad.pcapng", ng).err().unwrap();
    assert!(
        matches!(&e, CaptureError::NotACapture { reason, .. } if reason.contains("byte-order magic")),
        "{e}"
    );
    let e = FileSource::open(Path::new("/nonexistent/x.pcap"))
        .err()
        .unwrap();
    assert!(
        e.to_string()
            .starts_with("/nonexistent/x.pcap: cannot open: "),
        "{e}"
    );
    assert!(e.to_string().ends_with("; check the path"), "{e}");
}

#[test]
fn unsupported_link_types_are_refused_or_skipped() {
    let frames = read_path(&lab("05_benign_dns.pcap"));
    let e = FileSource::from_bytes(
        "wifi.pcap",
        pcap_bytes(true, false, LinkType(105), 65535, &frames),
    )
    .err()
    .unwrap();
    assert!(matches!(
        e,
        CaptureError::UnsupportedLink {
            link: LinkType(105),
            ..
        }
    ));
    assert!(
        e.to_string()
            .starts_with("wifi.pcap: unsupported link type 105; "),
        "{e}"
    );
    let mut ng = Vec::new();
    shb(&mut ng, false);
    idb(&mut ng, false, LinkType(105), 0, None, None);
    epb(&mut ng, false, 0, 0, &frames[0].2, frames[0].3);
    let e = FileSource::from_bytes("wifi.pcapng", ng).err().unwrap();
    assert!(
        matches!(
            e,
            CaptureError::UnsupportedLink {
                link: LinkType(105),
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn oversized_records_are_corruption() {
    let frames = read_path(&lab("05_benign_dns.pcap"));
    let mut bytes = pcap_bytes(false, false, LinkType::ETHERNET, 65535, &frames[..2]);
    // The second record claims 100 MB.
    let second = 24 + 16 + frames[0].2.len();
    bytes[second + 8..second + 12].copy_from_slice(&100_000_000u32.to_le_bytes());
    let mut src = FileSource::from_bytes("big.pcap", bytes).unwrap();
    assert!(src.next_frame().unwrap().is_some());
    let e = src.next_frame().err().unwrap();
    assert!(
        matches!(e, CaptureError::Read { offset, .. } if offset == second as u64),
        "{e}"
    );
    assert!(src.next_frame().unwrap().is_none());
    // A pcapng block length that is not a multiple of 4.
    let mut ng = Vec::new();
    shb(&mut ng, false);
    idb(&mut ng, false, LinkType::ETHERNET, 0, None, None);
    let at = ng.len();
    epb(&mut ng, false, 0, 0, &frames[0].2, frames[0].3);
    ng[at + 4] += 1;
    let mut src = FileSource::from_bytes("odd.pcapng", ng).unwrap();
    let e = src.next_frame().err().unwrap();
    assert!(
        e.to_string()
            .starts_with(&format!("odd.pcapng: read error at byte {at}: ")),
        "{e}"
    );
}

#[test]
fn large_records_grow_the_buffer() {
    // Frames larger than the initial buffer, through a reader that returns few bytes at a
    // time.
    struct Slow(io::Cursor<Vec<u8>>);
    impl Read for Slow {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(1000);
            self.0.read(&mut buf[..n])
        }
    }
    let big: Vec<u8> = (0..3 * BUF_SIZE).map(|i| (i % 251) as u8).collect();
    let frames: Vec<Owned> = (0..3)
        .map(|i| (i * 1000, LinkType::ETHERNET, big[i as usize..].to_vec(), 0))
        .collect();
    let frames: Vec<Owned> = frames
        .into_iter()
        .map(|(t, l, d, _)| (t, l, d.clone(), d.len() as u32))
        .collect();
    let bytes = pcap_bytes(
        false,
        true,
        LinkType::ETHERNET,
        4 * BUF_SIZE as u32,
        &frames,
    );
    let mut src = FileSource::from_reader("slow", Slow(io::Cursor::new(bytes))).unwrap();
    assert_eq!(read_all(&mut src), frames);
}

/// What reading a whole source gives: its frames and its warning, or the error that ended it.
fn outcome(r: Result<FileSource, CaptureError>) -> Result<(Vec<Owned>, Option<String>), String> {
    let mut src = r.map_err(|e| e.to_string())?;
    let mut v = Vec::new();
    loop {
        match src.next_frame() {
            Ok(Some(f)) => v.push((f.ts, f.link, f.data.to_vec(), f.orig_len)),
            Ok(None) => break,
            Err(e) => return Err(format!("after {} frames: {e}", v.len())),
        }
    }
    Ok((v, src.warning()))
}

#[test]
fn a_mapped_file_reads_like_a_stream_at_every_cut_and_corruption() {
    let frames = read_path(&lab("05_benign_dns.pcap"));
    let few = &frames[..3];
    let pcap = pcap_bytes(false, true, LinkType::ETHERNET, 65535, few);
    let mut ng = Vec::new();
    shb(&mut ng, false);
    idb(&mut ng, false, LinkType::ETHERNET, 0, Some(9), None);
    for f in few {
        epb(&mut ng, false, 0, f.0, &f.2, f.3);
    }
    let dir = tempfile::tempdir().unwrap();
    for (kind, bytes) in [("pcap", pcap), ("pcapng", ng)] {
        // Every cut, and every byte of the file set to 0xff in turn (corrupt lengths, magics).
        let mut variants: Vec<Vec<u8>> = (1..=bytes.len()).map(|c| bytes[..c].to_vec()).collect();
        for at in 0..bytes.len() {
            let mut b = bytes.clone();
            b[at] = 0xff;
            variants.push(b);
        }
        for (i, v) in variants.iter().enumerate() {
            let path = dir.path().join(format!("{kind}-{i}"));
            std::fs::write(&path, v).unwrap();
            let name = path.display().to_string();
            let opened = FileSource::open(&path);
            if let Ok(src) = &opened {
                assert!(src.is_mapped(), "{name} was not mapped");
            }
            let mapped = outcome(opened);
            let streamed = outcome(FileSource::from_reader(
                name.clone(),
                io::Cursor::new(v.clone()),
            ));
            assert_eq!(mapped, streamed, "{name}");
        }
        // The whole file through the map gives every frame.
        let path = dir.path().join(format!("{kind}-whole"));
        std::fs::write(&path, &bytes).unwrap();
        let (got, warning) = outcome(FileSource::open(&path)).unwrap();
        assert_eq!(got, few, "{kind}");
        assert_eq!(warning, None);
    }
}

#[test]
fn an_empty_file_and_a_fifo_are_read_without_a_map() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    let err = FileSource::open(&empty)
        .err()
        .expect("an empty file opened");
    assert!(err.to_string().contains("the file is empty"), "{err}");
    // A FIFO cannot be mapped: it is read with read(2), frame for frame the same.
    let frames = read_path(&lab("05_benign_dns.pcap"));
    let bytes = pcap_bytes(false, false, LinkType::ETHERNET, 65535, &frames);
    let fifo = dir.path().join("fifo.pcap");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let writer = {
        let fifo = fifo.clone();
        let bytes = bytes.clone();
        std::thread::spawn(move || std::fs::write(fifo, bytes).unwrap())
    };
    let mut src = FileSource::open(&fifo).unwrap();
    assert!(!src.is_mapped());
    assert_eq!(read_all(&mut src), frames);
    writer.join().unwrap();
}

#[test]
fn the_map_releases_what_was_read_but_not_what_batches_hold_nor_more_than_max_held() {
    use super::map::{Map, MAX_HELD, RELEASE_STEP};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big");
    let len = MAX_HELD + 16 * RELEASE_STEP;
    std::fs::write(&path, vec![7u8; len]).unwrap();
    let map = Map::of(&std::fs::File::open(&path).unwrap()).expect("a regular file maps");
    let bytes = map.bytes();
    assert_eq!(map.offset_of(&bytes[100..200]), Some(100));
    assert_eq!(map.offset_of(&[1u8, 2, 3][..]), None);
    // Held at 1 MiB: reading far past it releases nothing before it.
    map.hold(RELEASE_STEP / 2);
    map.release_to(4 * RELEASE_STEP);
    assert_eq!(map.released(), 0);
    // Let go: everything before the reader (page-aligned) goes.
    map.hold(usize::MAX);
    map.release_to(4 * RELEASE_STEP + 10);
    assert_eq!(map.released(), 4 * RELEASE_STEP);
    // Held far behind: at most MAX_HELD stays mapped behind the reader.
    map.hold(4 * RELEASE_STEP);
    map.release_to(len);
    assert_eq!(map.released(), len - MAX_HELD);
    // The bytes read after a release are the file's (faulted in again from the page cache).
    assert!(bytes[..len].iter().step_by(4096).all(|b| *b == 7));
}
