//! The record as the detection engine reads it: [`Rec`], one owned struct holding every field of
//! RECORDS.md, deserialized alike from a JSON line, an element of a MessagePack batch, or a
//! record of the in-process pipeline ([`Rec::from_record`]).
//!
//! Every field is optional so that a record of any `type` (and of any schema that only adds
//! fields) reads into it; fields the engine does not know are dropped. Serializing a `Rec` leaves
//! absent fields out, as the sensor does, so an alert's `evidence` reads like the records it came
//! from.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

/// An enumerated protocol value: its name where the protocol defines one, else its number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Code {
    Name(String),
    Num(i64),
}

impl Code {
    /// The name, when the value is one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Code::Name(n) => Some(n),
            Code::Num(_) => None,
        }
    }

    /// Whether the value is `name` or the number `num` (status codes arrive either way).
    pub fn is(&self, name: &str, num: i64) -> bool {
        match self {
            Code::Name(n) => n.eq_ignore_ascii_case(name),
            Code::Num(v) => *v == num,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Code::Name(n) => f.write_str(n),
            Code::Num(v) => write!(f, "{v}"),
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

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Code;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a name or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Code, E> {
                Ok(Code::Name(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Code, E> {
                Ok(Code::Name(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Code, E> {
                Ok(Code::Num(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Code, E> {
                Ok(Code::Num(v as i64))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Code, E> {
                Ok(Code::Num(v as i64))
            }
        }
        d.deserialize_any(V)
    }
}

/// Addresses are strings in every encoding (MessagePack's serde default would be an enum).
fn de_ip<'de, D: Deserializer<'de>>(d: D) -> Result<Option<IpAddr>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    match s {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(de::Error::custom),
    }
}

/// A call's arguments are shared by the record's copies (evidence kept in tallies and alerts)
/// instead of copied with each one; they read and write as the map itself.
fn de_args<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Arc<Args>>, D::Error> {
    Ok(Option::<Args>::deserialize(d)?.map(Arc::new))
}

fn ser_args<S: Serializer>(a: &Option<Arc<Args>>, s: S) -> Result<S::Ok, S::Error> {
    match a {
        Some(a) => s.serialize_some(&**a),
        None => s.serialize_none(),
    }
}

fn ser_ip<S: Serializer>(ip: &Option<IpAddr>, s: S) -> Result<S::Ok, S::Error> {
    match ip {
        Some(ip) => s.collect_str(ip),
        None => s.serialize_none(),
    }
}

/// The `args` of a DCE-RPC call: argument name to value (strings, numbers, booleans, lists).
pub type Args = serde_json::Map<String, serde_json::Value>;

macro_rules! rec {
    ($( $(#[$m:meta])* $name:ident : $ty:ty ),* $(,)?) => {
        /// One activity record, every RECORDS.md field optional (see the module documentation).
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(default)]
        pub struct Rec {
            /// Seconds since the Unix epoch.
            pub ts: f64,
            /// `kerberos`, `dns`, `dcerpc`, `ntlm`, `smb`, `ldap`, `stats`, `alert`.
            #[serde(rename = "type")]
            pub kind: String,
            $( $(#[$m])* #[serde(skip_serializing_if = "Skip::skip")] pub $name: $ty, )*
        }
    };
}

/// Whether a field is absent (left out when serialized).
pub trait Skip {
    fn skip(&self) -> bool;
}
impl<T> Skip for Option<T> {
    fn skip(&self) -> bool {
        self.is_none()
    }
}
impl<T> Skip for Vec<T> {
    fn skip(&self) -> bool {
        self.is_empty()
    }
}

rec! {
    tunnel: Option<String>,
    #[serde(deserialize_with = "de_ip", serialize_with = "ser_ip")]
    src: Option<IpAddr>,
    sport: Option<u16>,
    #[serde(deserialize_with = "de_ip", serialize_with = "ser_ip")]
    dst: Option<IpAddr>,
    dport: Option<u16>,
    proto: Option<String>,
    // kerberos
    request: Option<String>,
    client: Option<String>,
    realm: Option<String>,
    service: Option<String>,
    etypes: Vec<i32>,
    kdc_options: Vec<String>,
    preauth: Vec<i32>,
    preauth_etype: Option<i32>,
    pac_request: Option<bool>,
    till: Option<f64>,
    reply: Option<String>,
    error: Option<Code>,
    error_etypes: Vec<i32>,
    ticket_etype: Option<i32>,
    reply_etype: Option<i32>,
    ticket_hash: Option<String>,
    presented_hash: Option<String>,
    presented_etype: Option<i32>,
    s4u_user: Option<String>,
    additional_ticket_hash: Option<String>,
    pkinit_subject: Option<String>,
    pkinit_issuer: Option<String>,
    pkinit_san: Vec<String>,
    carrier: Option<String>,
    // dns
    id: Option<Code>,
    opcode: Option<Code>,
    query: Option<String>,
    qtype: Option<Code>,
    qclass: Option<Code>,
    rcode: Option<Code>,
    flags: Vec<String>,
    answers: Vec<String>,
    ttls: Vec<u32>,
    answer_count: Option<u64>,
    updates: Vec<String>,
    // dcerpc
    interface: Option<String>,
    interface_uuid: Option<String>,
    interface_version: Option<String>,
    opnum: Option<u16>,
    operation: Option<String>,
    named_pipe: Option<String>,
    auth_type: Option<Code>,
    auth_level: Option<Code>,
    fault: Option<String>,
    stub_bytes: Option<u64>,
    endpoint: Option<String>,
    #[serde(deserialize_with = "de_args", serialize_with = "ser_args")]
    args: Option<Arc<Args>>,
    // ntlm
    user: Option<String>,
    domain: Option<String>,
    workstation: Option<String>,
    version: Option<String>,
    server_nb_name: Option<String>,
    server_dns_name: Option<String>,
    server_dns_domain: Option<String>,
    mic: Option<bool>,
    target_name: Option<String>,
    channel_bindings: Option<bool>,
    // smb
    action: Option<String>,
    access: Vec<String>,
    disposition: Option<String>,
    bytes_read: Option<u64>,
    bytes_written: Option<u64>,
    share: Option<String>,
    path: Option<String>,
    dialect: Option<String>,
    // ldap
    op: Option<String>,
    bind: Option<String>,
    mechanism: Option<String>,
    name: Option<String>,
    sealed: Option<bool>,
    base: Option<String>,
    scope: Option<String>,
    filter: Option<String>,
    attributes: Vec<String>,
    size_limit: Option<u64>,
    entries: Option<u64>,
    dn: Option<String>,
    changes: Vec<String>,
    // shared by several types
    success: Option<bool>,
    result: Option<Code>,
    status: Option<Code>,
    rtt: Option<f64>,
}

impl Rec {
    /// The record of the in-process pipeline, read exactly as a receiver of its MessagePack
    /// encoding would (so the engine sees the same fields at the edge and in the center).
    pub fn from_record(r: &crate::record::Record) -> Result<Rec, String> {
        let packed = rmp_serde::to_vec_named(r).map_err(|e| e.to_string())?;
        rmp_serde::from_slice(&packed).map_err(|e| e.to_string())
    }

    /// Reads one JSON line.
    pub fn from_json(line: &str) -> Result<Rec, serde_json::Error> {
        serde_json::from_str(line)
    }

    /// An argument of a DCE-RPC call. A call has a few arguments: comparing their names in order
    /// is cheaper than hashing the name (the map's hasher is SipHash); a long map is hashed.
    pub fn arg_value(&self, key: &str) -> Option<&serde_json::Value> {
        let a = self.args.as_deref()?;
        if a.len() <= 16 {
            a.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
        } else {
            a.get(key)
        }
    }

    /// An argument of a DCE-RPC call as text (strings as they are, numbers and booleans printed).
    pub fn arg(&self, key: &str) -> Option<String> {
        self.arg_cow(key).map(Cow::into_owned)
    }

    /// [`Rec::arg`] without copying a string argument.
    pub fn arg_cow(&self, key: &str) -> Option<Cow<'_, str>> {
        let v = self.arg_value(key)?;
        match v {
            serde_json::Value::String(s) => Some(Cow::Borrowed(s)),
            serde_json::Value::Null => None,
            other => Some(Cow::Owned(other.to_string())),
        }
    }

    /// A boolean argument of a DCE-RPC call.
    pub fn arg_bool(&self, key: &str) -> Option<bool> {
        self.arg_value(key)?.as_bool()
    }

    /// A numeric argument of a DCE-RPC call.
    pub fn arg_u64(&self, key: &str) -> Option<u64> {
        let v = self.arg_value(key)?;
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    }

    /// Whether a record is of `kind`.
    #[inline]
    pub fn is(&self, kind: &str) -> bool {
        self.kind == kind
    }

    /// The `status` or `error` code name, if any.
    pub fn status_name(&self) -> Option<&str> {
        self.status.as_ref().and_then(Code::name)
    }
}
