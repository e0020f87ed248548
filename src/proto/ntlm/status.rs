//! NT status codes (MS-ERREF 2.3) by name: the one table every carrier of NTLM and SMB uses for
//! `status` fields. Codes not listed here are reported as numbers.

/// The name of an NT status code, for the codes seen in authentication, SMB and named pipes.
pub fn nt_status_name(code: u32) -> Option<&'static str> {
    Some(match code {
        0x0000_0000 => "STATUS_SUCCESS",
        0x0000_0103 => "STATUS_PENDING",
        0x0000_010b => "STATUS_NOTIFY_CLEANUP",
        0x0000_010c => "STATUS_NOTIFY_ENUM_DIR",
        0x8000_0005 => "STATUS_BUFFER_OVERFLOW",
        0x8000_0006 => "STATUS_NO_MORE_FILES",
        0x8000_001a => "STATUS_NO_MORE_ENTRIES",
        0xc000_0001 => "STATUS_UNSUCCESSFUL",
        0xc000_0002 => "STATUS_NOT_IMPLEMENTED",
        0xc000_0003 => "STATUS_INVALID_INFO_CLASS",
        0xc000_0004 => "STATUS_INFO_LENGTH_MISMATCH",
        0xc000_0005 => "STATUS_ACCESS_VIOLATION",
        0xc000_0008 => "STATUS_INVALID_HANDLE",
        0xc000_000d => "STATUS_INVALID_PARAMETER",
        0xc000_000e => "STATUS_NO_SUCH_DEVICE",
        0xc000_000f => "STATUS_NO_SUCH_FILE",
        0xc000_0010 => "STATUS_INVALID_DEVICE_REQUEST",
        0xc000_0011 => "STATUS_END_OF_FILE",
        0xc000_0016 => "STATUS_MORE_PROCESSING_REQUIRED",
        0xc000_0017 => "STATUS_NO_MEMORY",
        0xc000_0022 => "STATUS_ACCESS_DENIED",
        0xc000_0023 => "STATUS_BUFFER_TOO_SMALL",
        0xc000_0033 => "STATUS_OBJECT_NAME_INVALID",
        0xc000_0034 => "STATUS_OBJECT_NAME_NOT_FOUND",
        0xc000_0035 => "STATUS_OBJECT_NAME_COLLISION",
        0xc000_003a => "STATUS_OBJECT_PATH_NOT_FOUND",
        0xc000_0043 => "STATUS_SHARING_VIOLATION",
        0xc000_0054 => "STATUS_FILE_LOCK_CONFLICT",
        0xc000_0055 => "STATUS_LOCK_NOT_GRANTED",
        0xc000_0056 => "STATUS_DELETE_PENDING",
        0xc000_005e => "STATUS_NO_LOGON_SERVERS",
        0xc000_005f => "STATUS_NO_SUCH_LOGON_SESSION",
        0xc000_0060 => "STATUS_NO_SUCH_PRIVILEGE",
        0xc000_0061 => "STATUS_PRIVILEGE_NOT_HELD",
        0xc000_0062 => "STATUS_INVALID_ACCOUNT_NAME",
        0xc000_0063 => "STATUS_USER_EXISTS",
        0xc000_0064 => "STATUS_NO_SUCH_USER",
        0xc000_0066 => "STATUS_NO_SUCH_GROUP",
        0xc000_006a => "STATUS_WRONG_PASSWORD",
        0xc000_006c => "STATUS_PASSWORD_RESTRICTION",
        0xc000_006d => "STATUS_LOGON_FAILURE",
        0xc000_006e => "STATUS_ACCOUNT_RESTRICTION",
        0xc000_006f => "STATUS_INVALID_LOGON_HOURS",
        0xc000_0070 => "STATUS_INVALID_WORKSTATION",
        0xc000_0071 => "STATUS_PASSWORD_EXPIRED",
        0xc000_0072 => "STATUS_ACCOUNT_DISABLED",
        0xc000_0073 => "STATUS_NONE_MAPPED",
        0xc000_009a => "STATUS_INSUFFICIENT_RESOURCES",
        0xc000_00ac => "STATUS_PIPE_NOT_AVAILABLE",
        0xc000_00ad => "STATUS_INVALID_PIPE_STATE",
        0xc000_00ae => "STATUS_PIPE_BUSY",
        0xc000_00b0 => "STATUS_PIPE_DISCONNECTED",
        0xc000_00b1 => "STATUS_PIPE_CLOSING",
        0xc000_00b5 => "STATUS_IO_TIMEOUT",
        0xc000_00ba => "STATUS_FILE_IS_A_DIRECTORY",
        0xc000_00bb => "STATUS_NOT_SUPPORTED",
        0xc000_00be => "STATUS_BAD_NETWORK_PATH",
        0xc000_00c9 => "STATUS_NETWORK_NAME_DELETED",
        0xc000_00ca => "STATUS_NETWORK_ACCESS_DENIED",
        0xc000_00cc => "STATUS_BAD_NETWORK_NAME",
        0xc000_00d0 => "STATUS_REQUEST_NOT_ACCEPTED",
        0xc000_00d4 => "STATUS_NOT_SAME_DEVICE",
        0xc000_0101 => "STATUS_DIRECTORY_NOT_EMPTY",
        0xc000_0103 => "STATUS_NOT_A_DIRECTORY",
        0xc000_0120 => "STATUS_CANCELLED",
        0xc000_0128 => "STATUS_FILE_CLOSED",
        0xc000_0133 => "STATUS_TIME_DIFFERENCE_AT_DC",
        0xc000_014b => "STATUS_PIPE_BROKEN",
        0xc000_015b => "STATUS_LOGON_TYPE_NOT_GRANTED",
        0xc000_0184 => "STATUS_INVALID_DEVICE_STATE",
        0xc000_018b => "STATUS_NO_TRUST_SAM_ACCOUNT",
        0xc000_018d => "STATUS_TRUSTED_RELATIONSHIP_FAILURE",
        0xc000_0190 => "STATUS_TRUST_FAILURE",
        0xc000_0192 => "STATUS_NETLOGON_NOT_STARTED",
        0xc000_0193 => "STATUS_ACCOUNT_EXPIRED",
        0xc000_0199 => "STATUS_NOLOGON_WORKSTATION_TRUST_ACCOUNT",
        0xc000_019a => "STATUS_NOLOGON_SERVER_TRUST_ACCOUNT",
        0xc000_0203 => "STATUS_USER_SESSION_DELETED",
        0xc000_020c => "STATUS_CONNECTION_DISCONNECTED",
        0xc000_0224 => "STATUS_PASSWORD_MUST_CHANGE",
        0xc000_0225 => "STATUS_NOT_FOUND",
        0xc000_0234 => "STATUS_ACCOUNT_LOCKED_OUT",
        0xc000_0257 => "STATUS_PATH_NOT_COVERED",
        0xc000_035c => "STATUS_NETWORK_SESSION_EXPIRED",
        0xc000_0388 => "STATUS_DOWNGRADE_DETECTED",
        0xc000_0413 => "STATUS_AUTHENTICATION_FIREWALL_FAILED",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logon_statuses_have_their_names() {
        assert_eq!(nt_status_name(0), Some("STATUS_SUCCESS"));
        assert_eq!(nt_status_name(0xc000_006d), Some("STATUS_LOGON_FAILURE"));
        assert_eq!(
            nt_status_name(0xc000_0016),
            Some("STATUS_MORE_PROCESSING_REQUIRED")
        );
        assert_eq!(
            nt_status_name(0xc000_0234),
            Some("STATUS_ACCOUNT_LOCKED_OUT")
        );
        assert_eq!(nt_status_name(0xc000_0072), Some("STATUS_ACCOUNT_DISABLED"));
        assert_eq!(nt_status_name(0xc000_0071), Some("STATUS_PASSWORD_EXPIRED"));
        assert_eq!(nt_status_name(0xc000_0022), Some("STATUS_ACCESS_DENIED"));
        assert_eq!(nt_status_name(0xc000_9999), None);
    }

    #[test]
    fn names_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in (0..0x1000u32)
            .chain(0x8000_0000..0x8000_1000)
            .chain(0xc000_0000..0xc000_1000)
        {
            if let Some(n) = nt_status_name(code) {
                assert!(n.starts_with("STATUS_"), "{n}");
                assert!(seen.insert(n), "{n} twice");
            }
        }
    }
}
