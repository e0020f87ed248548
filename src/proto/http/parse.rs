//! Pure parsers for HTTP/1.x headers (RFC 9112): request and status lines, header fields, the
//! `NTLM`/`Negotiate` authorization schemes, chunk sizes, and a base64 decoder of our own.

use nom::bytes::complete::{is_not, tag, take_while1};
use nom::character::complete::{digit1, space1};
use nom::IResult;

/// Request methods recognised by [`request_line`] and the content probe (including the RPC over
/// HTTP methods that Outlook and Exchange use with NTLM).
pub const METHODS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"PATCH",
    b"TRACE",
    b"CONNECT",
    b"PROPFIND",
    b"RPC_IN_DATA",
    b"RPC_OUT_DATA",
];

/// The end of the header block in `buf` (the index just past the empty line), searching from
/// `from` (so a growing buffer is not rescanned).
pub fn header_end(buf: &[u8], from: usize) -> Option<usize> {
    let start = from.min(buf.len());
    let mut i = start;
    while let Some(p) = buf
        .get(i..)
        .and_then(|s| s.iter().position(|&b| b == b'\n'))
    {
        let nl = i + p;
        // An empty line: "\n\n" or "\n\r\n".
        match buf.get(nl + 1) {
            Some(b'\n') => return Some(nl + 2),
            Some(b'\r') if buf.get(nl + 2) == Some(&b'\n') => return Some(nl + 3),
            _ => {}
        }
        i = nl + 1;
    }
    None
}

/// The lines of a header block, without their line ends (the empty last line is left out).
pub fn lines(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    block
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
}

/// A request line: the method and the target.
pub fn request_line(line: &[u8]) -> IResult<&[u8], (&[u8], &[u8])> {
    let (i, method) = take_while1(|b: u8| b.is_ascii_uppercase() || b == b'_' || b == b'-')(line)?;
    let (i, _) = space1(i)?;
    let (i, target) = is_not(" ")(i)?;
    let (i, _) = space1(i)?;
    let (i, _) = tag("HTTP/1.")(i)?;
    Ok((i, (method, target)))
}

/// A status line: the status code.
pub fn status_line(line: &[u8]) -> IResult<&[u8], u16> {
    let (i, _) = tag("HTTP/1.")(line)?;
    let (i, _) = take_while1(|b: u8| b.is_ascii_digit())(i)?;
    let (i, _) = space1(i)?;
    let (rest, code) = digit1(i)?;
    if code.len() != 3 {
        return Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Digit,
        )));
    }
    let n = code
        .iter()
        .fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'));
    Ok((rest, n))
}

/// A header field line split into its name and trimmed value; `None` for a line without a colon.
pub fn field(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = line.iter().position(|&b| b == b':')?;
    let (name, value) = line.split_at(colon);
    Some((
        name.trim_ascii(),
        value.get(1..).unwrap_or(&[]).trim_ascii(),
    ))
}

/// The base64 token of an `NTLM` or `Negotiate` credential or challenge (`None` for other
/// schemes and for a bare scheme name without a token).
pub fn auth_token(value: &[u8]) -> Option<&[u8]> {
    let sp = value.iter().position(|&b| b == b' ')?;
    let (scheme, rest) = value.split_at(sp);
    if !(scheme.eq_ignore_ascii_case(b"NTLM") || scheme.eq_ignore_ascii_case(b"Negotiate")) {
        return None;
    }
    let token = rest.trim_ascii();
    (!token.is_empty()).then_some(token)
}

/// Parses a decimal Content-Length.
pub fn content_length(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        value
            .iter()
            .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0')),
    )
}

/// Parses a chunk-size line (hex digits, optional `;extensions`).
pub fn chunk_size(line: &[u8]) -> Option<u64> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let digits = line
        .split(|&b| b == b';')
        .next()
        .unwrap_or(&[])
        .trim_ascii();
    if digits.is_empty() || digits.len() > 15 {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &d| {
        Some(acc * 16 + u64::from(char::from(d).to_digit(16)?))
    })
}

/// Decodes standard base64 (padding optional); `None` for an invalid character or when the result
/// would exceed `cap` bytes.
pub fn base64(s: &[u8], cap: usize) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let s = match s.iter().position(|&c| c == b'=') {
        Some(p) if s[p..].iter().all(|&c| c == b'=') && s.len() - p <= 2 => &s[..p],
        Some(_) => return None,
        None => s,
    };
    if s.len() % 4 == 1 || s.len() / 4 * 3 > cap {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3 + 2);
    for quad in s.chunks(4) {
        let mut acc = 0u32;
        for &c in quad {
            acc = (acc << 6) | val(c)?;
        }
        match quad.len() {
            4 => out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]),
            3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
            2 => out.push((acc >> 4) as u8),
            _ => return None,
        }
    }
    (out.len() <= cap).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_fields() {
        let block =
            b"GET /ews/ HTTP/1.1\r\nHost: mail\r\nAuthorization: NTLM TlRMTVNTUAABAAAA\r\n\r\n";
        assert_eq!(header_end(block, 0), Some(block.len()));
        assert_eq!(header_end(&block[..block.len() - 1], 0), None);
        assert_eq!(header_end(b"GET / HTTP/1.0\n\nrest", 5), Some(16));
        let ls: Vec<&[u8]> = lines(block).collect();
        assert_eq!(ls.len(), 3);
        assert_eq!(request_line(ls[0]).unwrap().1, (&b"GET"[..], &b"/ews/"[..]));
        assert_eq!(
            field(ls[2]),
            Some((&b"Authorization"[..], &b"NTLM TlRMTVNTUAABAAAA"[..]))
        );
        assert_eq!(
            auth_token(b"NTLM TlRMTVNTUAABAAAA"),
            Some(&b"TlRMTVNTUAABAAAA"[..])
        );
        assert_eq!(auth_token(b"negotiate  YIIH"), Some(&b"YIIH"[..]));
        assert_eq!(auth_token(b"Negotiate"), None);
        assert_eq!(auth_token(b"Basic YWxpY2U6eA=="), None);
        assert_eq!(status_line(b"HTTP/1.1 401 Unauthorized").unwrap().1, 401);
        assert!(status_line(b"HTTP/1.1 4011 x").is_err());
        assert!(request_line(b"get / HTTP/1.1").is_err());
    }

    #[test]
    fn base64_decodes_and_rejects() {
        assert_eq!(
            base64(b"TlRMTVNTUAABAAAA", 64).unwrap(),
            b"NTLMSSP\0\x01\0\0\0"
        );
        assert_eq!(base64(b"YWI=", 64).unwrap(), b"ab");
        assert_eq!(base64(b"YWI", 64).unwrap(), b"ab");
        assert_eq!(base64(b"YQ==", 64).unwrap(), b"a");
        assert_eq!(base64(b"Y", 64), None);
        assert_eq!(base64(b"YW=I", 64), None);
        assert_eq!(base64(b"YW*I", 64), None);
        assert_eq!(base64(b"TlRMTVNTUAABAAAA", 8), None);
        assert_eq!(base64(b"", 8).unwrap(), b"");
    }

    #[test]
    fn lengths() {
        assert_eq!(content_length(b"1234"), Some(1234));
        assert_eq!(content_length(b"-1"), None);
        assert_eq!(content_length(b"99999999999999999999"), None);
        assert_eq!(chunk_size(b"1a;ext=1\r"), Some(26));
        assert_eq!(chunk_size(b"0"), Some(0));
        assert_eq!(chunk_size(b"zz"), None);
        assert_eq!(chunk_size(b"ffffffffffffffff"), None);
    }
}
