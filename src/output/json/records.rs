//! The records' own JSON encoder: a [`Record`] written field by field into the output buffer,
//! byte for byte what its `Serialize` impl gives through [`super::to_vec`] (and so what
//! `serde_json` writes), without serde's calls per field. A key is written with its quotes,
//! colon and leading comma as one constant copy (`,"sport":`), never scanned for escapes;
//! integers and IPv4 addresses are written digit by digit into the buffer; strings take the
//! scanning writer ([`super::write_str`]); floats `serde_json`'s own formatter. `stats`
//! records, one a second, keep the serde path.
//!
//! Each body is taken apart with an exhaustive pattern, so a field added to a record type does
//! not compile until it is written here too (and the tests' random records, built the same way,
//! check it against serde).

use super::{write_str, Error};
use crate::packet::tunnel::TunnelPath;
use crate::record::{
    ts_secs, ArgValue, Args, Body, Carrier, Code, Dcerpc, Dns, InterfaceName, Kerberos, Ldap,
    Names, Ntlm, Record, RecordType, SmallText, Smb, Transport,
};
use serde_json::ser::{CompactFormatter, Formatter};
use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

/// Writes each field as `,"key":value`: `"key" => field` leaves out a field that is absent or
/// empty ([`Field`], as the records' `skip_serializing_if` does), `always "key" => value` writes
/// it whatever it holds ([`Value`]).
macro_rules! fields {
    ($out:ident;) => {};
    ($out:ident; always $key:literal => $v:expr $(, $($rest:tt)*)?) => {
        $out.extend_from_slice(concat!(",\"", $key, "\":").as_bytes());
        Value::write($v, $out);
        fields!($out; $($($rest)*)?);
    };
    ($out:ident; $key:literal => $v:expr $(, $($rest:tt)*)?) => {
        if Field::present($v) {
            $out.extend_from_slice(concat!(",\"", $key, "\":").as_bytes());
            Field::write($v, $out);
        }
        fields!($out; $($($rest)*)?);
    };
}

/// Appends `r` as compact JSON (without a newline) to `out`: the same bytes as
/// [`super::to_vec`] appends for it.
pub fn write_record(out: &mut Vec<u8>, r: &Record) -> Result<(), Error> {
    let Record {
        ts,
        kind,
        tunnel,
        src,
        sport,
        dst,
        dport,
        proto,
        body,
    } = r;
    if let Body::Stats(_) = body {
        return super::to_vec(out, r);
    }
    out.extend_from_slice(b"{\"ts\":");
    write_f64(out, ts_secs(*ts));
    out.extend_from_slice(match kind {
        RecordType::Kerberos => b",\"type\":\"kerberos\"",
        RecordType::Dns => b",\"type\":\"dns\"",
        RecordType::Dcerpc => b",\"type\":\"dcerpc\"",
        RecordType::Ntlm => b",\"type\":\"ntlm\"",
        RecordType::Smb => b",\"type\":\"smb\"",
        RecordType::Ldap => b",\"type\":\"ldap\"",
        RecordType::Stats => b",\"type\":\"stats\"",
    });
    fields! {out;
        "tunnel" => tunnel,
        "src" => src,
        "sport" => sport,
        "dst" => dst,
        "dport" => dport,
        "proto" => proto,
    }
    match body {
        Body::Kerberos(k) => kerberos(out, k),
        Body::Dns(d) => dns(out, d),
        Body::Dcerpc(d) => dcerpc(out, d),
        Body::Ntlm(n) => ntlm(out, n),
        Body::Smb(s) => smb(out, s),
        Body::Ldap(l) => ldap(out, l),
        Body::Stats(_) => {}
    }
    out.push(b'}');
    Ok(())
}

fn kerberos(out: &mut Vec<u8>, k: &Kerberos) {
    let Kerberos {
        request,
        client,
        realm,
        service,
        etypes,
        kdc_options,
        preauth,
        preauth_etype,
        pac_request,
        till,
        reply,
        error,
        error_etypes,
        ticket_etype,
        reply_etype,
        ticket_hash,
        presented_hash,
        presented_etype,
        s4u_user,
        additional_ticket_hash,
        pkinit_subject,
        pkinit_issuer,
        pkinit_san,
        carrier,
        rtt,
    } = k;
    fields! {out;
        "request" => request,
        "client" => client,
        "realm" => realm,
        "service" => service,
        "etypes" => etypes,
        "kdc_options" => kdc_options,
        "preauth" => preauth,
        "preauth_etype" => preauth_etype,
        "pac_request" => pac_request,
        "till" => &till.map(Secs),
        "reply" => reply,
        "error" => error,
        "error_etypes" => error_etypes,
        "ticket_etype" => ticket_etype,
        "reply_etype" => reply_etype,
        "ticket_hash" => ticket_hash,
        "presented_hash" => presented_hash,
        "presented_etype" => presented_etype,
        "s4u_user" => s4u_user,
        "additional_ticket_hash" => additional_ticket_hash,
        "pkinit_subject" => pkinit_subject,
        "pkinit_issuer" => pkinit_issuer,
        "pkinit_san" => pkinit_san,
        "carrier" => carrier,
        "rtt" => &rtt.map(Secs),
    }
}

fn dns(out: &mut Vec<u8>, d: &Dns) {
    let Dns {
        id,
        opcode,
        query,
        qtype,
        qclass,
        rcode,
        flags,
        answers,
        ttls,
        answer_count,
        updates,
        rtt,
    } = d;
    fields! {out;
        always "id" => id,
        always "opcode" => opcode,
        "query" => query,
        "qtype" => qtype,
        "qclass" => qclass,
        "rcode" => rcode,
        "flags" => flags,
        "answers" => answers,
        "ttls" => ttls,
        "answer_count" => answer_count,
        "updates" => updates,
        "rtt" => &rtt.map(Secs),
    }
}

fn dcerpc(out: &mut Vec<u8>, d: &Dcerpc) {
    let Dcerpc {
        interface,
        interface_uuid,
        interface_version,
        opnum,
        operation,
        named_pipe,
        auth_type,
        auth_level,
        fault,
        stub_bytes,
        endpoint,
        args,
        status,
        rtt,
    } = d;
    fields! {out;
        "interface" => interface,
        "interface_uuid" => interface_uuid,
        "interface_version" => interface_version,
        "opnum" => opnum,
        "operation" => operation,
        "named_pipe" => named_pipe,
        "auth_type" => auth_type,
        "auth_level" => auth_level,
        "fault" => fault,
        "stub_bytes" => stub_bytes,
        "endpoint" => endpoint,
        "args" => args,
        "status" => status,
        "rtt" => &rtt.map(Secs),
    }
}

fn ntlm(out: &mut Vec<u8>, n: &Ntlm) {
    let Ntlm {
        carrier,
        user,
        domain,
        workstation,
        version,
        server_nb_name,
        server_dns_name,
        server_dns_domain,
        flags,
        mic,
        target_name,
        channel_bindings,
        success,
        status,
    } = n;
    fields! {out;
        "carrier" => carrier,
        "user" => user,
        "domain" => domain,
        "workstation" => workstation,
        "version" => version,
        "server_nb_name" => server_nb_name,
        "server_dns_name" => server_dns_name,
        "server_dns_domain" => server_dns_domain,
        "flags" => flags,
        "mic" => mic,
        "target_name" => target_name,
        "channel_bindings" => channel_bindings,
        "success" => success,
        "status" => status,
    }
}

fn smb(out: &mut Vec<u8>, s: &Smb) {
    let Smb {
        action,
        access,
        disposition,
        bytes_read,
        bytes_written,
        share,
        path,
        user,
        dialect,
        status,
    } = s;
    fields! {out;
        always "action" => action,
        "access" => access,
        "disposition" => disposition,
        "bytes_read" => bytes_read,
        "bytes_written" => bytes_written,
        "share" => share,
        "path" => path,
        "user" => user,
        "dialect" => dialect,
        "status" => status,
    }
}

fn ldap(out: &mut Vec<u8>, l: &Ldap) {
    let Ldap {
        op,
        bind,
        mechanism,
        name,
        sealed,
        base,
        scope,
        filter,
        attributes,
        size_limit,
        entries,
        dn,
        changes,
        oid,
        success,
        result,
        rtt,
    } = l;
    fields! {out;
        always "op" => op,
        "bind" => bind,
        "mechanism" => mechanism,
        "name" => name,
        "sealed" => sealed,
        "base" => base,
        "scope" => scope,
        "filter" => filter,
        "attributes" => attributes,
        "size_limit" => size_limit,
        "entries" => entries,
        "dn" => dn,
        "changes" => changes,
        "oid" => oid,
        "success" => success,
        "result" => result,
        "rtt" => &rtt.map(Secs),
    }
}

/// A value as JSON.
trait Value {
    fn write(&self, out: &mut Vec<u8>);
}

/// A field that may be left out (`skip_serializing_if`): absent, or an empty list.
trait Field {
    fn present(&self) -> bool;
    fn write(&self, out: &mut Vec<u8>);
}

impl<T: Value> Field for Option<T> {
    #[inline]
    fn present(&self) -> bool {
        self.is_some()
    }
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        if let Some(v) = self {
            v.write(out);
        }
    }
}

impl<T: Value> Field for Vec<T> {
    #[inline]
    fn present(&self) -> bool {
        !self.is_empty()
    }
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        Value::write(self, out);
    }
}

impl Field for Names {
    #[inline]
    fn present(&self) -> bool {
        !self.is_empty()
    }
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        out.push(b'[');
        for (i, n) in self.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(out, n);
        }
        out.push(b']');
    }
}

impl Field for TunnelPath {
    #[inline]
    fn present(&self) -> bool {
        !self.is_empty()
    }
    fn write(&self, out: &mut Vec<u8>) {
        // What `collect_str` of its `Display` gives: the kinds' names (plain lowercase words)
        // joined by `/`, a string with nothing to escape (checked all the same).
        let mut s = String::with_capacity(32);
        for (i, k) in self.kinds().enumerate() {
            if i > 0 {
                s.push('/');
            }
            s.push_str(k.name());
        }
        write_str(out, &s);
    }
}

impl<T: Value + ?Sized> Value for &T {
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        (**self).write(out)
    }
}

impl<T: Value> Value for Vec<T> {
    fn write(&self, out: &mut Vec<u8>) {
        out.push(b'[');
        for (i, v) in self.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            v.write(out);
        }
        out.push(b']');
    }
}

impl Value for str {
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        write_str(out, self)
    }
}

macro_rules! as_str {
    ($($t:ty),*) => {$(
        impl Value for $t {
            #[inline]
            fn write(&self, out: &mut Vec<u8>) {
                write_str(out, self)
            }
        }
    )*};
}

as_str!(String, Arc<str>, Cow<'static, str>, InterfaceName);

impl<const N: usize> Value for SmallText<N> {
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        write_str(out, self.as_str())
    }
}

impl Value for bool {
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if *self { b"true" } else { b"false" });
    }
}

macro_rules! unsigned {
    ($($t:ty),*) => {$(
        impl Value for $t {
            #[inline]
            fn write(&self, out: &mut Vec<u8>) {
                write_u64(out, u64::from(*self))
            }
        }
    )*};
}

macro_rules! signed {
    ($($t:ty),*) => {$(
        impl Value for $t {
            #[inline]
            fn write(&self, out: &mut Vec<u8>) {
                if *self < 0 {
                    out.push(b'-');
                }
                write_u64(out, u64::from(self.unsigned_abs()))
            }
        }
    )*};
}

unsigned!(u16, u32, u64);
signed!(i32, i64);

impl Value for Code {
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Code::Name(n) => write_str(out, n),
            Code::Num(v) => v.write(out),
        }
    }
}

impl Value for Carrier {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(match self {
            Carrier::Smb1 => b"\"smb1\"",
            Carrier::Smb2 => b"\"smb2\"",
            Carrier::Dcerpc => b"\"dcerpc\"",
            Carrier::Http => b"\"http\"",
            Carrier::Ldap => b"\"ldap\"",
            Carrier::Dns => b"\"dns\"",
        });
    }
}

impl Value for Transport {
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(match self {
            Transport::Tcp => b"\"tcp\"",
            Transport::Udp => b"\"udp\"",
        });
    }
}

impl Value for IpAddr {
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            IpAddr::V4(a) => write_ipv4(out, a.octets()),
            IpAddr::V6(_) => write_str(out, SmallText::ip(self).as_str()),
        }
    }
}

impl Value for Args {
    fn write(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(out, k);
            out.push(b':');
            v.write(out);
        }
        out.push(b'}');
    }
}

impl Value for ArgValue {
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            ArgValue::Str(s) => write_str(out, s),
            ArgValue::Name(s) => write_str(out, s),
            ArgValue::Int(v) => v.write(out),
            ArgValue::Bool(b) => b.write(out),
            ArgValue::List(l) => Value::write(l, out),
        }
    }
}

/// A time or duration in nanoseconds, written as float seconds (the records' `ser_ts` and
/// `ser_opt_dur`).
#[derive(Clone, Copy)]
struct Secs(u64);

impl Value for Secs {
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        write_f64(out, ts_secs(self.0))
    }
}

/// A float as the serde path writes it: `serde_json`'s formatter, `null` when not finite.
#[inline]
fn write_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        // Writing into a Vec cannot fail.
        let _ = CompactFormatter.write_f64(out, v);
    } else {
        out.extend_from_slice(b"null");
    }
}

/// The two decimal digits of 0 to 99.
static PAIRS: [[u8; 2]; 100] = {
    let mut t = [[0u8; 2]; 100];
    let mut i = 0;
    while i < 100 {
        t[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
        i += 1;
    }
    t
};

/// Appends `v` in decimal. The buffer grows by a constant 20 bytes (a fixed-size copy, no call)
/// and is cut back to the digits written from the end of their place.
#[inline]
fn write_u64(out: &mut Vec<u8>, v: u64) {
    let n = v.checked_ilog10().map_or(1, |l| l as usize + 1);
    let at = out.len();
    out.extend_from_slice(&[0u8; 20]);
    let digits = &mut out[at..at + n];
    let mut end = n;
    let mut v = v;
    while v >= 100 {
        let p = PAIRS[(v % 100) as usize];
        v /= 100;
        digits[end - 2..end].copy_from_slice(&p);
        end -= 2;
    }
    if v >= 10 {
        digits[..2].copy_from_slice(&PAIRS[v as usize]);
    } else {
        digits[0] = b'0' + v as u8;
    }
    out.truncate(at + n);
}

/// Appends an IPv4 address as a JSON string (`"a.b.c.d"`, as `Display` writes it): a constant
/// 18-byte room, each octet's three padded digits copied from a table and overwritten by what
/// follows, cut back to the text.
#[inline]
fn write_ipv4(out: &mut Vec<u8>, octets: [u8; 4]) {
    let at = out.len();
    out.extend_from_slice(&[b'"'; 18]);
    let room = &mut out[at..at + 18];
    let mut i = 1;
    for o in octets {
        let (digits, n) = crate::record::OCTETS[usize::from(o)];
        room[i..i + 3].copy_from_slice(&digits);
        room[i + usize::from(n)] = b'.';
        i += usize::from(n) + 1;
    }
    // The last octet's dot becomes the closing quote.
    room[i - 1] = b'"';
    out.truncate(at + i);
}

#[cfg(test)]
mod tests;
