//! Names of the DCE-RPC codes records carry: authentication types and levels, bind refusal
//! reasons, fault statuses.

use crate::record::Code;
use std::borrow::Cow;

/// The auth type name (`ntlmssp`, `kerberos`, `spnego`, `netlogon`, `none`) or its number.
pub fn auth_type(t: u8) -> Code {
    let name = match t {
        0 => Some("none"),
        9 => Some("spnego"),
        10 => Some("ntlmssp"),
        16 => Some("kerberos"),
        68 => Some("netlogon"),
        _ => None,
    };
    Code::new(i64::from(t), name)
}

/// The auth level name (`none`, `connect`, `call`, `pkt`, `integrity`, `privacy`) or its number.
pub fn auth_level(l: u8) -> Code {
    let name = match l {
        1 => Some("none"),
        2 => Some("connect"),
        3 => Some("call"),
        4 => Some("pkt"),
        5 => Some("integrity"),
        6 => Some("privacy"),
        _ => None,
    };
    Code::new(i64::from(l), name)
}

/// The reason a server gave for refusing a presentation context in a bind answer.
pub(super) fn provider_reason(r: u16) -> Cow<'static, str> {
    Cow::Borrowed(match r {
        0 => "reason_not_specified",
        1 => "abstract_syntax_not_supported",
        2 => "proposed_transfer_syntaxes_not_supported",
        3 => "local_limit_exceeded",
        _ => return Cow::Owned(format!("0x{r:x}")),
    })
}

pub(super) fn reject_reason(r: u16) -> Option<&'static str> {
    Some(match r {
        0 => "reason_not_specified",
        1 => "temporary_congestion",
        2 => "local_limit_exceeded",
        3 => "called_paddr_unknown",
        4 => "protocol_version_not_supported",
        5 => "default_context_not_supported",
        6 => "user_data_not_readable",
        7 => "no_psap_available",
        8 => "authentication_type_not_recognized",
        9 => "invalid_checksum",
        _ => return None,
    })
}

/// The name of a fault status (DCE `nca_s_*` codes and the Windows ones seen in faults).
pub fn fault_name(status: u32) -> Option<&'static str> {
    Some(match status {
        0x0000_0005 => "nca_s_fault_access_denied",
        0x0000_06f7 => "nca_s_fault_ndr",
        0x0000_06d8 => "nca_s_fault_cant_perform",
        0x1c00_0001 => "nca_s_fault_int_div_by_zero",
        0x1c00_0002 => "nca_s_fault_addr_error",
        0x1c00_0003 => "nca_s_fault_fp_div_zero",
        0x1c00_0004 => "nca_s_fault_fp_underflow",
        0x1c00_0005 => "nca_s_fault_fp_overflow",
        0x1c00_0006 => "nca_s_fault_invalid_tag",
        0x1c00_0007 => "nca_s_fault_invalid_bound",
        0x1c00_0008 => "nca_s_rpc_version_mismatch",
        0x1c00_0009 => "nca_s_unspec_reject",
        0x1c00_000a => "nca_s_bad_actid",
        0x1c00_000b => "nca_s_who_are_you_failed",
        0x1c00_000c => "nca_s_manager_not_entered",
        0x1c00_000d => "nca_s_fault_cancel",
        0x1c00_000e => "nca_s_fault_ill_inst",
        0x1c00_000f => "nca_s_fault_fp_error",
        0x1c00_0010 => "nca_s_fault_int_overflow",
        0x1c00_0012 => "nca_s_fault_unspec",
        0x1c00_0013 => "nca_s_fault_remote_comm_failure",
        0x1c00_0014 => "nca_s_fault_pipe_empty",
        0x1c00_0015 => "nca_s_fault_pipe_closed",
        0x1c00_0016 => "nca_s_fault_pipe_order",
        0x1c00_0017 => "nca_s_fault_pipe_discipline",
        0x1c00_0018 => "nca_s_fault_pipe_comm_error",
        0x1c00_0019 => "nca_s_fault_pipe_memory",
        0x1c00_001a => "nca_s_fault_context_mismatch",
        0x1c00_001b => "nca_s_fault_remote_no_memory",
        0x1c00_001c => "nca_s_invalid_pres_context_id",
        0x1c00_001d => "nca_s_unsupported_authn_level",
        0x1c00_001f => "nca_s_invalid_checksum",
        0x1c00_0020 => "nca_s_invalid_crc",
        0x1c00_0021 => "nca_s_fault_user_defined",
        0x1c00_0022 => "nca_s_fault_tx_open_failed",
        0x1c00_0023 => "nca_s_fault_codeset_conv_error",
        0x1c00_0024 => "nca_s_fault_object_not_found",
        0x1c00_0025 => "nca_s_fault_no_client_stub",
        0x1c01_0001 => "nca_s_comm_failure",
        0x1c01_0002 => "nca_s_op_rng_error",
        0x1c01_0003 => "nca_s_unk_if",
        0x1c01_0006 => "nca_s_wrong_boot_time",
        0x1c01_0009 => "nca_s_you_crashed",
        0x1c01_000b => "nca_s_proto_error",
        0x1c01_0013 => "nca_s_out_args_too_big",
        0x1c01_0014 => "nca_s_server_too_busy",
        0x1c01_0015 => "nca_s_fault_string_too_long",
        0x1c01_0017 => "nca_s_unsupported_type",
        _ => return None,
    })
}

/// A fault status as its name, else `0x%08x`.
pub fn fault_string(status: u32) -> Cow<'static, str> {
    match fault_name(status) {
        Some(n) => Cow::Borrowed(n),
        None => Cow::Owned(format!("0x{status:08x}")),
    }
}
