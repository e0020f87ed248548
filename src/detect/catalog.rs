//! The detections the engine knows: name, title, Microsoft Defender for Identity id, ATT&CK
//! techniques, kill-chain phase, severity and their thresholds with defaults. This table is the
//! data behind the configuration check (an unknown detection or threshold is refused), the
//! example configuration and the README's list.

/// A tunable number of a detection.
#[derive(Debug, Clone, Copy)]
pub struct Threshold {
    pub name: &'static str,
    pub default: f64,
    /// A count (lowered by the levels `medium`, half, and `low`, a quarter); else a duration or
    /// a size, which levels leave alone.
    pub count: bool,
    pub doc: &'static str,
}

/// One detection's description.
#[derive(Debug, Clone, Copy)]
pub struct Def {
    pub name: &'static str,
    pub title: &'static str,
    pub mdi: Option<u32>,
    pub attack: &'static [&'static str],
    pub phase: &'static str,
    pub severity: &'static str,
    pub thresholds: &'static [Threshold],
    /// What raises it, in one line (README and example configuration).
    pub doc: &'static str,
}

const fn th(name: &'static str, default: f64, count: bool, doc: &'static str) -> Threshold {
    Threshold {
        name,
        default,
        count,
        doc,
    }
}

const WINDOW_10M: Threshold = th(
    "window",
    600.0,
    false,
    "seconds the evidence is counted over",
);

/// The detections, in the order of [`D`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum D {
    AccountEnumeration,
    DnsReconnaissance,
    SmbSessionEnumeration,
    LdapReconnaissance,
    SamrReconnaissance,
    Kerberoasting,
    AsrepRoasting,
    BruteForce,
    PasswordSpray,
    Dcsync,
    DpapiBackupKey,
    HoneytokenActivity,
    RemoteRegistrySecrets,
    GmsaKeyRetrieval,
    PassTheTicket,
    OverpassTheHash,
    PassTheHash,
    RemoteCodeExecution,
    NtlmRelay,
    NtlmTampering,
    AdminShareExecutable,
    SmbExfiltration,
    GoldenTicket,
    SilverTicket,
    Dcshadow,
    SkeletonKey,
    Zerologon,
    Coercion,
    PrintNightmare,
    SensitiveGroupAddition,
    DelegationAbuse,
    CertificateAbuse,
}

impl D {
    /// The description of this detection.
    pub fn def(self) -> &'static Def {
        &CATALOG[self as usize]
    }
}

/// Every detection, in the order of [`D`].
pub const CATALOG: &[Def] = &[
    Def { name: "account_enumeration", title: "Account enumeration reconnaissance", mdi: Some(2003),
        attack: &["T1087.002"], phase: "reconnaissance", severity: "medium",
        thresholds: &[th("unknown_names", 10.0, true, "distinct names the KDC, NTLM or a CLDAP ping answered as unknown"), WINDOW_10M],
        doc: "one source asks about many account names that do not exist (Kerberos C_PRINCIPAL_UNKNOWN, NTLM STATUS_NO_SUCH_USER, CLDAP pings)" },
    Def { name: "dns_reconnaissance", title: "Network-mapping reconnaissance (DNS)", mdi: Some(2007),
        attack: &["T1018", "T1590.002"], phase: "reconnaissance", severity: "medium",
        thresholds: &[th("reverse_lookups", 50.0, true, "distinct reverse (PTR) names asked"),
            th("unknown_names", 200.0, true, "distinct names answered NXDOMAIN"),
            th("window", 300.0, false, "seconds the lookups are counted over")],
        doc: "a zone transfer (AXFR/IXFR) asked by a host that is not a DNS server, or sweeps of reverse lookups or of names that do not exist" },
    Def { name: "smb_session_enumeration", title: "User and IP address reconnaissance (SMB)", mdi: Some(2012),
        attack: &["T1033", "T1049"], phase: "reconnaissance", severity: "medium",
        thresholds: &[th("calls", 1.0, true, "NetrSessionEnum or NetrWkstaUserEnum calls"), WINDOW_10M],
        doc: "NetrSessionEnum or NetrWkstaUserEnum sent to a domain controller" },
    Def { name: "ldap_reconnaissance", title: "Security principal reconnaissance (LDAP)", mdi: Some(2038),
        attack: &["T1087.002", "T1069.002", "T1482"], phase: "reconnaissance", severity: "medium",
        thresholds: &[th("query_kinds", 4.0, true, "kinds of directory-wide queries (users, computers, groups, SPNs, adminCount, delegation, GPOs, trusts, DCs)"), WINDOW_10M],
        doc: "one source reads the directory the way collectors such as BloodHound do: many kinds of security-principal queries in a short time" },
    Def { name: "samr_reconnaissance", title: "Security principal reconnaissance (SAM-R) of sensitive groups", mdi: Some(2021),
        attack: &["T1069.002", "T1087.002"], phase: "reconnaissance", severity: "medium",
        thresholds: &[th("lookups", 1.0, true, "member lists of sensitive groups read"), WINDOW_10M],
        doc: "SAM-R opens a sensitive group or alias (Domain Admins, Administrators, ...) and reads its members" },
    Def { name: "kerberoasting", title: "Suspected Kerberos SPN exposure (Kerberoasting)", mdi: Some(2410),
        attack: &["T1558.003"], phase: "credential_access", severity: "high",
        thresholds: &[th("services", 3.0, true, "distinct services asked for with RC4 offered first or alone"), WINDOW_10M],
        doc: "one source asks service tickets for several services offering RC4 first or alone" },
    Def { name: "asrep_roasting", title: "Suspected AS-REP roasting attack", mdi: Some(2412),
        attack: &["T1558.004"], phase: "credential_access", severity: "high",
        thresholds: &[th("accounts", 1.0, true, "distinct accounts answered with an AS-REP to a request without pre-authentication offering no AES type"),
            th("aes_accounts", 3.0, true, "the same, for requests that offer AES"), WINDOW_10M],
        doc: "AS-REPs issued to requests without PA-ENC-TIMESTAMP (accounts without pre-authentication)" },
    Def { name: "brute_force", title: "Suspected brute-force attack (Kerberos, NTLM, LDAP)", mdi: Some(2023),
        attack: &["T1110.001"], phase: "credential_access", severity: "medium",
        thresholds: &[th("failures", 10.0, true, "failed logons for one account from one source"), WINDOW_10M],
        doc: "many failed logons for one account from one source (Kerberos PREAUTH_FAILED, NTLM logon failure, LDAP simple bind invalidCredentials)" },
    Def { name: "password_spray", title: "Suspected password spray attack", mdi: Some(2023),
        attack: &["T1110.003"], phase: "credential_access", severity: "medium",
        thresholds: &[th("accounts", 5.0, true, "distinct accounts with failed logons from one source"),
            th("window", 1800.0, false, "seconds the failures are counted over")],
        doc: "failed logons for many accounts from one source, few tries each" },
    Def { name: "dcsync", title: "Suspected DCSync attack (replication of directory services)", mdi: Some(2006),
        attack: &["T1003.006"], phase: "credential_access", severity: "high",
        thresholds: &[], doc: "DRSGetNCChanges (or DRSReplicaSync) from a host that is not a domain controller" },
    Def { name: "dpapi_backup_key", title: "Malicious request of Data Protection API master key", mdi: Some(2020),
        attack: &["T1555"], phase: "credential_access", severity: "high",
        thresholds: &[], doc: "BackuprKey asking the domain's DPAPI backup key, or LsarRetrievePrivateData of G$BCKUPKEY secrets" },
    Def { name: "honeytoken_activity", title: "Honeytoken activity", mdi: Some(2014),
        attack: &["T1078"], phase: "credential_access", severity: "high",
        thresholds: &[], doc: "any authentication or lookup naming a configured honeytoken account" },
    Def { name: "remote_registry_secrets", title: "Remote registry hive save of SAM or SECURITY", mdi: None,
        attack: &["T1003.002", "T1003.004"], phase: "credential_access", severity: "high",
        thresholds: &[], doc: "BaseRegSaveKey of the SAM, SECURITY or SYSTEM hive over remote registry" },
    Def { name: "gmsa_key_retrieval", title: "Group Key Distribution Service key retrieval (gMSA)", mdi: None,
        attack: &["T1555"], phase: "credential_access", severity: "medium",
        thresholds: &[], doc: "MS-GKDI GetKey from a host that is not a domain controller (golden gMSA)" },
    Def { name: "pass_the_ticket", title: "Suspected identity theft (pass-the-ticket)", mdi: Some(2018),
        attack: &["T1550.003"], phase: "lateral_movement", severity: "high",
        thresholds: &[], doc: "a Kerberos ticket presented from a host other than the one it was issued to or first used from, seen by any sensor" },
    Def { name: "overpass_the_hash", title: "Encryption downgrade activity (overpass-the-hash)", mdi: Some(2008),
        attack: &["T1550.002"], phase: "lateral_movement", severity: "medium",
        thresholds: &[th("aes_share", 0.9, false, "share of the realm's AS-REQs offering AES above which RC4-only is a downgrade, once learned"),
            th("min_samples", 20.0, false, "AS-REQs of a realm seen before its share counts (before that the realm is assumed AES)")],
        doc: "a Kerberos logon pre-authenticated with RC4 from a request offering no AES type, in a realm whose clients use AES" },
    Def { name: "pass_the_hash", title: "Suspected identity theft (pass-the-hash)", mdi: Some(2017),
        attack: &["T1550.002"], phase: "lateral_movement", severity: "medium",
        thresholds: &[th("learning", 604800.0, false, "seconds of NTLM logons learned before a new account-host pair is suspicious")],
        doc: "NTLM logon for an account from a host it never used during the learned baseline" },
    Def { name: "remote_code_execution", title: "Remote code execution attempt", mdi: Some(2019),
        attack: &["T1569.002", "T1053.005", "T1047", "T1021.003"], phase: "lateral_movement", severity: "high",
        thresholds: &[], doc: "service creation (svcctl), scheduled tasks (tsch, atsvc), WMI process creation or DCOM activation against a host" },
    Def { name: "ntlm_relay", title: "Suspected NTLM relay attack", mdi: Some(2037),
        attack: &["T1557.001"], phase: "lateral_movement", severity: "high",
        thresholds: &[], doc: "an NTLM target name naming another server than the one that received it, or a domain controller's machine account logging on to another host" },
    Def { name: "ntlm_tampering", title: "Suspected NTLM authentication tampering", mdi: Some(2039),
        attack: &["T1557.001"], phase: "lateral_movement", severity: "medium",
        thresholds: &[], doc: "an NTLMv2 AUTHENTICATE without a MIC whose target information shows a client that sets one (CVE-2019-1040)" },
    Def { name: "admin_share_executable", title: "Executable written to a domain controller share", mdi: None,
        attack: &["T1021.002", "T1570"], phase: "lateral_movement", severity: "high",
        thresholds: &[], doc: "an executable or script created or written on ADMIN$, C$ or another disk share of a domain controller" },
    Def { name: "smb_exfiltration", title: "Suspicious data exfiltration over SMB", mdi: Some(2030),
        attack: &["T1003.003", "T1039"], phase: "exfiltration", severity: "high",
        thresholds: &[th("bytes", 1048576.0, false, "bytes read of ntds.dit, SAM, SECURITY or SYSTEM that raise it")],
        doc: "large reads of ntds.dit or of the SAM, SECURITY and SYSTEM hives from a domain controller" },
    Def { name: "golden_ticket", title: "Suspected golden ticket usage", mdi: Some(2027),
        attack: &["T1558.001"], phase: "domain_dominance", severity: "high",
        thresholds: &[th("ticket_lifetime", 36000.0, false, "seconds a TGT lives; a TGT never issued is suspicious once the KDC was watched this long (learning)")],
        doc: "a TGT presented for an account that does not exist, in RC4 where the realm issues AES, or (after learning) never issued by any watched KDC" },
    Def { name: "silver_ticket", title: "Suspected silver ticket usage", mdi: None,
        attack: &["T1558.002"], phase: "domain_dominance", severity: "high",
        thresholds: &[th("ticket_lifetime", 36000.0, false, "seconds a service ticket lives; one never issued is suspicious once the KDC was watched this long (learning)")],
        doc: "a service ticket for a domain controller's service that the KDC never issued (after learning), or in RC4 where the KDC issues AES" },
    Def { name: "dcshadow", title: "Suspected DCShadow attack (domain controller promotion or replication)", mdi: Some(2028),
        attack: &["T1207"], phase: "domain_dominance", severity: "high",
        thresholds: &[], doc: "DRSAddEntry or DRSReplicaAdd from a host that is not a domain controller, or an LDAP add of an NTDS Settings object" },
    Def { name: "skeleton_key", title: "Suspected skeleton key attack (encryption downgrade)", mdi: Some(2010),
        attack: &["T1556.001"], phase: "domain_dominance", severity: "high",
        thresholds: &[], doc: "a domain controller offering only RC4 in PREAUTH_REQUIRED to a client asking AES, for an account it offered AES before" },
    Def { name: "zerologon", title: "Suspected Netlogon privilege elevation attempt (CVE-2020-1472)", mdi: Some(2411),
        attack: &["T1210"], phase: "privilege_escalation", severity: "high",
        thresholds: &[th("attempts", 20.0, true, "Netlogon challenge and authenticate pairs that raise it when the credential cannot be read"),
            th("window", 120.0, false, "seconds the attempts are counted over")],
        doc: "Netlogon authentication with an all-zero client credential (attempt) followed by NetrServerPasswordSet2 (success); without arguments, bursts of challenge/authenticate" },
    Def { name: "coercion", title: "Suspected authentication coercion (EFSRPC, print spooler, DFS, FSRVP)", mdi: Some(2416),
        attack: &["T1187"], phase: "credential_access", severity: "high",
        thresholds: &[], doc: "calls that make a server authenticate to a host named in them (PetitPotam, PrinterBug, DFSCoerce, ShadowCoerce)" },
    Def { name: "print_nightmare", title: "Suspected exploitation attempt on the print spooler (PrintNightmare)", mdi: Some(2415),
        attack: &["T1068", "T1547.012"], phase: "privilege_escalation", severity: "high",
        thresholds: &[], doc: "RpcAddPrinterDriverEx or RpcAsyncAddPrinterDriver sent to a domain controller" },
    Def { name: "sensitive_group_addition", title: "Suspicious additions to sensitive groups", mdi: Some(2024),
        attack: &["T1098"], phase: "persistence", severity: "medium",
        thresholds: &[], doc: "SAM-R AddMember to a sensitive group, or an LDAP modify adding a member to one" },
    Def { name: "delegation_abuse", title: "Suspicious Kerberos delegation", mdi: None,
        attack: &["T1558", "T1134.001"], phase: "privilege_escalation", severity: "high",
        thresholds: &[], doc: "S4U2self for a sensitive account, or a write of msDS-AllowedToActOnBehalfOfOtherIdentity (resource-based constrained delegation)" },
    Def { name: "certificate_abuse", title: "Suspected certificate usage (PKINIT for another principal)", mdi: Some(2425),
        attack: &["T1649"], phase: "privilege_escalation", severity: "high",
        thresholds: &[], doc: "a PKINIT logon whose certificate's subject alternative name names another principal than the one asking" },
];

/// The detection of a name.
pub fn by_name(name: &str) -> Option<D> {
    CATALOG.iter().position(|d| d.name == name).map(|i| ALL[i])
}

/// Every detection, in catalog order.
pub const ALL: [D; 32] = [
    D::AccountEnumeration,
    D::DnsReconnaissance,
    D::SmbSessionEnumeration,
    D::LdapReconnaissance,
    D::SamrReconnaissance,
    D::Kerberoasting,
    D::AsrepRoasting,
    D::BruteForce,
    D::PasswordSpray,
    D::Dcsync,
    D::DpapiBackupKey,
    D::HoneytokenActivity,
    D::RemoteRegistrySecrets,
    D::GmsaKeyRetrieval,
    D::PassTheTicket,
    D::OverpassTheHash,
    D::PassTheHash,
    D::RemoteCodeExecution,
    D::NtlmRelay,
    D::NtlmTampering,
    D::AdminShareExecutable,
    D::SmbExfiltration,
    D::GoldenTicket,
    D::SilverTicket,
    D::Dcshadow,
    D::SkeletonKey,
    D::Zerologon,
    D::Coercion,
    D::PrintNightmare,
    D::SensitiveGroupAddition,
    D::DelegationAbuse,
    D::CertificateAbuse,
];
