//! Fuzz target: the capture and packet layers. The input is used twice: as the bytes of a
//! capture file read through `FileSource` (every frame it yields is decoded), and as a sequence
//! of frames of every supported link type through one `Decoder` with fragment reassembly (small
//! memory cap and timeout, so the caps and the expiry are reached).
#![no_main]
use dcsensor::capture::file::FileSource;
use dcsensor::capture::{Frame, LinkType};
use dcsensor::packet::{Decoder, PacketConfig};
use dcsensor::stats::Counters;
use libfuzzer_sys::fuzz_target;

const LINKS: [u32; 10] = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276];

fuzz_target!(|data: &[u8]| {
    let counters = Counters::default();
    let config = PacketConfig {
        fragment_timeout: 2_000_000_000,
        fragment_memory: 16 * 1024,
        ..PacketConfig::default()
    };

    // As a capture file.
    if let Ok(mut src) = FileSource::from_bytes("fuzz", data.to_vec()) {
        let mut dec = Decoder::new(config.clone());
        for _ in 0..10_000 {
            match src.next_frame() {
                Ok(Some(f)) => {
                    assert!(f.link.supported());
                    let _ = dec.decode(&f, &counters);
                }
                Ok(None) | Err(_) => break,
            }
        }
        let _ = (src.warning(), src.offset(), src.skipped_unsupported());
    }

    // As frames: [link selector, length, timestamp step] then that many bytes, repeated.
    let mut dec = Decoder::new(config);
    let mut rest = data;
    let mut ts = 0u64;
    while rest.len() >= 3 {
        let link = LinkType(LINKS[rest[0] as usize % LINKS.len()]);
        let len = (rest[1] as usize * 8).min(rest.len() - 3);
        ts += rest[2] as u64 * 100_000_000;
        let frame = &rest[3..3 + len];
        rest = &rest[3 + len..];
        let f = Frame {
            ts,
            link,
            data: frame,
            orig_len: frame.len() as u32 + (ts % 3) as u32,
        };
        if let Some((_, payload)) = dec.decode(&f, &counters) {
            assert!(payload.len() <= 65_535 + frame.len());
        }
        assert!(dec.fragment_memory() <= 16 * 1024);
    }
    dec.flush_fragments(&counters);
    assert_eq!(dec.fragment_memory(), 0);
});
