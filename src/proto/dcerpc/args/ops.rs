//! The request decoders, one per operation layout, and the table that picks them by interface
//! UUID and opnum. Each reads the operation's leading `[in]` parameters in IDL order: top-level
//! pointers carry their referent right after them, pointers inside a structure have their
//! referents after the structure (deferred), as NDR lays them out.

use super::{put, put_int, put_opt, Decoder, Ret};
use crate::proto::dcerpc::ndr::Ndr;
use crate::proto::dcerpc::parse::Uuid;
use crate::record::{ArgValue, Args};

const NETLOGON: Uuid = 0x12345678_1234_abcd_ef00_01234567cffb;
const SVCCTL: Uuid = 0x367abb81_9844_35f1_ad32_98f038001003;
const TSCH: Uuid = 0x86d35949_83c9_4044_b424_db363231fd0c;
const ATSVC: Uuid = 0x1ff70682_0a51_30e8_076d_740be8cee98b;
const EFSR_LSA: Uuid = 0xc681d488_d850_11d0_8c52_00c04fd90f7e;
const EFSR: Uuid = 0xdf1941c5_fe89_4e79_bf10_463657acf44d;
const SPOOLSS: Uuid = 0x12345678_1234_abcd_ef00_0123456789ab;
const PAR: Uuid = 0x76f03f96_cdfd_44fc_a22c_64950a001209;
const NETDFS: Uuid = 0x4fc742e0_4a10_11cf_8273_00aa004ae673;
const FSRVP: Uuid = 0xa8e0653c_2744_4389_a61d_7373df8b2292;
const DRSUAPI: Uuid = 0xe3514235_4b06_11d1_ab04_00c04fc2dcd2;
const SAMR: Uuid = 0x12345778_1234_abcd_ef00_0123456789ac;
const LSARPC: Uuid = 0x12345778_1234_abcd_ef00_0123456789ab;
const SRVSVC: Uuid = 0x4b324fc8_1670_01d3_1278_5a47bf6ee188;
const WKSSVC: Uuid = 0x6bffd098_a112_3610_9833_46c3f87e345a;
const BKRP: Uuid = 0x3dde7c30_165d_11d1_ab8f_00805f14db40;
const WINREG: Uuid = 0x338cd001_2244_31f1_aaaa_900038001003;
const WBEM_SERVICES: Uuid = 0x9556dc99_828c_11cf_a37e_00aa003240c7;

/// Most names kept from one lookup call.
const MAX_NAMES: usize = 64;

pub(super) fn lookup(uuid: Uuid, opnum: u16) -> Option<(Decoder, Ret)> {
    use Ret::*;
    let d: (Decoder, Ret) = match (uuid, opnum) {
        (NETLOGON, 4) => (req_challenge, Nt),
        (NETLOGON, 5) => (authenticate_no_flags, Nt),
        (NETLOGON, 15 | 26) => (authenticate, Nt),
        (NETLOGON, 6 | 30) => (password_set, Nt),
        (SVCCTL, 12 | 45) => (|r, a| create_service(r, a, true), Win32),
        (SVCCTL, 24 | 44) => (|r, a| create_service(r, a, false), Win32),
        (SVCCTL, 11) => (|r, a| change_service(r, a, true), Win32),
        (SVCCTL, 23) => (|r, a| change_service(r, a, false), Win32),
        (SVCCTL, 16) => (|r, a| open_service(r, a, true), Win32),
        (SVCCTL, 28) => (|r, a| open_service(r, a, false), Win32),
        (TSCH, 1) => (register_task, Hresult),
        (ATSVC, 0) => (job_add, Win32),
        // EfsRpcDuplicateEncryptionInfoFile (13): the source file name is the one kept.
        (EFSR_LSA | EFSR, 0 | 4..=9 | 12 | 13 | 18 | 19 | 21 | 22) => (efs_file, Win32),
        (EFSR_LSA | EFSR, 15 | 16) => (efs_file_after_blob, Win32),
        (SPOOLSS, 1 | 69) | (PAR, 0) => (open_printer, Win32),
        (SPOOLSS, 62 | 65) => (find_first_notification, Win32),
        (SPOOLSS, 9 | 89) | (PAR, 39) => (add_printer_driver, Win32),
        (NETDFS, 12 | 13) => (dfs_std_root, Win32),
        (FSRVP, 8 | 9) => (share_path, Win32),
        (DRSUAPI, 0) => (drs_bind, Win32),
        (DRSUAPI, 3) => (get_nc_changes, Win32),
        (DRSUAPI, 5) => (replica_add, Win32),
        (DRSUAPI, 17) => (add_entry, Win32),
        (SAMR, 17) => (samr_lookup_names, Nt),
        (SAMR, 19 | 27 | 34) => (samr_open, Nt),
        (SAMR, 22 | 24) => (samr_member_rid, Nt),
        (SAMR, 31 | 32 | 45) => (samr_member_sid, Nt),
        (LSARPC, 14 | 58 | 68) => (|r, a| lsa_lookup_names(r, a, true), Nt),
        (LSARPC, 77) => (|r, a| lsa_lookup_names(r, a, false), Nt),
        (LSARPC, 15 | 57) => (|r, a| lsa_lookup_sids(r, a, true), Nt),
        (LSARPC, 76) => (|r, a| lsa_lookup_sids(r, a, false), Nt),
        (LSARPC, 28 | 42 | 43) => (lsa_secret_name, Nt),
        (SRVSVC, 12) => (session_enum, Win32),
        (SRVSVC, 15) | (WKSSVC, 2) => (server_level, Win32),
        (BKRP, 0) => (backup_key, Win32),
        (WINREG, 6 | 15) => (reg_key, Win32),
        (WINREG, 20 | 31) => (reg_save, Win32),
        (WBEM_SERVICES, 6) => (|r, a| wbem(r, a, WbemOp::GetObject), Hresult),
        (WBEM_SERVICES, 20) => (|r, a| wbem(r, a, WbemOp::ExecQuery), Hresult),
        (WBEM_SERVICES, 24) => (|r, a| wbem(r, a, WbemOp::ExecMethod), Hresult),
        _ => return None,
    };
    Some(d)
}

// ---- Netlogon [MS-NRPC]

fn all_zero(b: &[u8]) -> bool {
    b.iter().all(|&x| x == 0)
}

/// `NETLOGON_SECURE_CHANNEL_TYPE` names.
fn channel_type(v: u32) -> ArgValue {
    let name = match v {
        0 => "NullSecureChannel",
        1 => "MsvApSecureChannel",
        2 => "WorkstationSecureChannel",
        3 => "TrustedDnsDomainSecureChannel",
        4 => "TrustedDomainSecureChannel",
        5 => "UasServerSecureChannel",
        6 => "ServerSecureChannel",
        7 => "CdcServerSecureChannel",
        _ => return ArgValue::Int(i64::from(v)),
    };
    ArgValue::Name(name)
}

/// NetrServerReqChallenge: PrimaryName, ComputerName, ClientChallenge.
fn req_challenge(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    r.skip_unique_string(true)?;
    put(a, "computer", r.string(true)?);
    let ch = r.bytes(8)?;
    a.0.push(("challenge_zero", ArgValue::Bool(all_zero(ch))));
    Some(())
}

/// PrimaryName, AccountName, SecureChannelType, ComputerName: the start of the
/// authenticate and password-set requests.
fn account_prefix(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    r.skip_unique_string(true)?;
    put(a, "account", r.string(true)?);
    let ct = r.enum16()?;
    a.0.push(("channel_type", channel_type(ct)));
    put(a, "computer", r.string(true)?);
    Some(())
}

/// NetrServerAuthenticate: the prefix and ClientCredential.
fn authenticate_no_flags(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    account_prefix(r, a)?;
    let cred = r.bytes(8)?;
    a.0.push(("credential_zero", ArgValue::Bool(all_zero(cred))));
    Some(())
}

/// NetrServerAuthenticate2/3: the prefix, ClientCredential and NegotiateFlags.
fn authenticate(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    authenticate_no_flags(r, a)?;
    put_int(a, "flags", r.u32()?);
    Some(())
}

/// NetrServerPasswordSet(2): the prefix and the Authenticator (credential, timestamp).
fn password_set(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    account_prefix(r, a)?;
    r.align(4)?;
    let cred = r.bytes(8)?;
    a.0.push(("credential_zero", ArgValue::Bool(all_zero(cred))));
    Some(())
}

// ---- Service control [MS-SCMR]

/// RCreateService{W,A} and RCreateServiceWOW64{W,A}: hSCManager, lpServiceName,
/// lpDisplayName, dwDesiredAccess, dwServiceType, dwStartType, dwErrorControl,
/// lpBinaryPathName.
fn create_service(r: &mut Ndr<'_>, a: &mut Args, wide: bool) -> Option<()> {
    r.handle()?;
    put(a, "service", r.string(wide)?);
    put_opt(a, "display_name", r.unique_string(wide)?);
    r.u32()?;
    let service_type = r.u32()?;
    let start_type = r.u32()?;
    r.u32()?;
    put(a, "binary_path", r.string(wide)?);
    put_int(a, "start_type", start_type);
    put_int(a, "service_type", service_type);
    Some(())
}

/// RChangeServiceConfig{W,A}: hService, dwServiceType, dwStartType, dwErrorControl,
/// lpBinaryPathName, lpLoadOrderGroup, lpdwTagId, lpDependencies, dwDependSize,
/// lpServiceStartName, lpPassword, dwPwSize, lpDisplayName.
fn change_service(r: &mut Ndr<'_>, a: &mut Args, wide: bool) -> Option<()> {
    r.handle()?;
    let service_type = r.u32()?;
    let start_type = r.u32()?;
    r.u32()?;
    put_opt(a, "binary_path", r.unique_string(wide)?);
    put_int(a, "start_type", start_type);
    put_int(a, "service_type", service_type);
    r.skip_unique_string(wide)?;
    if r.unique()? != 0 {
        r.u32()?;
    }
    unique_bytes(r)?;
    r.u32()?;
    r.skip_unique_string(wide)?;
    unique_bytes(r)?;
    r.u32()?;
    put_opt(a, "display_name", r.unique_string(wide)?);
    Some(())
}

/// A `[unique, size_is(n)] BYTE*`: skipped.
fn unique_bytes(r: &mut Ndr<'_>) -> Option<()> {
    if r.unique()? != 0 {
        let n = r.count()?;
        r.skip(usize::try_from(n).ok()?)?;
    }
    Some(())
}

/// ROpenService{W,A}: hSCManager, lpServiceName.
fn open_service(r: &mut Ndr<'_>, a: &mut Args, wide: bool) -> Option<()> {
    r.handle()?;
    put(a, "service", r.string(wide)?);
    Some(())
}

// ---- Task scheduler [MS-TSCH]

/// SchRpcRegisterTask: path, xml; the command is the task's `<Exec>` command and arguments.
fn register_task(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    put_opt(a, "path", r.unique_string(true)?);
    let xml = r.string(true)?;
    put_opt(a, "command", task_command(&xml));
    Some(())
}

/// The `<Command>` and `<Arguments>` of a task definition's first `<Exec>` action.
fn task_command(xml: &str) -> Option<String> {
    let element = |name: &str| {
        let open = format!("<{name}>");
        let start = xml.find(&open)? + open.len();
        let end = start + xml[start..].find(&format!("</{name}>"))?;
        Some(xml_unescape(xml[start..end].trim()))
    };
    let cmd = element("Command")?;
    Some(match element("Arguments") {
        Some(args) if !args.is_empty() => format!("{cmd} {args}"),
        _ => cmd,
    })
}

fn xml_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// NetrJobAdd: ServerName, then AT_INFO (JobTime, DaysOfMonth, DaysOfWeek, Flags, Command).
fn job_add(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    r.skip_unique_string(true)?;
    r.align_struct()?;
    r.int3264()?;
    r.u32()?;
    r.u8()?;
    r.u8()?;
    if r.unique()? != 0 {
        put(a, "command", r.string(true)?);
    }
    Some(())
}

// ---- Encrypting file system [MS-EFSR]

/// Operations whose first parameter is FileName.
fn efs_file(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    put(a, "file_name", r.string(true)?);
    Some(())
}

/// EfsRpcAddUsersToFileEx and EfsRpcFileKeyInfoEx: a DWORD, a reserved unique
/// `EFS_RPC_BLOB*` (null in practice), then FileName.
fn efs_file_after_blob(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    r.u32()?;
    if r.unique()? != 0 {
        // EFS_RPC_BLOB { cbData; [size_is(cbData)] bData* } and its bytes.
        r.u32()?;
        let p = r.unique()?;
        if p != 0 {
            let n = r.count()?;
            r.skip(usize::try_from(n).ok()?)?;
        }
    }
    efs_file(r, a)
}

// ---- Print spooler [MS-RPRN], [MS-PAR]

/// RpcOpenPrinter(Ex), RpcAsyncOpenPrinter: pPrinterName first.
fn open_printer(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    put_opt(a, "printer", r.unique_string(true)?);
    Some(())
}

/// RpcRemoteFindFirstPrinterChangeNotification(Ex): hPrinter, fdwFlags, fdwOptions,
/// pszLocalMachine.
fn find_first_notification(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    r.handle()?;
    r.u32()?;
    r.u32()?;
    put_opt(a, "local_machine", r.unique_string(true)?);
    Some(())
}

/// RpcAddPrinterDriver(Ex), RpcAsyncAddPrinterDriver: pName, then DRIVER_CONTAINER (Level,
/// the union's discriminant, a pointer to DRIVER_INFO_n). Levels 2, 3 and 4 are read: cVersion
/// and five string pointers (name, environment, driver path, data file, config file) lead each,
/// then the level's other fields; the strings follow the structure in pointer order.
fn add_printer_driver(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    put_opt(a, "printer", r.unique_string(true)?);
    r.align_struct()?;
    let level = r.u32()?;
    let disc = r.u32()?;
    if disc != level || r.unique()? == 0 {
        return Some(());
    }
    // The fields after the five leading pointers, by level: `true` a pointer, `false` a DWORD.
    let rest: &[bool] = match level {
        2 => &[],
        // pHelpFile, pMonitorName, pDefaultDataType, cchDependentFiles, pDependentFiles.
        3 => &[true, true, true, false, true],
        // Level 3's, then cchPreviousNames, pszzPreviousNames.
        4 => &[true, true, true, false, true, false, true],
        _ => return Some(()),
    };
    r.align_struct()?;
    r.u32()?;
    let mut ids = [0u64; 5];
    for id in &mut ids {
        *id = r.unique()?;
    }
    for &ptr in rest {
        if ptr {
            r.unique()?;
        } else {
            r.u32()?;
        }
    }
    let keys = ["", "", "driver_path", "data_file", "config_file"];
    for (id, key) in ids.iter().zip(keys) {
        if *id != 0 {
            if key.is_empty() {
                r.skip_string(true)?;
            } else {
                put(a, key, r.string(true)?);
            }
        }
    }
    Some(())
}

// ---- DFS namespaces [MS-DFSNM], shadow copies [MS-FSRVP]

/// NetrDfsAddStdRoot / NetrDfsRemoveStdRoot: ServerName, RootShare.
fn dfs_std_root(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    put(a, "server", r.string(true)?);
    put(a, "root_share", r.string(true)?);
    Some(())
}

/// IsPathSupported / IsPathShadowCopied: ShareName.
fn share_path(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    put(a, "share_path", r.string(true)?);
    Some(())
}

// ---- Directory replication [MS-DRSR]

/// IDL_DRSBind: puuidClientDsa.
fn drs_bind(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    if r.unique()? != 0 {
        put(a, "client_dsa", r.guid()?);
    }
    Some(())
}

/// A DSNAME (conformant structure): its string name.
fn dsname(r: &mut Ndr<'_>) -> Option<String> {
    let max = r.count()?;
    r.u32()?; // structLen
    r.u32()?; // SidLen
    r.skip_guid()?;
    r.skip(28)?; // NT4SID
    let name_len = r.u32()?;
    if u64::from(name_len) >= max {
        return None;
    }
    let n = usize::try_from(max).ok()?;
    let mut s = r.utf16(n)?;
    s.truncate(
        s.char_indices()
            .nth(name_len as usize)
            .map_or(s.len(), |(i, _)| i),
    );
    Some(s)
}

fn extended_op(v: u32) -> ArgValue {
    let name = match v {
        1 => "EXOP_FSMO_REQ_ROLE",
        2 => "EXOP_FSMO_REQ_RID_ALLOC",
        3 => "EXOP_FSMO_RID_REQ_ROLE",
        4 => "EXOP_FSMO_REQ_PDC",
        5 => "EXOP_FSMO_ABANDON_ROLE",
        6 => "EXOP_REPL_OBJ",
        7 => "EXOP_REPL_SECRETS",
        _ => return ArgValue::Int(i64::from(v)),
    };
    ArgValue::Name(name)
}

/// IDL_DRSGetNCChanges with a version 8, 10 or 11 request: hDrs, dwInVersion, the union's
/// discriminant, then DRS_MSG_GETCHGREQ_V8's fields; the naming context's DSNAME follows.
fn get_nc_changes(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    r.handle()?;
    let version = r.u32()?;
    if r.u32()? != version || !matches!(version, 8 | 10 | 11) {
        return Some(());
    }
    r.align(8)?;
    put(a, "dest_dsa", r.guid()?);
    r.skip_guid()?; // uuidInvocIdSrc
    let nc = r.unique()?;
    r.u64()?;
    r.u64()?;
    r.u64()?; // usnvecFrom
    r.unique()?;
    r.u32()?; // ulFlags
    r.u32()?; // cMaxObjects
    r.u32()?; // cMaxBytes
    let exop = r.u32()?;
    r.u64()?; // liFsmoInfo
    r.unique()?;
    r.unique()?;
    r.u32()?; // PrefixTableDest.PrefixCount
    r.unique()?;
    if version >= 10 {
        r.u32()?; // ulMoreFlags
    }
    if version == 11 {
        r.skip_guid()?; // correlationID
        r.unique()?; // pReservedBuffer
    }
    if nc != 0 {
        put(a, "naming_context", dsname(r)?);
    }
    if exop != 0 {
        a.0.push(("extended_op", extended_op(exop)));
    }
    Some(())
}

/// IDL_DRSReplicaAdd, version 1: pNC, pszDsaSrc.
fn replica_add(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    r.handle()?;
    let version = r.u32()?;
    if r.u32()? != version || version != 1 {
        return Some(());
    }
    let nc = r.unique()?;
    let src = r.unique()?;
    r.skip(84)?; // REPLTIMES
    r.u32()?; // ulOptions
    if nc != 0 {
        put(a, "object", dsname(r)?);
    }
    if src != 0 {
        put(a, "source_dsa", r.string(false)?);
    }
    Some(())
}

/// IDL_DRSAddEntry, version 2, first entry: its DSNAME (a list of several entries gives
/// the first one only when the list ends there).
fn add_entry(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    r.handle()?;
    let version = r.u32()?;
    if r.u32()? != version || version != 2 {
        return Some(());
    }
    let next = r.unique()?;
    let name = r.unique()?;
    r.u32()?; // ulFlags
    r.u32()?; // attrCount
    r.unique()?; // pAttr
    if next == 0 && name != 0 {
        put(a, "object", dsname(r)?);
    }
    Some(())
}

// ---- SAM [MS-SAMR], LSA [MS-LSAT], [MS-LSAD]

/// A counted array of RPC_UNICODE_STRING (fixed parts, then buffers): the first names.
fn unicode_strings(r: &mut Ndr<'_>, n: u64, a: &mut Args) -> Option<()> {
    let n = usize::try_from(n).ok()?;
    if n.checked_mul(8)? > r.remaining() {
        return None;
    }
    // The buffers' referent ids, a few inline (lookups name one or two accounts).
    let mut ids: smallvec::SmallVec<[u64; 8]> = smallvec::SmallVec::with_capacity(n);
    for _ in 0..n {
        ids.push(r.unicode_string_head()?);
    }
    let present = ids.iter().filter(|&&id| id != 0).count();
    let mut names = Vec::with_capacity(present.min(MAX_NAMES));
    for id in ids {
        if id != 0 {
            if names.len() < MAX_NAMES {
                names.push(r.unicode_string_body()?);
            } else {
                // Past the names kept: read over, as the body would be, not decoded.
                r.skip_string(true)?;
            }
        }
    }
    a.0.push(("names", ArgValue::List(names)));
    put_int(a, "count", i64::try_from(n).ok()?);
    Some(())
}

/// SamrLookupNamesInDomain: DomainHandle, Count, Names (`[size_is(1000), length_is(Count)]`).
fn samr_lookup_names(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    r.handle()?;
    let count = r.u32()?;
    let max = r.count()?;
    let offset = r.count()?;
    let actual = r.count()?;
    if actual > max || offset != 0 || actual != u64::from(count) {
        return None;
    }
    unicode_strings(r, actual, a)
}

/// SamrOpenUser/Group/Alias: handle, DesiredAccess, the RID.
fn samr_open(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    r.handle()?;
    r.u32()?;
    put_int(a, "rid", r.u32()?);
    Some(())
}

/// SamrAddMemberToGroup, SamrRemoveMemberFromGroup: handle, the member's RID.
fn samr_member_rid(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    r.handle()?;
    put_int(a, "rid", r.u32()?);
    Some(())
}

/// SamrAddMemberToAlias, SamrRemoveMemberFromAlias, SamrRemoveMemberFromForeignDomain:
/// handle, member SID.
fn samr_member_sid(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    r.handle()?;
    put(a, "member", r.sid()?);
    Some(())
}

/// LsarLookupNames(2,3): PolicyHandle, Count, Names (`[size_is(Count)]`); LsarLookupNames4
/// has no handle.
fn lsa_lookup_names(r: &mut Ndr<'_>, a: &mut Args, handle: bool) -> Option<()> {
    if handle {
        r.handle()?;
    }
    let count = r.u32()?;
    let max = r.count()?;
    if max != u64::from(count) {
        return None;
    }
    unicode_strings(r, max, a)
}

/// LsarLookupSids(2): PolicyHandle, SidEnumBuffer (Entries first); LsarLookupSids3 has no
/// handle.
fn lsa_lookup_sids(r: &mut Ndr<'_>, a: &mut Args, handle: bool) -> Option<()> {
    if handle {
        r.handle()?;
    }
    put_int(a, "count", r.u32()?);
    Some(())
}

/// LsarOpenSecret (SecretName), LsarStorePrivateData and LsarRetrievePrivateData (KeyName):
/// PolicyHandle, then the name as an RPC_UNICODE_STRING.
fn lsa_secret_name(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    r.handle()?;
    put_opt(a, "name", r.unicode_string()?);
    Some(())
}

// ---- Server and workstation services [MS-SRVS], [MS-WKST]

/// NetrSessionEnum: ServerName, ClientName, UserName, InfoStruct (Level first).
fn session_enum(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    r.skip_unique_string(true)?;
    let client = r.unique_string(true)?;
    let user = r.unique_string(true)?;
    r.align_struct()?;
    put_int(a, "level", r.u32()?);
    // An empty filter is no filter.
    put_opt(a, "client", client.filter(|s| !s.is_empty()));
    put_opt(a, "user", user.filter(|s| !s.is_empty()));
    Some(())
}

/// NetrShareEnum, NetrWkstaUserEnum: ServerName, then the enumeration structure (Level
/// first).
fn server_level(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    r.skip_unique_string(true)?;
    r.align_struct()?;
    put_int(a, "level", r.u32()?);
    Some(())
}

// ---- BackupKey [MS-BKRP]

/// BackuprKey: pguidActionAgent.
fn backup_key(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    let g = r.guid()?;
    let action = match g.as_str() {
        "7f752b10-178e-11d1-ab8f-00805f14db40" => "backup",
        "7fe94d50-178e-11d1-ab8f-00805f14db40" => "restore_win2k",
        "47270c64-2fc7-499b-ac5b-0e37cdce899a" => "restore",
        "018ff48a-eaba-40c6-8f6d-72370240e967" => "retrieve_backup_key",
        _ => {
            put(a, "action", g);
            return Some(());
        }
    };
    put(a, "action", action.to_string());
    Some(())
}

// ---- Registry [MS-RRP]

/// BaseRegOpenKey / BaseRegCreateKey: hKey, lpSubKey.
fn reg_key(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    r.handle()?;
    put_opt(a, "key", r.unicode_string()?);
    Some(())
}

/// BaseRegSaveKey(Ex): hKey, lpFile.
fn reg_save(r: &mut Ndr<'_>, a: &mut Args) -> Option<()> {
    r.handle()?;
    put_opt(a, "file", r.unicode_string()?);
    Some(())
}

// ---- WMI [MS-WMI] over DCOM

#[derive(Clone, Copy)]
enum WbemOp {
    GetObject,
    ExecQuery,
    ExecMethod,
}

/// ORPCTHIS: version, flags, reserved, causality id, extensions (must be null here).
fn orpcthis(r: &mut Ndr<'_>) -> Option<()> {
    r.align_struct()?;
    r.u16()?;
    r.u16()?;
    r.u32()?;
    r.u32()?;
    r.skip_guid()?;
    (r.unique()? == 0).then_some(())
}

/// A BSTR: a unique pointer to FLAGGED_WORD_BLOB (conformance, byte length, unit count,
/// UTF-16 units).
fn bstr(r: &mut Ndr<'_>) -> Option<Option<String>> {
    match bstr_units(r)? {
        None => Some(None),
        Some(n) => r.utf16(n).map(Some),
    }
}

/// Passes over what [`bstr`] reads, failing where it fails, without decoding the text.
fn skip_bstr(r: &mut Ndr<'_>) -> Option<()> {
    match bstr_units(r)? {
        None => Some(()),
        Some(n) => r.skip_utf16(n),
    }
}

/// A BSTR up to its UTF-16 units: how many follow (`None` for a null pointer); refused when
/// the unit count is not the conformance.
fn bstr_units(r: &mut Ndr<'_>) -> Option<Option<usize>> {
    if r.unique()? == 0 {
        return Some(None);
    }
    let max = r.count()?;
    r.u32()?; // cBytes
    let units = r.u32()?;
    if u64::from(units) != max {
        return None;
    }
    // A conformant array of `unsigned short`: read as a string of that many units.
    usize::try_from(max).ok().map(Some)
}

/// IWbemServices::GetObject (strObjectPath), ExecQuery (strQueryLanguage, strQuery),
/// ExecMethod (strObjectPath, strMethodName), after ORPCTHIS.
fn wbem(r: &mut Ndr<'_>, a: &mut Args, op: WbemOp) -> Option<()> {
    orpcthis(r)?;
    match op {
        WbemOp::GetObject => put_opt(a, "class", bstr(r)?),
        WbemOp::ExecQuery => {
            skip_bstr(r)?;
            put_opt(a, "query", bstr(r)?);
        }
        WbemOp::ExecMethod => {
            put_opt(a, "class", bstr(r)?);
            put_opt(a, "method", bstr(r)?);
        }
    }
    Some(())
}
