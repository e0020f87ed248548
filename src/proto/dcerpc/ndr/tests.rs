//! Tests of the NDR reader: both byte orders, NDR64, alignment, and hostile input (lengths
//! past the stub, counts that disagree, pointer ids repeated, truncation at every byte).

use super::*;

/// A little-endian NDR conformant varying UTF-16 string.
fn le_string(s: &str) -> Vec<u8> {
    let units: Vec<u16> = s.encode_utf16().chain([0]).collect();
    let n = units.len() as u32;
    let mut v = Vec::new();
    for x in [n, 0, n] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    for u in units {
        v.extend_from_slice(&u.to_le_bytes());
    }
    v
}

#[test]
fn strings_in_both_byte_orders_and_ndr64() {
    let le = le_string("\\\\10.0.0.9\\x");
    assert_eq!(
        Ndr::new(&le, false, false).string(true).as_deref(),
        Some("\\\\10.0.0.9\\x")
    );
    // The same string big-endian: every count and unit swapped.
    let mut be = Vec::new();
    for c in le[..12].chunks(4) {
        be.extend(c.iter().rev());
    }
    for c in le[12..].chunks(2) {
        be.extend(c.iter().rev());
    }
    assert_eq!(
        Ndr::new(&be, true, false).string(true).as_deref(),
        Some("\\\\10.0.0.9\\x")
    );
    // NDR64: 64-bit counts and pointers.
    let mut n64 = Vec::new();
    n64.extend_from_slice(&0x20000u64.to_le_bytes());
    for x in [3u64, 0, 3] {
        n64.extend_from_slice(&x.to_le_bytes());
    }
    n64.extend_from_slice(&[b'a', 0, b'b', 0, 0, 0]);
    let mut r = Ndr::new(&n64, false, true);
    assert_eq!(r.unique_string(true), Some(Some("ab".to_string())));
    assert_eq!(r.remaining(), 0);
}

#[test]
fn hostile_lengths_are_refused_without_reading_past_the_stub() {
    // Actual count larger than the maximum.
    let mut v = le_string("abc");
    v[8] = 9;
    assert_eq!(Ndr::new(&v, false, false).string(true), None);
    // A count of 2^31 characters in a 20-byte stub: refused before any allocation.
    let mut v = le_string("abc");
    v[..4].copy_from_slice(&0x8000_0000u32.to_le_bytes());
    v[8..12].copy_from_slice(&0x8000_0000u32.to_le_bytes());
    assert_eq!(Ndr::new(&v, false, false).string(true), None);
    // u32::MAX everywhere, and an NDR64 count near u64::MAX.
    let v = [0xffu8; 24];
    assert_eq!(Ndr::new(&v, false, false).string(true), None);
    assert_eq!(Ndr::new(&v, false, true).string(true), None);
    assert_eq!(Ndr::new(&v, false, true).utf16(usize::MAX), None);
    // Every truncation of a valid string fails cleanly.
    let v = le_string("truncated");
    for cut in 0..v.len() {
        assert_eq!(
            Ndr::new(&v[..cut], false, false).string(true),
            None,
            "{cut}"
        );
    }
    // Alignment never moves past the end.
    let mut r = Ndr::new(&[1, 2, 3], false, false);
    r.u8().unwrap();
    assert_eq!(r.u32(), None);
    assert_eq!(r.align(8), None);
    // A SID claiming more sub-authorities than it carries, or than a SID may hold.
    let sid = [2u8, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0];
    assert_eq!(Ndr::new(&sid, false, false).sid(), None);
    let sid = [16u8, 0, 0, 0, 1, 16, 0, 0, 0, 0, 0, 5];
    assert_eq!(Ndr::new(&sid, false, false).sid(), None);
}

#[test]
fn full_pointers_seen_twice_have_one_referent_and_ids_are_capped() {
    // Three full pointers naming ids 1, 2 and 1 again: the third has no referent of its own.
    let mut v = Vec::new();
    for id in [1u32, 2, 1] {
        v.extend_from_slice(&id.to_le_bytes());
    }
    let mut r = Ndr::new(&v, false, false);
    assert_eq!(r.full(), Some(true));
    assert_eq!(r.full(), Some(true));
    assert_eq!(r.full(), Some(false));
    // A stub of nothing but distinct full pointers stops at the cap instead of growing.
    let v: Vec<u8> = (1..=4096u32).flat_map(|i| i.to_le_bytes()).collect();
    let mut r = Ndr::new(&v, false, false);
    let mut n = 0;
    while let Some(true) = r.full() {
        n += 1;
    }
    assert_eq!(n, MAX_REFERENTS);
    // A pointer loop by ids (a list whose next pointer names itself) cannot make a reader
    // go round: each read moves forward, and the stub ends.
    let v: Vec<u8> = [7u32; 64].iter().flat_map(|i| i.to_le_bytes()).collect();
    let mut r = Ndr::new(&v, false, false);
    let mut reads = 0;
    while r.full().is_some() {
        reads += 1;
    }
    assert_eq!(reads, 64);
}

#[test]
fn guids_sids_and_unicode_strings() {
    let g = [
        0x35, 0x42, 0x51, 0xe3, 0x06, 0x4b, 0xd1, 0x11, 0xab, 0x04, 0x00, 0xc0, 0x4f, 0xc2, 0xdc,
        0xd2,
    ];
    assert_eq!(
        Ndr::new(&g, false, false).guid().as_deref(),
        Some("e3514235-4b06-11d1-ab04-00c04fc2dcd2")
    );
    let mut sid = vec![4u8, 0, 0, 0, 1, 4, 0, 0, 0, 0, 0, 5];
    for x in [21u32, 1, 2, 512] {
        sid.extend_from_slice(&x.to_le_bytes());
    }
    assert_eq!(
        Ndr::new(&sid, false, false).sid().as_deref(),
        Some("S-1-5-21-1-2-512")
    );
    // RPC_UNICODE_STRING: Length 4, MaximumLength 4, pointer, then the deferred buffer.
    let mut v = vec![4, 0, 4, 0, 0, 0, 2, 0];
    for x in [2u32, 0, 2] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.extend_from_slice(&[b'o', 0, b'k', 0]);
    assert_eq!(
        Ndr::new(&v, false, false).unicode_string(),
        Some(Some("ok".into()))
    );
    // An odd byte length is not UTF-16.
    v[0] = 3;
    assert_eq!(Ndr::new(&v, false, false).unicode_string(), None);
}

/// Random stubs that sometimes hold a plausible string: counts small or huge, agreeing or not,
/// both widths, cut anywhere.
fn random_stubs() -> Vec<Vec<u8>> {
    let mut next = crate::base::xorshift(0x9e37_79b9_7f4a_7c15);
    let mut out = vec![le_string("abc"), le_string(""), le_string("é€𝄞x")];
    for _ in 0..3000 {
        let mut v = Vec::new();
        if next() % 2 == 0 {
            v.extend_from_slice(&((next() % 3) as u32).to_le_bytes()); // a unique pointer id
        }
        let n = (next() % 12) as u32;
        let counts = match next() % 4 {
            0 => [n, 0, n],
            1 => [n, (next() % 3) as u32, (next() % 14) as u32],
            2 => [next() as u32, next() as u32, next() as u32],
            _ => [n, n + 1, n],
        };
        for c in counts {
            v.extend_from_slice(&c.to_le_bytes());
        }
        for _ in 0..next() % 30 {
            v.push(next() as u8);
        }
        v.truncate((next() as usize) % (v.len() + 1) + if next() % 2 == 0 { v.len() } else { 0 });
        out.push(v);
    }
    out
}

#[test]
fn skipping_a_string_moves_and_fails_as_reading_it() {
    // What a decoder passes over without recording must be refused and consumed exactly as the
    // read it replaces: same `None`, same position after, in both byte orders and NDR64.
    for v in random_stubs() {
        for (big, ndr64) in [(false, false), (true, false), (false, true)] {
            for wide in [true, false] {
                let mut a = Ndr::new(&v, big, ndr64);
                let mut b = Ndr::new(&v, big, ndr64);
                assert_eq!(a.string(wide).map(|_| ()), b.skip_string(wide), "{v:?}");
                assert_eq!(a.remaining(), b.remaining(), "{v:?}");
                let mut a = Ndr::new(&v, big, ndr64);
                let mut b = Ndr::new(&v, big, ndr64);
                assert_eq!(
                    a.unique_string(wide).map(|_| ()),
                    b.skip_unique_string(wide),
                    "{v:?}"
                );
                assert_eq!(a.remaining(), b.remaining(), "{v:?}");
            }
            for n in [0, 1, 3, 7, v.len() / 2, usize::MAX / 2 + 1, usize::MAX] {
                let mut a = Ndr::new(&v, big, ndr64);
                let mut b = Ndr::new(&v, big, ndr64);
                assert_eq!(a.utf16(n).map(|_| ()), b.skip_utf16(n), "{v:?} {n}");
                assert_eq!(a.remaining(), b.remaining(), "{v:?} {n}");
            }
            for start in 0..v.len().min(4) {
                let mut a = Ndr::new(&v, big, ndr64);
                let mut b = Ndr::new(&v, big, ndr64);
                a.skip(start).unwrap();
                b.skip(start).unwrap();
                assert_eq!(a.guid().map(|_| ()), b.skip_guid(), "{v:?}");
                assert_eq!(a.remaining(), b.remaining(), "{v:?}");
            }
        }
    }
}

#[test]
fn guids_and_sids_are_written_as_format_writes_them() {
    // The text is built by hand into one string: the same as the formatting macros give, in
    // both byte orders, for random values (hex digits past 9, leading zeros, every width).
    let mut next = crate::base::xorshift(0xdead_beef_cafe_f00d);
    for _ in 0..2000 {
        let v: Vec<u8> = (0..16).map(|_| next() as u8).collect();
        for big in [false, true] {
            let mut r = Ndr::new(&v, big, false);
            let a = r.u32().unwrap();
            let b = r.u16().unwrap();
            let c = r.u16().unwrap();
            let d = &v[8..];
            let want = format!(
                "{a:08x}-{b:04x}-{c:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
                d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]
            );
            let got = Ndr::new(&v, big, false).guid().unwrap();
            assert_eq!(got, want);
            assert_eq!(got.capacity(), 36);
        }
        let count = (next() % 16) as u8;
        let revision = next() as u8;
        let auth: Vec<u8> = (0..6).map(|_| next() as u8).collect();
        let subs: Vec<u32> = (0..count).map(|_| next() as u32 >> (next() % 32)).collect();
        let mut sid = u32::from(count).to_le_bytes().to_vec();
        sid.push(revision);
        sid.push(count);
        sid.extend_from_slice(&auth);
        for s in &subs {
            sid.extend_from_slice(&s.to_le_bytes());
        }
        let ia = auth.iter().fold(0u64, |v, &x| (v << 8) | u64::from(x));
        let mut want = format!("S-{revision}-{ia}");
        for s in &subs {
            want.push_str(&format!("-{s}"));
        }
        let got = Ndr::new(&sid, false, false).sid().unwrap();
        assert_eq!(got, want);
        assert_eq!(
            got.capacity(),
            22 + 11 * usize::from(count),
            "allocated once"
        );
        // Cut before its last sub-authority: refused, as before.
        if count > 0 {
            assert_eq!(Ndr::new(&sid[..sid.len() - 1], false, false).sid(), None);
        }
    }
}
