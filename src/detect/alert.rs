//! The `alert` record (RECORDS.md): what a detection raised, explained (who did what to what, how
//! often, when, on which evidence records, and how the source's host name was found).

use super::input::Rec;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::sync::Arc;

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
    pub kind: String,
    /// Time of the latest evidence.
    pub last_ts: f64,
    /// Stable id: the same attack seen again updates the alert with this id.
    pub id: String,
    /// The detection's snake_case name.
    pub detection: String,
    pub title: String,
    /// Microsoft Defender for Identity's external id of the same detection, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mdi_id: Option<u32>,
    /// MITRE ATT&CK technique ids.
    pub attack: Vec<String>,
    pub phase: String,
    /// `low`, `medium` or `high`.
    pub severity: String,
    pub source: Source,
    /// Accounts, hosts or services acted on (at most [`MAX_TARGETS`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// The number of distinct targets when more than `targets` holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_count: Option<u64>,
    /// One sentence: who did what to what, how many times, over what time.
    pub summary: String,
    /// The first evidence records (at most [`MAX_EVIDENCE`]), as they were read.
    pub evidence: Evidence,
    /// Evidence records in all.
    pub count: u64,
    /// The ids of the sensors that saw the evidence.
    pub sensors: Vec<String>,
}

/// The evidence records of an alert: a list shared between the open alert and every copy of it
/// emitted (emitting an alert copies no record; the open alert adds to its list in place once
/// the emitted copies are dropped, and copies it only while one is still held). Reads as a slice
/// of records and serializes as a plain list.
#[derive(Clone, Default, PartialEq)]
pub struct Evidence(Arc<Vec<Rec>>);

impl Evidence {
    /// The list to add to (copied first when an emitted alert still shares it).
    pub(crate) fn make_mut(&mut self) -> &mut Vec<Rec> {
        Arc::make_mut(&mut self.0)
    }
}

impl From<Vec<Rec>> for Evidence {
    fn from(v: Vec<Rec>) -> Evidence {
        Evidence(Arc::new(v))
    }
}

impl std::ops::Deref for Evidence {
    type Target = [Rec];
    fn deref(&self) -> &[Rec] {
        &self.0
    }
}

impl<'a> IntoIterator for &'a Evidence {
    type Item = &'a Rec;
    type IntoIter = std::slice::Iter<'a, Rec>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl std::fmt::Debug for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Evidence {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Evidence {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Evidence, D::Error> {
        Vec::<Rec>::deserialize(d).map(Evidence::from)
    }
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
    let s = secs.max(0.0);
    if s < 1.0 {
        "under a second".into()
    } else if s < 120.0 {
        format!("{} seconds", s.round() as u64)
    } else if s < 7200.0 {
        format!("{} minutes", (s / 60.0).round() as u64)
    } else {
        format!("{} hours", (s / 3600.0).round() as u64)
    }
}
