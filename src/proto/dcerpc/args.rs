//! The `args` and `status` of the DCE-RPC operations attackers use: which decoder reads which
//! operation's request stub, and how its return code is named.
//!
//! The keys are RECORDS.md's (`computer`, `challenge_zero`, `service`, `binary_path`,
//! `file_name`, `local_machine`, ...). Each decoder reads only the leading parameters that hold
//! them, with [`Ndr`]; a stub that does not parse gives no `args` (the caller counts it as
//! malformed). The request layouts follow the operations' IDL in Microsoft's specifications
//! ([MS-NRPC], [MS-SCMR], [MS-TSCH], [MS-EFSR], [MS-RPRN], [MS-PAR], [MS-DFSNM], [MS-FSRVP],
//! [MS-DRSR], [MS-SAMR], [MS-LSAT]/[MS-LSAD], [MS-SRVS], [MS-WKST], [MS-BKRP], [MS-RRP],
//! [MS-WMI] over [MS-DCOM]). Sealed stubs never reach here.

use super::ndr::Ndr;
use super::parse::Uuid;
use crate::record::{ArgValue, Args, Code};

mod ops;

/// How an operation's return value is to be read: NTSTATUS, Win32 error or HRESULT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ret {
    Nt,
    Win32,
    Hresult,
}

/// A decoder of one operation's request arguments.
pub type Decoder = fn(&mut Ndr<'_>, &mut Args) -> Option<()>;

/// The decoder and return kind of operation `opnum` of interface `uuid`, if dcsensor reads its
/// arguments.
pub fn lookup(uuid: Uuid, opnum: u16) -> Option<(Decoder, Ret)> {
    ops::lookup(uuid, opnum)
}

/// Decodes a request stub with `dec`: the arguments read, or `None` when the stub is malformed.
pub fn decode(dec: Decoder, stub: &[u8], big_endian: bool, ndr64: bool) -> Option<Args> {
    let mut r = Ndr::new(stub, big_endian, ndr64);
    // Room for the arguments of most operations, allocated once.
    let mut a = Args(Vec::with_capacity(8));
    dec(&mut r, &mut a)?;
    Some(a)
}

/// The return code at the end of a response stub (its last four bytes), named by its kind.
pub fn status(ret: Ret, tail: &[u8], big_endian: bool) -> Option<Code> {
    let b: [u8; 4] = tail.get(tail.len().checked_sub(4)?..)?.try_into().ok()?;
    let v = if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    };
    if v == 0 {
        return Some(Code::Num(0));
    }
    let name = match ret {
        Ret::Nt => crate::proto::ntlm::status::nt_status_name(v).or_else(|| nt_name(v)),
        Ret::Win32 => win32_name(v),
        Ret::Hresult => hresult_name(v),
    };
    Some(Code::new(i64::from(v), name))
}

/// Names of the NT statuses lookups answer with that the authentication table lacks.
fn nt_name(v: u32) -> Option<&'static str> {
    Some(match v {
        0x0000_0105 => "STATUS_MORE_ENTRIES",
        0x0000_0107 => "STATUS_SOME_NOT_MAPPED",
        0x8000_001a => "STATUS_NO_MORE_ENTRIES",
        0xc000_0034 => "STATUS_OBJECT_NAME_NOT_FOUND",
        0xc000_0073 => "STATUS_NONE_MAPPED",
        0xc000_0064 => "STATUS_NO_SUCH_USER",
        0xc000_0066 => "STATUS_NO_SUCH_GROUP",
        0xc000_0151 => "STATUS_NO_SUCH_ALIAS",
        0xc000_0061 => "STATUS_PRIVILEGE_NOT_HELD",
        _ => return None,
    })
}

/// Names of the Win32 errors these operations answer with.
fn win32_name(v: u32) -> Option<&'static str> {
    Some(match v {
        2 => "ERROR_FILE_NOT_FOUND",
        3 => "ERROR_PATH_NOT_FOUND",
        5 => "ERROR_ACCESS_DENIED",
        6 => "ERROR_INVALID_HANDLE",
        50 => "ERROR_NOT_SUPPORTED",
        53 => "ERROR_BAD_NETPATH",
        67 => "ERROR_BAD_NET_NAME",
        87 => "ERROR_INVALID_PARAMETER",
        120 => "ERROR_CALL_NOT_IMPLEMENTED",
        123 => "ERROR_INVALID_NAME",
        124 => "ERROR_INVALID_LEVEL",
        183 => "ERROR_ALREADY_EXISTS",
        234 => "ERROR_MORE_DATA",
        259 => "ERROR_NO_MORE_ITEMS",
        1060 => "ERROR_SERVICE_DOES_NOT_EXIST",
        1072 => "ERROR_SERVICE_MARKED_FOR_DELETE",
        1073 => "ERROR_SERVICE_EXISTS",
        1078 => "ERROR_DUPLICATE_SERVICE_NAME",
        1168 => "ERROR_NOT_FOUND",
        1326 => "ERROR_LOGON_FAILURE",
        1722 => "RPC_S_SERVER_UNAVAILABLE",
        1797 => "ERROR_UNKNOWN_PRINTER_DRIVER",
        1801 => "ERROR_INVALID_PRINTER_NAME",
        1804 => "ERROR_INVALID_DATATYPE",
        1825 => "RPC_S_SEC_PKG_ERROR",
        2102 => "NERR_NetNotStarted",
        2114 => "NERR_ServerNotStarted",
        2221 => "NERR_UserNotFound",
        2662 => "NERR_DfsNoSuchVolume",
        8453 => "ERROR_DS_DRA_ACCESS_DENIED",
        _ => return None,
    })
}

/// Names of the HRESULTs Task Scheduler and WMI answer with.
fn hresult_name(v: u32) -> Option<&'static str> {
    Some(match v {
        0x8000_4001 => "E_NOTIMPL",
        0x8000_4005 => "E_FAIL",
        0x8007_0005 => "E_ACCESSDENIED",
        0x8007_0057 => "E_INVALIDARG",
        0x8007_0002 => "HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)",
        0x8007_00b7 => "HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS)",
        0x8004_1002 => "WBEM_E_NOT_FOUND",
        0x8004_1003 => "WBEM_E_ACCESS_DENIED",
        0x8004_1008 => "WBEM_E_INVALID_PARAMETER",
        0x8004_100e => "WBEM_E_INVALID_NAMESPACE",
        0x8004_1010 => "WBEM_E_INVALID_CLASS",
        0x8004_1017 => "WBEM_E_INVALID_QUERY",
        _ => return None,
    })
}

/// Adds a string argument.
fn put(a: &mut Args, key: &'static str, v: String) {
    a.0.push((key, ArgValue::Str(v)));
}

/// Adds a string argument when present.
fn put_opt(a: &mut Args, key: &'static str, v: Option<String>) {
    if let Some(v) = v {
        put(a, key, v);
    }
}

/// Adds an integer argument.
fn put_int(a: &mut Args, key: &'static str, v: impl Into<i64>) {
    a.0.push((key, ArgValue::Int(v.into())));
}

#[cfg(test)]
mod tests;
