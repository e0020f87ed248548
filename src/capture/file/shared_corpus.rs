//! Every capture of the shared corpus read by the capture file reader.

use super::tests::read_all;
use super::*;
use crate::packet::{Decoder, PacketConfig};
use crate::stats::Counters;
use std::path::PathBuf;

/// Every capture of the shared corpus opens (or is refused for its link type), decodes
/// without panic, and has the frame count INDEX.md lists (capinfos -c).
#[test]
fn shared_pcaps_open_and_count_like_capinfos() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/pcaps");
    if !crate::skip::need_shared("shared_pcaps_open_and_count_like_capinfos") {
        return;
    }
    let index =
        std::fs::read_to_string(dir.join("INDEX.md")).expect("the shared corpus has an INDEX.md");
    let mut checked = 0;
    let mut listed = 0;
    let mut refused = Vec::new();
    let c = Counters::default();
    for line in index.lines() {
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        // | path | source | license | category | size B | packets | ...
        let Some(packets) = cols.get(6).and_then(|p| p.parse::<usize>().ok()) else {
            continue;
        };
        if !cols[1].contains('/') {
            continue;
        }
        listed += 1;
        let path = dir.join(cols[1]);
        let mut src = match FileSource::open(&path) {
            Ok(s) => s,
            Err(CaptureError::UnsupportedLink { link, .. }) => {
                assert!(!link.supported());
                refused.push((cols[1].to_string(), link));
                continue;
            }
            Err(e) => panic!("{e}"),
        };
        let mut d = Decoder::new(PacketConfig::default());
        let mut n = 0;
        while let Some(f) = src.next_frame().unwrap() {
            n += 1;
            let _ = d.decode(&f, &c);
        }
        assert_eq!(src.warning(), None, "{}", path.display());
        assert_eq!(
            n + src.skipped_unsupported() as usize,
            packets,
            "{}",
            path.display()
        );
        checked += 1;
    }
    eprintln!("{checked} shared captures read; refused for their link type: {refused:?}; {c:?}");
    // Every capture INDEX.md lists was opened (the corpus grows; the count comes from it).
    assert!(listed >= 153, "INDEX.md lists {listed} captures");
    assert_eq!(checked + refused.len(), listed);
    // tshark -Y '!ip && !ipv6' over the same captures finds 241 frames; none is malformed.
    assert_eq!(c.get(crate::stats::Counter::NonIp), 241);
    assert_eq!(c.get(crate::stats::Counter::MalformedPacket), 0);
    // capinfos: every link type of the corpus is decoded, FDDI included.
    assert_eq!(refused, []);
}

#[test]
fn an_empty_pcap_has_no_frames() {
    let bytes = super::tests::pcap_bytes(false, false, LinkType::ETHERNET, 65535, &[]);
    let mut src = FileSource::from_bytes("empty.pcap", bytes).unwrap();
    assert!(read_all(&mut src).is_empty());
    assert_eq!(src.warning(), None);
}
