//! Text of the wire decoded into strings allocated once at their final size: UTF-16 in either
//! byte order and 8-bit Latin-1 (names, paths and NDR strings are decoded once per record, and a
//! string grown character by character reallocates several times on the way).

/// The UTF-16 code units of `b` (pairs of bytes; an odd trailing byte is ignored).
fn units(b: &[u8], big: bool) -> impl Iterator<Item = u16> + '_ {
    b.chunks_exact(2).map(move |c| {
        if big {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_le_bytes([c[0], c[1]])
        }
    })
}

/// Decodes the UTF-16 of `b` (big- or little-endian), at most `max_chars` characters, an
/// unpaired surrogate as U+FFFD: what `char::decode_utf16(..).take(max_chars)` collects, in a
/// string whose buffer is allocated once at its exact size.
pub fn utf16(b: &[u8], big: bool, max_chars: usize) -> String {
    // ASCII (most names): one byte per unit.
    if units(b, big).take(max_chars).all(|u| u < 0x80) {
        let mut s = String::with_capacity((b.len() / 2).min(max_chars));
        s.extend(units(b, big).take(max_chars).map(|u| char::from(u as u8)));
        return s;
    }
    let chars = || {
        char::decode_utf16(units(b, big))
            .take(max_chars)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
    };
    let mut s = String::with_capacity(chars().map(char::len_utf8).sum());
    s.extend(chars());
    s
}

/// Decodes 8-bit text as Latin-1 (each byte the code point of its value), in a string allocated
/// once at its exact size.
pub fn latin1(b: &[u8]) -> String {
    let high = b.iter().filter(|&&c| c >= 0x80).count();
    let mut s = String::with_capacity(b.len() + high);
    s.extend(b.iter().map(|&c| char::from(c)));
    s
}

/// At most `max_chars` characters of the UTF-8 of `b`, invalid sequences as U+FFFD: what
/// `String::from_utf8_lossy(b).chars().take(max_chars)` collects, copied once.
pub fn utf8_lossy(b: &[u8], max_chars: usize) -> String {
    let s = String::from_utf8_lossy(b);
    match s.char_indices().nth(max_chars) {
        Some((end, _)) => s[..end].to_owned(),
        None => s.into_owned(),
    }
}
