//! An LDAP search filter (RFC 4511 4.5.1.7, BER) written as its RFC 4515 string:
//! `(&(objectCategory=person)(servicePrincipalName=*))`.
//!
//! The filter is walked with an explicit stack, never by recursion, so a filter nested ten
//! thousand levels deep costs a stack of elements on the heap, not the thread's stack; the walk
//! stops as soon as the string reaches [`MAX_FILTER`] bytes (it then ends with `...`). Values are
//! escaped as RFC 4515 3 says (`*`, `(`, `)`, `\` and NUL as `\2a`, `\28`, `\29`, `\5c`, `\00`);
//! a binary value (not UTF-8, or with control characters: an objectSid) is written octet by
//! octet as `\XX`, so the string is always printable.

use crate::proto::kit::ber::{elements, tlv, Tlv};
use std::fmt::Write;

/// Longest filter string kept, in bytes (a longer one is cut and ends with `...`).
pub const MAX_FILTER: usize = 4096;

/// What is left to write.
enum Work<'a> {
    /// A filter element.
    Filter(Tlv<'a>),
    /// The `)` closing an and, or or not.
    Close,
}

/// Why a filter could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// Writes the filter element `f` as its RFC 4515 string, at most [`MAX_FILTER`] bytes.
pub fn render(f: Tlv<'_>) -> Result<String, Malformed> {
    let mut out = String::new();
    let mut stack = vec![Work::Filter(f)];
    while let Some(w) = stack.pop() {
        if out.len() >= MAX_FILTER {
            cut(&mut out);
            return Ok(out);
        }
        let f = match w {
            Work::Close => {
                out.push(')');
                continue;
            }
            Work::Filter(f) => f,
        };
        match f.tag {
            // and, or: a SET OF Filter; not: one Filter.
            0xa0..=0xa2 => {
                out.push('(');
                out.push(match f.tag {
                    0xa0 => '&',
                    0xa1 => '|',
                    _ => '!',
                });
                stack.push(Work::Close);
                let start = stack.len();
                let mut items = elements(f.value);
                // Each child writes at least 3 bytes: more than this many cannot show.
                stack.extend(items.by_ref().take(MAX_FILTER / 2).map(Work::Filter));
                if items.bad || (f.tag == 0xa2 && stack.len() - start != 1) {
                    return Err(Malformed);
                }
                stack[start..].reverse();
            }
            // equalityMatch, greaterOrEqual, lessOrEqual, approxMatch: an AttributeValueAssertion.
            0xa3 | 0xa5 | 0xa6 | 0xa8 => {
                let (rest, attr) = octets(f.value)?;
                let (_, value) = octets(rest)?;
                out.push('(');
                escape(&mut out, attr);
                out.push_str(match f.tag {
                    0xa3 => "=",
                    0xa5 => ">=",
                    0xa6 => "<=",
                    _ => "~=",
                });
                escape(&mut out, value);
                out.push(')');
            }
            // substrings: type, then initial [0], any [1], final [2] pieces.
            0xa4 => {
                let (rest, attr) = octets(f.value)?;
                let (_, seq) = tlv(rest).map_err(|_| Malformed)?;
                if seq.tag != 0x30 {
                    return Err(Malformed);
                }
                out.push('(');
                escape(&mut out, attr);
                out.push('=');
                let mut pieces = elements(seq.value);
                let mut last = None;
                for (n, p) in pieces.by_ref().enumerate() {
                    match p.tag {
                        0x80 if n == 0 => {}
                        0x81 | 0x82 if n == 0 => out.push('*'),
                        0x81 | 0x82 => {}
                        _ => return Err(Malformed),
                    }
                    escape(&mut out, p.value);
                    if p.tag != 0x82 {
                        out.push('*');
                    }
                    last = Some(p.tag);
                    if out.len() >= MAX_FILTER {
                        break;
                    }
                }
                if pieces.bad || last.is_none() {
                    return Err(Malformed);
                }
                out.push(')');
            }
            // present: an AttributeDescription.
            0x87 => {
                out.push('(');
                escape(&mut out, f.value);
                out.push_str("=*)");
            }
            // extensibleMatch: [1] matchingRule, [2] type, [3] matchValue, [4] dnAttributes.
            0xa9 => {
                let (mut rule, mut ty, mut value, mut dn) = (None, None, None, false);
                let mut parts = elements(f.value);
                for p in parts.by_ref() {
                    match p.tag {
                        0x81 => rule = Some(p.value),
                        0x82 => ty = Some(p.value),
                        0x83 => value = Some(p.value),
                        0x84 => dn = p.value.first().is_some_and(|&b| b != 0),
                        _ => return Err(Malformed),
                    }
                }
                let Some(value) = value.filter(|_| !parts.bad) else {
                    return Err(Malformed);
                };
                out.push('(');
                if let Some(t) = ty {
                    escape(&mut out, t);
                }
                if dn {
                    out.push_str(":dn");
                }
                if let Some(r) = rule {
                    out.push(':');
                    escape(&mut out, r);
                }
                out.push_str(":=");
                escape(&mut out, value);
                out.push(')');
            }
            _ => return Err(Malformed),
        }
    }
    if out.len() > MAX_FILTER {
        cut(&mut out);
    }
    Ok(out)
}

/// An OCTET STRING at the start of `v`: its content and what follows.
fn octets(v: &[u8]) -> Result<(&[u8], &[u8]), Malformed> {
    match tlv(v) {
        Ok((rest, t)) if t.tag == 0x04 => Ok((rest, t.value)),
        _ => Err(Malformed),
    }
}

/// Cuts `out` to [`MAX_FILTER`] bytes ending with `...`, on a character boundary.
fn cut(out: &mut String) {
    let mut end = MAX_FILTER - 3;
    while !out.is_char_boundary(end) {
        end -= 1;
    }
    out.truncate(end);
    out.push_str("...");
}

/// Appends `v` escaped as RFC 4515 3 says. A value that is not UTF-8 text, or holds control
/// characters (a binary objectSid or objectGUID), is written as `\XX` per octet, the form tools
/// and people use for binary values. Stops once `out` is past [`MAX_FILTER`].
fn escape(out: &mut String, v: &[u8]) {
    let text = std::str::from_utf8(v)
        .ok()
        .filter(|s| !s.chars().any(|c| c.is_control() && c != '\0'));
    let Some(text) = text else {
        for b in v {
            if out.len() >= MAX_FILTER + 4 {
                return;
            }
            let _ = write!(out, "\\{b:02x}");
        }
        return;
    };
    for c in text.chars() {
        if out.len() >= MAX_FILTER + 4 {
            return;
        }
        match c {
            '*' | '(' | ')' | '\\' | '\0' => {
                let _ = write!(out, "\\{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
