//! The `alert` record (RECORDS.md): what a detection raised, explained (who did what to what, how
//! often, when, on which evidence records, and how the source's host name was found).

use super::input::Rec;
use crate::output::json::write_str;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

/// Text of an alert that is most often the catalog's own (`detection`, `title`, ATT&CK ids,
/// `phase`, `severity`): borrowed, so an alert and its copies never copy it; owned when read back.
pub type Text = Cow<'static, str>;

/// The actor of an alert.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Source {
    /// The source address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The host name resolved for the address at the time of the evidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// How `host` was resolved (`kerberos`, `ntlm`, `dns`, `smb`, `config`), with the time of the
    /// observation: `kerberos host principal at 1795886861.5`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_by: Option<String>,
    /// The account acting, where the evidence names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// One alert record. Serialized with the field names of RECORDS.md, `type` always `alert`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Time of the first evidence.
    pub ts: f64,
    /// Always `alert`.
    #[serde(rename = "type")]
    pub kind: Text,
    /// Time of the latest evidence.
    pub last_ts: f64,
    /// Stable id: the same attack seen again updates the alert with this id.
    pub id: String,
    /// The detection's snake_case name.
    pub detection: Text,
    pub title: Text,
    /// Microsoft Defender for Identity's external id of the same detection, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mdi_id: Option<u32>,
    /// MITRE ATT&CK technique ids.
    pub attack: Shared<Text>,
    pub phase: Text,
    /// `low`, `medium` or `high`.
    pub severity: Text,
    pub source: Source,
    /// Accounts, hosts or services acted on (at most [`MAX_TARGETS`]).
    #[serde(default, skip_serializing_if = "Shared::is_empty")]
    pub targets: Shared<String>,
    /// The number of distinct targets when more than `targets` holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_count: Option<u64>,
    /// One sentence: who did what to what, how many times, over what time.
    pub summary: String,
    /// The first evidence records (at most [`MAX_EVIDENCE`]), as they were read; the last
    /// `evidence_trimmed` of them trimmed (`max_evidence_bytes`, [`super::evidence`]).
    pub evidence: Evidence,
    /// Of `evidence`, the last records kept trimmed to their time, type, addresses, ports and
    /// transport because the alert's evidence held `max_evidence_bytes`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub evidence_trimmed: u64,
    /// Evidence records in all.
    pub count: u64,
    /// The ids of the sensors that saw the evidence.
    pub sensors: Shared<String>,
}

/// A list of an alert (targets, sensors, ATT&CK ids) shared between the open alert and every
/// copy of it emitted: emitting copies none of its items; the open alert changes its list in
/// place once the copies are dropped (copying it only while one is still held). Reads as a slice
/// and serializes as the plain list.
#[derive(Clone, PartialEq)]
pub struct Shared<T>(Arc<Vec<T>>);

impl<T> Default for Shared<T> {
    fn default() -> Self {
        Shared(Arc::new(Vec::new()))
    }
}

impl<T: Clone> Shared<T> {
    /// The list to change (copied first when an emitted alert still shares it).
    pub fn make_mut(&mut self) -> &mut Vec<T> {
        Arc::make_mut(&mut self.0)
    }
}

impl<T> Shared<T> {
    /// Whether the list is empty (for `skip_serializing_if`).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T> From<Vec<T>> for Shared<T> {
    fn from(v: Vec<T>) -> Self {
        Shared(Arc::new(v))
    }
}

impl<T> std::ops::Deref for Shared<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<'a, T> IntoIterator for &'a Shared<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<T: PartialEq<U>, U, const N: usize> PartialEq<[U; N]> for Shared<T> {
    fn eq(&self, other: &[U; N]) -> bool {
        self.0[..] == other[..]
    }
}

impl<T: PartialEq<U>, U> PartialEq<Vec<U>> for Shared<T> {
    fn eq(&self, other: &Vec<U>) -> bool {
        self.0[..] == other[..]
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<T: Serialize> Serialize for Shared<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Shared<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<T>::deserialize(d).map(Shared::from)
    }
}

/// The evidence records of an alert: a [`Shared`] list (emitting an alert copies no record; the
/// open alert adds to its list in place once the emitted copies are dropped, and copies the
/// list, not the records, only while one is still held). Each record is itself shared
/// ([`Arc<Rec>`]) with the tallies and with the reader that handed it to the engine, so keeping a
/// record as evidence copies none of its fields. Reads as a slice of records and serializes as a
/// plain list of records.
pub type Evidence = Shared<Ev>;

impl From<Vec<Rec>> for Evidence {
    fn from(v: Vec<Rec>) -> Evidence {
        Shared(Arc::new(
            v.into_iter().map(|r| Ev::new(Arc::new(r))).collect(),
        ))
    }
}

impl From<Vec<Arc<Rec>>> for Evidence {
    fn from(v: Vec<Arc<Rec>>) -> Evidence {
        Shared(Arc::new(v.into_iter().map(Ev::new).collect()))
    }
}

/// One evidence record of an alert: the record (shared), and its JSON text once an alert holding
/// it was written as JSON, kept so that every later emission of the alert copies the text instead
/// of serializing the record again (an alert is emitted again and again as it is updated, with
/// the same first records). The text is kept only while it is no longer than the bytes the
/// record holds ([`super::evidence::held_bytes`]), so it at most doubles what the record costs;
/// it is kept as bytes (the record's text is written from its strings and ASCII: text by
/// construction, checked only where serde asks for it as a string). Reads as the record.
#[derive(Clone)]
pub struct Ev {
    rec: Arc<Rec>,
    json: OnceLock<Option<Arc<[u8]>>>,
}

impl Ev {
    pub fn new(rec: Arc<Rec>) -> Ev {
        Ev {
            rec,
            json: OnceLock::new(),
        }
    }

    /// The record, shared.
    pub fn rec(&self) -> &Arc<Rec> {
        &self.rec
    }

    /// Keeps `text`, the record's JSON text as first written, when it is no longer than the
    /// bytes the record holds.
    fn keep(&self, text: &[u8]) {
        // (a record holds at least its struct: a text no longer than that is kept without
        // adding up what the record holds)
        let keep = text.len() <= std::mem::size_of::<Rec>()
            || text.len() <= super::evidence::held_bytes(&self.rec);
        let _ = self.json.set(keep.then(|| Arc::from(text)));
    }

    /// The record's JSON text, written on the first call ([`Rec::write_json`], serde_json's text
    /// for it) and kept (when not longer than the record's bytes); `None` when it is not kept
    /// (then the record is serialized at each use).
    fn json(&self) -> Option<&str> {
        if self.json.get().is_none() {
            let mut text = Vec::with_capacity(512);
            self.rec.write_json(&mut text);
            self.keep(&text);
        }
        let text = self.json.get()?.as_deref()?;
        std::str::from_utf8(text).ok()
    }

    /// Whether the record's JSON text is kept (after it was first written).
    #[cfg(test)]
    pub fn kept(&self) -> bool {
        matches!(self.json.get(), Some(Some(_)))
    }

    /// Writes the record as JSON at the end of `out`: its kept text, else the record written
    /// ([`Rec::write_json`], the text serde_json writes for it), the first time straight into
    /// `out` and kept from there.
    fn write_json(&self, out: &mut Vec<u8>) {
        match self.json.get() {
            Some(Some(text)) => out.extend_from_slice(text),
            Some(None) => self.rec.write_json(out),
            None => {
                let start = out.len();
                self.rec.write_json(out);
                self.keep(&out[start..]);
            }
        }
    }
}

impl Alert {
    /// Writes the alert as JSON at the end of `out`, byte for byte the text serde_json writes
    /// for it (its derived `Serialize`: the fields in their order, absent ones left out as
    /// `skip_serializing_if` says, strings escaped by serde_json, floats and integers as serde_json
    /// writes them), without serde's serializer field by field; each evidence record from its
    /// kept text ([`Ev`]). Every field is named here (a field added to the alert and not here does
    /// not compile); the tests compare the text with serde_json's.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let Alert {
            ts,
            kind,
            last_ts,
            id,
            detection,
            title,
            mdi_id,
            attack,
            phase,
            severity,
            source,
            targets,
            target_count,
            summary,
            evidence,
            evidence_trimmed,
            count,
            sensors,
        } = self;
        out.extend_from_slice(b"{\"ts\":");
        put_num(ts, out);
        out.extend_from_slice(b",\"type\":");
        write_str(out, kind);
        out.extend_from_slice(b",\"last_ts\":");
        put_num(last_ts, out);
        out.extend_from_slice(b",\"id\":");
        write_str(out, id);
        out.extend_from_slice(b",\"detection\":");
        write_str(out, detection);
        out.extend_from_slice(b",\"title\":");
        write_str(out, title);
        if let Some(m) = mdi_id {
            out.extend_from_slice(b",\"mdi_id\":");
            put_num(m, out);
        }
        out.extend_from_slice(b",\"attack\":");
        put_strs(attack, out);
        out.extend_from_slice(b",\"phase\":");
        write_str(out, phase);
        out.extend_from_slice(b",\"severity\":");
        write_str(out, severity);
        out.extend_from_slice(b",\"source\":");
        source.write_json(out);
        if !targets.is_empty() {
            out.extend_from_slice(b",\"targets\":");
            put_strs(targets, out);
        }
        if let Some(n) = target_count {
            out.extend_from_slice(b",\"target_count\":");
            put_num(n, out);
        }
        out.extend_from_slice(b",\"summary\":");
        write_str(out, summary);
        out.extend_from_slice(b",\"evidence\":[");
        for (i, e) in evidence.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            e.write_json(out);
        }
        out.push(b']');
        if !is_zero(evidence_trimmed) {
            out.extend_from_slice(b",\"evidence_trimmed\":");
            put_num(evidence_trimmed, out);
        }
        out.extend_from_slice(b",\"count\":");
        put_num(count, out);
        out.extend_from_slice(b",\"sensors\":");
        put_strs(sensors, out);
        out.push(b'}');
    }
}

impl Source {
    /// Writes the source as JSON at the end of `out` (as serde_json writes it: see
    /// [`Alert::write_json`]).
    fn write_json(&self, out: &mut Vec<u8>) {
        let Source {
            ip,
            host,
            host_by,
            user,
        } = self;
        out.push(b'{');
        let mut first = true;
        for (name, v) in [
            ("\"ip\":", ip),
            ("\"host\":", host),
            ("\"host_by\":", host_by),
            ("\"user\":", user),
        ] {
            if let Some(v) = v {
                if !first {
                    out.push(b',');
                }
                first = false;
                out.extend_from_slice(name.as_bytes());
                write_str(out, v);
            }
        }
        out.push(b'}');
    }
}

/// A list of strings as JSON.
fn put_strs<T: AsRef<str>>(list: &[T], out: &mut Vec<u8>) {
    out.push(b'[');
    for (i, s) in list.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, s.as_ref());
    }
    out.push(b']');
}

/// A number as serde_json writes it (a float not finite as `null`).
fn put_num<T: Serialize>(n: &T, out: &mut Vec<u8>) {
    let _ = serde_json::to_writer(&mut *out, n);
}

/// Writes `json`, a JSON text, as it is into a serde_json serializer: what serde_json's
/// [`RawValue`](serde_json::value::RawValue) serializes itself as (a struct of one field, both named by the token serde_json
/// reserves for it), without the parse of the text that making a `RawValue` of it would take.
/// Another serializer sees that struct, as it would a `RawValue`. (A test checks that serde_json
/// writes the text unchanged: `tests_evidence`, so a serde_json that changed its token fails it.)
fn raw_json<S: Serializer>(json: &str, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    const TOKEN: &str = "$serde_json::private::RawValue";
    let mut st = s.serialize_struct(TOKEN, 1)?;
    st.serialize_field(TOKEN, json)?;
    st.end()
}

impl std::ops::Deref for Ev {
    type Target = Rec;
    fn deref(&self) -> &Rec {
        &self.rec
    }
}

impl PartialEq for Ev {
    fn eq(&self, other: &Ev) -> bool {
        self.rec == other.rec
    }
}

impl std::fmt::Debug for Ev {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.rec.fmt(f)
    }
}

impl Serialize for Ev {
    /// As the record: in JSON (a human-readable format) from its kept text, byte for byte what
    /// serializing the record writes; in MessagePack (batches of alerts) as the record.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            if let Some(j) = self.json() {
                return raw_json(j, s);
            }
        }
        self.rec.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Ev {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Rec::deserialize(d).map(|r| Ev::new(Arc::new(r)))
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Evidence records kept in an alert.
pub const MAX_EVIDENCE: usize = 32;
/// Targets listed in an alert.
pub const MAX_TARGETS: usize = 64;

/// The stable id of an alert: the detection, what it groups by, and the second its evidence
/// started (record time, so a replay gives the same ids).
pub fn alert_id(detection: &str, key: &str, first_ts: f64) -> String {
    let mut h = Sha256::new();
    h.update(detection.as_bytes());
    h.update([0]);
    h.update(key.as_bytes());
    h.update([0]);
    h.update((first_ts.floor() as i64).to_be_bytes());
    let d = h.finalize();
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = String::with_capacity(24);
    for b in &d[..12] {
        id.push(HEX[usize::from(b >> 4)] as char);
        id.push(HEX[usize::from(b & 15)] as char);
    }
    id
}

/// A duration in plain words (`4 seconds`, `12 minutes`, `3 hours`).
pub fn span_words(secs: f64) -> String {
    let mut w = String::new();
    push_span_words(&mut w, secs);
    w
}

/// [`span_words`] written at the end of `w`.
pub fn push_span_words(w: &mut String, secs: f64) {
    use std::fmt::Write;
    let s = secs.max(0.0);
    let _ = if s < 1.0 {
        w.push_str("under a second");
        Ok(())
    } else if s < 120.0 {
        write!(w, "{} seconds", s.round() as u64)
    } else if s < 7200.0 {
        write!(w, "{} minutes", (s / 60.0).round() as u64)
    } else {
        write!(w, "{} hours", (s / 3600.0).round() as u64)
    };
}
