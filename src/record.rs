//! The activity records dcsensor emits: the contract of `../shared/RECORDS.md` as Rust types.
//!
//! A [`Record`] is the common head (time, endpoints, transport) plus one typed [`Body`]. Both the
//! JSON lines output and the MessagePack batches upstream are produced from these types by serde,
//! so they carry the same field names and values. Absent values are left out, never `null`.

pub use crate::packet::tunnel::TunnelPath;
use serde::{Serialize, Serializer};
use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

pub use crate::base::{duration_secs, ts_secs, Transport, Ts, NS};
pub(crate) use text::OCTETS;
pub use text::{EndpointText, InterfaceName, IpText, Names, SmallText, UuidText, VersionText};

mod text;

/// An enumerated protocol value: its name where the protocol defines one, else its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Name(&'static str),
    Num(i64),
}

impl Code {
    /// The name if `name` found one, else the number.
    pub fn new(value: i64, name: Option<&'static str>) -> Self {
        match name {
            Some(n) => Code::Name(n),
            None => Code::Num(value),
        }
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Code::Name(n) => s.serialize_str(n),
            Code::Num(v) => s.serialize_i64(*v),
        }
    }
}

/// The carrier of an authentication found inside another protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Carrier {
    Smb1,
    Smb2,
    Dcerpc,
    Http,
    Ldap,
    /// GSS-TSIG: an AP-REQ in a DNS TKEY query.
    Dns,
}

/// The kind of a record, serialized as its `type` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordType {
    Kerberos,
    Dns,
    Dcerpc,
    Ntlm,
    Smb,
    Ldap,
    Stats,
}

impl RecordType {
    /// All record types, in a fixed order (used for per-type counters).
    pub const ALL: [RecordType; 7] = [
        RecordType::Kerberos,
        RecordType::Dns,
        RecordType::Dcerpc,
        RecordType::Ntlm,
        RecordType::Smb,
        RecordType::Ldap,
        RecordType::Stats,
    ];

    /// The `type` string.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::Kerberos => "kerberos",
            RecordType::Dns => "dns",
            RecordType::Dcerpc => "dcerpc",
            RecordType::Ntlm => "ntlm",
            RecordType::Smb => "smb",
            RecordType::Ldap => "ldap",
            RecordType::Stats => "stats",
        }
    }
}

fn ser_ip<S: Serializer>(ip: &Option<IpAddr>, s: S) -> Result<S::Ok, S::Error> {
    match ip {
        Some(ip) => s.serialize_str(IpText::ip(ip).as_str()),
        None => s.serialize_none(),
    }
}

fn ser_ts<S: Serializer>(ts: &Ts, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(ts_secs(*ts))
}

fn ser_opt_dur<S: Serializer>(d: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(ns) => s.serialize_f64(ts_secs(*ns)),
        None => s.serialize_none(),
    }
}

fn ser_opt_ts<S: Serializer>(d: &Option<Ts>, s: S) -> Result<S::Ok, S::Error> {
    ser_opt_dur(d, s)
}

/// One activity record: the fields every record carries, then its typed body.
///
/// Serialized as one flat map: `ts`, `type`, `tunnel` (when there is one), `src`, `sport`, `dst`, `dport`, `proto`, then the
/// body's fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    /// Time of the first packet of the exchange.
    #[serde(serialize_with = "ser_ts")]
    pub ts: Ts,
    #[serde(rename = "type")]
    pub kind: RecordType,
    /// The encapsulations the traffic came in, outermost first (`vxlan`, `gre/mpls`, ...).
    #[serde(skip_serializing_if = "TunnelPath::is_empty")]
    pub tunnel: TunnelPath,
    /// The client: the side that opened the connection or sent the request.
    #[serde(serialize_with = "ser_ip", skip_serializing_if = "Option::is_none")]
    pub src: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sport: Option<u16>,
    /// The server.
    #[serde(serialize_with = "ser_ip", skip_serializing_if = "Option::is_none")]
    pub dst: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dport: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proto: Option<Transport>,
    #[serde(flatten)]
    pub body: Body,
}

/// The typed part of a record. Serialized without a tag of its own: [`Record::kind`] carries it.
///
/// The bodies are held inline (a record costs no allocation of its own), except the two largest,
/// `kerberos` and `stats`, which are boxed to keep every record small.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Body {
    Kerberos(Box<Kerberos>),
    Dns(Dns),
    Dcerpc(Dcerpc),
    Ntlm(Ntlm),
    Smb(Smb),
    Ldap(Ldap),
    Stats(Box<crate::stats::StatsRecord>),
}

impl Body {
    /// The record type of this body.
    pub fn kind(&self) -> RecordType {
        match self {
            Body::Kerberos(_) => RecordType::Kerberos,
            Body::Dns(_) => RecordType::Dns,
            Body::Dcerpc(_) => RecordType::Dcerpc,
            Body::Ntlm(_) => RecordType::Ntlm,
            Body::Smb(_) => RecordType::Smb,
            Body::Ldap(_) => RecordType::Ldap,
            Body::Stats(_) => RecordType::Stats,
        }
    }
}

/// `kerberos`: one KDC exchange (request and its answer), or an AP-REQ found in another protocol.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Kerberos {
    /// `AS-REQ`, `TGS-REQ` or `AP-REQ`; absent for an answer whose request was not seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub etypes: Vec<i32>,
    #[serde(skip_serializing_if = "Names::is_empty")]
    pub kdc_options: Names,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub preauth: Vec<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preauth_etype: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pac_request: Option<bool>,
    #[serde(serialize_with = "ser_opt_ts", skip_serializing_if = "Option::is_none")]
    pub till: Option<Ts>,
    /// `AS-REP`, `TGS-REP` or `KRB-ERROR`; absent when no answer was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Code>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub error_etypes: Vec<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_etype: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_etype: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presented_hash: Option<String>,
    /// Encryption type of the ticket presented (the TGT of a TGS-REQ, the ticket of an AP-REQ).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presented_etype: Option<i32>,
    /// The user named in PA-FOR-USER or PA-S4U-X509-USER (S4U2self).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s4u_user: Option<String>,
    /// `ticket_hash` of the ticket in additional-tickets (S4U2proxy, user-to-user).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_ticket_hash: Option<String>,
    /// PKINIT: the client certificate's subject, issuer and subject alternative names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pkinit_subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pkinit_issuer: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pkinit_san: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carrier: Option<Carrier>,
    /// Request to answer, in nanoseconds (serialized as float seconds).
    #[serde(
        serialize_with = "ser_opt_dur",
        skip_serializing_if = "Option::is_none"
    )]
    pub rtt: Option<u64>,
}

/// `dns`: one query and its response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dns {
    pub id: u16,
    pub opcode: Code,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qtype: Option<Code>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qclass: Option<Code>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rcode: Option<Code>,
    #[serde(skip_serializing_if = "Names::is_empty")]
    pub flags: Names,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ttls: Vec<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_count: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub updates: Vec<String>,
    #[serde(
        serialize_with = "ser_opt_dur",
        skip_serializing_if = "Option::is_none"
    )]
    pub rtt: Option<u64>,
}

/// `dcerpc`: one call (request with its response or fault), or a bind with no call.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Dcerpc {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<InterfaceName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface_uuid: Option<UuidText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface_version: Option<VersionText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opnum: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<&'static str>,
    /// Shared with the pipe's other calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub named_pipe: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_type: Option<Code>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_level: Option<Code>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<Cow<'static, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stub_bytes: Option<u64>,
    /// `tcp/PORT` or `udp/PORT`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<EndpointText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<Args>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Code>,
    #[serde(
        serialize_with = "ser_opt_dur",
        skip_serializing_if = "Option::is_none"
    )]
    pub rtt: Option<u64>,
}

/// One value of a `dcerpc` record's `args`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ArgValue {
    Str(String),
    /// A name from dcsensor's tables (serialized as a string like `Str`).
    Name(&'static str),
    Int(i64),
    Bool(bool),
    List(Vec<String>),
}

/// The `args` of a `dcerpc` record: the call's arguments by the names RECORDS.md gives them,
/// serialized as a map in the order they were read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Args(pub Vec<(&'static str, ArgValue)>);

impl Args {
    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&ArgValue> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The string value of `key`, if present and a string.
    pub fn str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(ArgValue::Str(s)) => Some(s),
            Some(ArgValue::Name(s)) => Some(s),
            _ => None,
        }
    }
}

impl Serialize for Args {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// `ntlm`: one NTLM authentication (NEGOTIATE, CHALLENGE, AUTHENTICATE) with the carrier's verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ntlm {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carrier: Option<Carrier>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workstation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_nb_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_dns_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_dns_domain: Option<String>,
    #[serde(skip_serializing_if = "Names::is_empty")]
    pub flags: Names,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mic: Option<bool>,
    /// MsvAvTargetName of the AUTHENTICATE: the SPN the client meant to reach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    /// Whether MsvAvChannelBindings is present and non-zero (NTLMv2 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_bindings: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Code>,
}

/// `smb`: one tree connect, one open of a pipe or file, or the close of a file that moved data.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Smb {
    /// `tree_connect`, `open` or `close`.
    pub action: &'static str,
    /// For `open`: the access asked (`read`, `write`, `append`, `delete`, `execute`,
    /// `write_dac`, `write_owner`).
    #[serde(skip_serializing_if = "Names::is_empty")]
    pub access: Names,
    /// For `open`: `open`, `create`, `open_if`, `overwrite`, `overwrite_if`, `supersede`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disposition: Option<Code>,
    /// For `close`: the bytes read through that open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_read: Option<u64>,
    /// For `close`: the bytes written through that open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_written: Option<u64>,
    /// Shared with the tree's other records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Shared with the session's other records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialect: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Code>,
}

/// `ldap`: one LDAP operation in clear text (TCP 389/3268, CLDAP on UDP 389), with its result.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ldap {
    /// `bind`, `search`, `modify`, `add`, `delete`, `modify_dn`, `extended`, `compare`.
    pub op: &'static str,
    /// For binds: `simple`, `sasl` or `sicily`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<&'static str>,
    /// The SASL mechanism (`GSS-SPNEGO`, `GSSAPI`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<String>,
    /// The bind DN or name, when the bind names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// For binds (and StartTLS): the session is signed or sealed from here on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sealed: Option<bool>,
    /// For searches: the base DN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// For searches: `base`, `one` or `sub`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Code>,
    /// For searches: the filter as an RFC 4515 string, at most 4 KiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// For searches: the attributes asked for, at most 64.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<String>,
    /// For searches, when not 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_limit: Option<i64>,
    /// For searches: the SearchResultEntry messages returned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<u64>,
    /// For modify, add, delete, modify_dn and compare: the object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dn: Option<String>,
    /// For modify and add: `op attribute` per change, a value after it only for the attributes
    /// the contract lists.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
    /// For extended operations: the request's OID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Code>,
    #[serde(
        serialize_with = "ser_opt_dur",
        skip_serializing_if = "Option::is_none"
    )]
    pub rtt: Option<u64>,
}

#[cfg(test)]
mod tests;
