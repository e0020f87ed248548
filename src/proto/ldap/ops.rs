//! LDAP operations and their answers, for TCP connections and CLDAP conversations alike: each
//! request waits in the kit's transaction table ([`Txns`], keyed by messageID, capped at
//! `max_pending` with the oldest emitted alone, timed out by packet time) for its answer, and
//! becomes one `ldap` record with its result, `rtt` and, for a search, the number of entries
//! returned. The table's evictions and timeouts reach `stats` (`requests_evicted`,
//! `requests_timed_out`).
//!
//! Binds also carry authentication: their NTLM or Kerberos tokens go to
//! [`crate::proto::gssapi::inspect`] (carrier `ldap`), the bind's result is the verdict.

use super::filter;
use super::parse::{self, tag, Auth, Message, Op};
use crate::proto::kit::txn::{Txn, Txns};
use crate::proto::ntlm::NtlmAuth;
use crate::proto::{Ctx, Dir};
use crate::record::{Body, Carrier, Code, Ldap, Ts};
use crate::stats::Counter;

/// Longest SASL mechanism name kept.
const MAX_MECHANISM: usize = 64;
/// Longest DN or bind name kept (characters).
const MAX_NAME: usize = 1024;
/// Attributes of a search kept.
pub const MAX_ATTRIBUTES: usize = 64;
/// Longest attribute name kept (characters).
const MAX_ATTRIBUTE: usize = 128;
/// Entries of `changes` kept per modify or add.
pub const MAX_CHANGES: usize = 64;
/// Values shown per change (for the attributes whose values are shown).
const MAX_VALUES: usize = 16;
/// Longest value shown (characters).
const MAX_VALUE: usize = 1024;

/// The attributes whose values a change shows (RECORDS.md); any other attribute, secrets
/// (`unicodePwd`, `userPassword`, `supplementalCredentials`, ...) included, shows its name only.
const SHOWN: &[&str] = &[
    "member",
    "servicePrincipalName",
    "userAccountControl",
    "msDS-AllowedToDelegateTo",
    "gPCFileSysPath",
];
/// The attribute whose value is shown as its length in bytes (a security descriptor).
const SHOWN_AS_LENGTH: &str = "msDS-AllowedToActOnBehalfOfOtherIdentity";

/// An operation waiting for its answer (its messageID is the table's key, its time the
/// table's `since`).
#[derive(Debug)]
struct Pending {
    rec: Ldap,
    /// SearchResultEntry messages seen so far.
    entries: u64,
}

/// What an answer did that the transport must know about.
#[derive(Debug, PartialEq)]
pub enum Answer {
    /// Nothing special.
    Plain,
    /// A SASL or sicily bind succeeded, or StartTLS was accepted: the stream may turn into
    /// wrapped or TLS bytes. The record is handed back (not emitted) so that the transport can
    /// say whether it did.
    MayWrap(Ts, Box<Ldap>),
}

/// The operations in flight on one connection or conversation.
#[derive(Debug, Default)]
pub struct Ops {
    pending: Txns<i64, Pending>,
    pub auth: NtlmAuth,
}

/// Text from the wire: lossy UTF-8, at most `cap` characters, absent when empty.
pub fn text(b: &[u8], cap: usize) -> Option<String> {
    if b.is_empty() {
        return None;
    }
    // The same characters as collecting `from_utf8_lossy(b).chars().take(cap)`, copied once
    // at their size instead of grown character by character.
    Some(crate::proto::kit::text::utf8_lossy(b, cap))
}

impl Ops {
    /// Bytes held by the operations in flight (approximately), for memory accounting.
    pub fn held(&self) -> usize {
        self.pending
            .iter()
            .map(|t| {
                let r = &t.value.rec;
                std::mem::size_of::<Pending>()
                    + r.filter.as_ref().map_or(0, String::len)
                    + r.attributes.iter().map(String::len).sum::<usize>()
                    + r.changes.iter().map(String::len).sum::<usize>()
                    + r.base.as_ref().map_or(0, String::len)
                    + r.dn.as_ref().map_or(0, String::len)
                    + r.name.as_ref().map_or(0, String::len)
            })
            .sum()
    }

    fn emit(cx: &mut Ctx<'_>, t: Txn<i64, Pending>, result: Option<i64>) {
        let mut rec = t.value.rec;
        Self::finish(cx.now, t.since, &mut rec, t.value.entries, result);
        cx.emit(t.since, Body::Ldap(rec));
    }

    fn finish(now: Ts, ts: Ts, rec: &mut Ldap, entries: u64, result: Option<i64>) {
        let success = |r: i64| match rec.op {
            "compare" => r == 0 || r == 5 || r == 6,
            _ => r == 0,
        };
        rec.success = result.filter(|&r| r != 14).map(success);
        rec.result = result.map(|r| Code::new(r, parse::result_name(r)));
        rec.rtt = result.map(|_| now.saturating_sub(ts));
        if rec.op == "search" && (result.is_some() || entries > 0) {
            rec.entries = Some(entries);
        }
    }

    /// Starts waiting for the answer to `id`; a request reusing an id still waiting, or one
    /// over the cap (the oldest), is emitted without an answer.
    fn wait(&mut self, cx: &mut Ctx<'_>, id: i64, rec: Ldap) {
        if let Some(t) = self.pending.take(&id) {
            Self::emit(cx, t, None);
        }
        self.pending.set_cap(cx.config.max_pending);
        if let Some(t) = self.pending.insert(cx.now, id, Pending { rec, entries: 0 }) {
            Self::emit(cx, t, None);
        }
    }

    /// One decoded message.
    pub fn message(&mut self, cx: &mut Ctx<'_>, dir: Dir, m: Message<'_>) -> Answer {
        match (dir, m.op) {
            (Dir::ToServer, Op::BindRequest { name, auth }) => {
                let (kind, mechanism) = match auth {
                    Auth::Simple => ("simple", None),
                    Auth::Other(_) => ("other", None),
                    Auth::Sasl {
                        mechanism,
                        credentials,
                    } => {
                        if let Some(c) = credentials.filter(|c| !c.is_empty()) {
                            crate::proto::gssapi::inspect(cx, Carrier::Ldap, c, &mut self.auth);
                        }
                        ("sasl", text(mechanism, MAX_MECHANISM))
                    }
                    Auth::SicilyDiscovery => ("sicily", None),
                    Auth::SicilyNegotiate(t) | Auth::SicilyResponse(t) => {
                        crate::proto::gssapi::inspect(cx, Carrier::Ldap, t, &mut self.auth);
                        ("sicily", None)
                    }
                };
                let rec = Ldap {
                    op: "bind",
                    bind: Some(kind),
                    mechanism,
                    name: text(name, MAX_NAME),
                    ..Default::default()
                };
                self.wait(cx, m.id, rec);
            }
            (
                Dir::ToClient,
                Op::BindResponse {
                    result,
                    matched_dn,
                    sasl_creds,
                },
            ) => {
                if result != 14 && self.auth.pending() {
                    self.auth.verdict(
                        cx,
                        result == 0,
                        Code::new(result, parse::result_name(result)),
                    );
                }
                if matched_dn.starts_with(crate::proto::ntlm::parse::SIGNATURE) {
                    // Sicily: the CHALLENGE travels in matchedDN.
                    self.auth.message(cx, Carrier::Ldap, matched_dn);
                }
                if let Some(c) = sasl_creds.filter(|c| !c.is_empty()) {
                    crate::proto::gssapi::inspect(cx, Carrier::Ldap, c, &mut self.auth);
                }
                return self.answer(cx, m.id, result, |r| r.bind != Some("simple"));
            }
            (Dir::ToServer, Op::SearchRequest(s)) => {
                let filter = match filter::render(s.filter) {
                    Ok(f) => Some(f),
                    Err(filter::Malformed) => {
                        cx.count(Counter::MalformedLdap);
                        None
                    }
                };
                let attributes = parse_attributes(s.attributes);
                let rec = Ldap {
                    op: "search",
                    base: text(s.base, MAX_NAME),
                    scope: Some(Code::new(s.scope, parse::scope_name(s.scope))),
                    filter,
                    attributes,
                    size_limit: (s.size_limit != 0).then_some(s.size_limit),
                    ..Default::default()
                };
                self.wait(cx, m.id, rec);
            }
            (Dir::ToServer, Op::ModifyRequest { dn, changes }) => {
                let mut out = Vec::new();
                for c in parse::elements_of(changes) {
                    let Some((op, attr)) = parse::change(c.value) else {
                        cx.count(Counter::MalformedLdap);
                        break;
                    };
                    let op = parse::change_name(op).unwrap_or("unknown");
                    if !describe(&mut out, op, attr) {
                        cx.count(Counter::MalformedLdap);
                        break;
                    }
                }
                self.dn_op(cx, m.id, "modify", dn, out);
            }
            (Dir::ToServer, Op::AddRequest { dn, attributes }) => {
                let mut out = Vec::new();
                for a in parse::elements_of(attributes) {
                    if !describe(&mut out, "add", a.value) {
                        cx.count(Counter::MalformedLdap);
                        break;
                    }
                }
                self.dn_op(cx, m.id, "add", dn, out);
            }
            (Dir::ToServer, Op::DelRequest { dn }) => self.dn_op(cx, m.id, "delete", dn, vec![]),
            (Dir::ToServer, Op::ModDnRequest { dn }) => {
                self.dn_op(cx, m.id, "modify_dn", dn, vec![])
            }
            (Dir::ToServer, Op::CompareRequest { dn }) => {
                self.dn_op(cx, m.id, "compare", dn, vec![])
            }
            (Dir::ToServer, Op::ExtendedRequest { name }) => {
                let rec = Ldap {
                    op: "extended",
                    oid: text(name, MAX_ATTRIBUTE),
                    ..Default::default()
                };
                self.wait(cx, m.id, rec);
            }
            (Dir::ToClient, Op::SearchEntry) => self.entry_skipped(m.id),
            (Dir::ToClient, Op::Result { op, result }) => {
                let starttls = op == tag::EXTENDED_RESPONSE;
                return self.answer(cx, m.id, result, |r| {
                    starttls && r.oid.as_deref().map(str::as_bytes) == Some(parse::OID_STARTTLS)
                });
            }
            _ => {}
        }
        Answer::Plain
    }

    /// A SearchResultEntry (read, or too large to buffer): counted for the search `id`.
    pub fn entry_skipped(&mut self, id: i64) {
        if let Some(t) = self.pending.get_mut(&id) {
            t.value.entries += 1;
        }
    }

    fn dn_op(&mut self, cx: &mut Ctx<'_>, id: i64, op: &'static str, dn: &[u8], c: Vec<String>) {
        let rec = Ldap {
            op,
            dn: text(dn, MAX_NAME),
            changes: c,
            ..Default::default()
        };
        self.wait(cx, id, rec);
    }

    /// The final answer to `id`: emits its record, or, when it succeeded and `wraps` says the
    /// stream may turn into wrapped bytes, hands it back.
    fn answer(
        &mut self,
        cx: &mut Ctx<'_>,
        id: i64,
        result: i64,
        wraps: impl Fn(&Ldap) -> bool,
    ) -> Answer {
        let Some(t) = self.pending.take(&id) else {
            return Answer::Plain;
        };
        if result == 0 && wraps(&t.value.rec) {
            let mut rec = t.value.rec;
            Self::finish(cx.now, t.since, &mut rec, t.value.entries, Some(result));
            return Answer::MayWrap(t.since, Box::new(rec));
        }
        Self::emit(cx, t, Some(result));
        Answer::Plain
    }

    /// Whether an operation waits for its answer (something [`Ops::tick`] may time out).
    pub fn waiting(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Emits what waited the request timeout or longer (`now - since >= request_timeout`).
    pub fn tick(&mut self, cx: &mut Ctx<'_>) {
        for t in self.pending.expire(cx.now, cx.config.request_timeout) {
            Self::emit(cx, t, None);
        }
        self.pending.report(cx.counters);
    }

    /// Emits everything in flight (the connection ended), in the order of their requests'
    /// packet times.
    pub fn close(&mut self, cx: &mut Ctx<'_>) {
        let mut all: Vec<_> = self.pending.drain().collect();
        all.sort_by_key(|t| t.since);
        for t in all {
            Self::emit(cx, t, None);
        }
        self.pending.report(cx.counters);
        self.auth.flush(cx);
    }
}

/// The attribute names of a search's AttributeSelection, at most [`MAX_ATTRIBUTES`].
fn parse_attributes(v: &[u8]) -> Vec<String> {
    // The names (an empty one is none): counted first, so that the list is allocated once.
    let names = || {
        parse::elements_of(v)
            .filter(|a| a.tag == 0x04)
            .filter_map(|a| text(a.value, MAX_ATTRIBUTE))
    };
    let n = parse::elements_of(v)
        .filter(|a| a.tag == 0x04 && !a.value.is_empty())
        .take(MAX_ATTRIBUTES)
        .count();
    let mut out = Vec::with_capacity(n);
    out.extend(names().take(MAX_ATTRIBUTES));
    out
}

/// Appends the `changes` entries of one PartialAttribute (`type`, `vals`) under `op`: `op type`,
/// or `op type value` per value for the attributes in [`SHOWN`] (the length in bytes for
/// [`SHOWN_AS_LENGTH`]). Returns false when the attribute is malformed.
fn describe(out: &mut Vec<String>, op: &str, attr: &[u8]) -> bool {
    let Some((ty, vals)) = parse::partial_attribute(attr) else {
        return false;
    };
    if out.len() >= MAX_CHANGES {
        return true;
    }
    let ty = text(ty, MAX_ATTRIBUTE).unwrap_or_default();
    let as_length = ty.eq_ignore_ascii_case(SHOWN_AS_LENGTH);
    let shown = as_length || SHOWN.iter().any(|s| s.eq_ignore_ascii_case(&ty));
    let mut any = false;
    if shown {
        for v in parse::elements_of(vals).take(MAX_VALUES) {
            if out.len() >= MAX_CHANGES {
                return true;
            }
            let value = if as_length {
                v.value.len().to_string()
            } else {
                text(v.value, MAX_VALUE).unwrap_or_default()
            };
            if !value.is_empty() {
                out.push(format!("{op} {ty} {value}"));
                any = true;
            }
        }
    }
    if !any {
        out.push(format!("{op} {ty}"));
    }
    true
}

/// Tests of the text and attribute lists the operations keep: what they were before, allocated
/// once.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_the_lossy_text_cut_and_allocated_once() {
        // What collecting `from_utf8_lossy(b).chars().take(cap)` gives, for random bytes
        // (invalid sequences, multibyte characters cut by the cap), at its exact size.
        for (t, cap) in [
            ("sAMAccountName", 128),
            ("CN=Domain Admins,CN=Users,DC=corp,DC=local", 1024),
            ("é€𝄞 and more text", 5),
            ("x", 0),
        ] {
            let got = text(t.as_bytes(), cap).unwrap();
            assert_eq!(got, t.chars().take(cap).collect::<String>());
            assert_eq!(got.capacity(), got.len(), "{t}");
        }
        let mut x = 0x1234_5678_9abc_def0u64;
        let multi = [0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80];
        for round in 0..3000 {
            let b: Vec<u8> = (0..round % 40)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    match x % 4 {
                        0 => (x >> 8) as u8,
                        1 => b'a' + (x % 26) as u8,
                        2 => multi[(x >> 16) as usize % multi.len()],
                        _ => 0x80 | ((x >> 24) as u8 & 0x3f),
                    }
                })
                .collect();
            for cap in [0, 1, 3, 8, 64] {
                let want = (!b.is_empty()).then(|| {
                    String::from_utf8_lossy(&b)
                        .chars()
                        .take(cap)
                        .collect::<String>()
                });
                let got = text(&b, cap);
                assert_eq!(got, want, "{b:?} {cap}");
                // Text that is UTF-8 (names, DNs, attribute names) is copied once at its size.
                if let (Some(g), true) = (got, std::str::from_utf8(&b).is_ok()) {
                    assert_eq!(g.capacity(), g.len(), "{b:?} {cap}");
                }
            }
        }
    }

    #[test]
    fn attribute_lists_are_allocated_once() {
        // An AttributeSelection: OCTET STRINGs (an empty one names nothing), other tags passed
        // over, at most MAX_ATTRIBUTES kept; the list is allocated at its size.
        for n in [0usize, 1, 4, 5, 9, MAX_ATTRIBUTES, MAX_ATTRIBUTES + 7] {
            let mut v = Vec::new();
            for i in 0..n {
                if i % 5 == 2 {
                    v.extend_from_slice(&[0x04, 0]);
                }
                if i % 7 == 3 {
                    v.extend_from_slice(&[0x02, 1, 7]);
                }
                let name = format!("attr{i}");
                v.extend_from_slice(&[0x04, name.len() as u8]);
                v.extend_from_slice(name.as_bytes());
            }
            let got = parse_attributes(&v);
            let want: Vec<String> = (0..n.min(MAX_ATTRIBUTES))
                .map(|i| format!("attr{i}"))
                .collect();
            assert_eq!(got, want);
            assert_eq!(got.capacity(), got.len(), "{n}");
        }
    }
}
