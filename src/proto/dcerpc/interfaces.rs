//! The interface and operation table: every DCE-RPC interface dcsensor names, with the name of
//! each operation by opnum, authored from Microsoft's published protocol specifications (the
//! IDL in [MS-SAMR], [MS-LSAD]/[MS-LSAT], [MS-DRSR], [MS-NRPC], [MS-SRVS], [MS-WKST], [MS-SCMR],
//! [MS-TSCH], [MS-RPCE], [MS-BKRP], [MS-RRP], [MS-RPRN], [MS-PAR], [MS-EFSR], [MS-DFSNM],
//! [MS-DSSP], [MS-DCOM], [MS-WMI], [MS-EVEN6], [MS-EVEN], [MS-ICPR], [MS-WCCE], [MS-CSRA],
//! [MS-FSRVP], [MS-GKDI], [MS-CAPR], [MS-TSTS], [MS-DNSP], [MS-RSP], [MS-RAA], [MS-NSPI],
//! [MS-OXCRPC], [MS-FRS1], [MS-FRS2] and [MS-OAUT]), checked opnum by opnum against that IDL
//! and against Samba's and Wireshark's tables.
//!
//! It is data in one place: [`INTERFACES`] is sorted by UUID (a test checks it) and looked up by
//! binary search on the UUID as a `u128`, so naming a call costs no allocation. To add an
//! interface, add its operation list and one `iface(...)` line in UUID order. Opnums the specs
//! reserve ("OpnumNNNotUsedOnWire") keep that name, except where an operation the current
//! specification retired is still sent by attacks or older clients: it keeps its historical name
//! (dssetup 9 `DsRolerUpgradeDownlevelServer`, the MS04-011 call; Exchange's EMSMDB and NSPI;
//! winreg's shutdown calls from [MS-RSP]). Where the IDL name carries the `IDL_` prefix
//! ([MS-DRSR]) the record uses the operation's name without it (`DRSGetNCChanges`).

use super::parse::Uuid;

/// One interface: its UUID, short name, version and operation names by opnum.
#[derive(Debug)]
pub struct Interface {
    pub uuid: Uuid,
    pub name: &'static str,
    pub major: u16,
    pub minor: u16,
    pub ops: &'static [&'static str],
}

impl Interface {
    /// The name of operation `opnum`, if the interface defines it.
    pub fn operation(&self, opnum: u16) -> Option<&'static str> {
        self.ops.get(usize::from(opnum)).copied()
    }
}

/// The interface with this UUID, if known.
pub fn lookup(uuid: Uuid) -> Option<&'static Interface> {
    INTERFACES
        .binary_search_by_key(&uuid, |i| i.uuid)
        .ok()
        .map(|k| &INTERFACES[k])
}

/// Parses a canonical UUID string at compile time.
const fn parse_uuid(s: &str) -> Uuid {
    let b = s.as_bytes();
    let mut v: u128 = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'-' => {
                i += 1;
                continue;
            }
            _ => panic!("bad uuid"),
        };
        v = (v << 4) | d as u128;
        i += 1;
    }
    v
}

const fn iface(
    uuid: &str,
    name: &'static str,
    major: u16,
    minor: u16,
    ops: &'static [&'static str],
) -> Interface {
    Interface {
        uuid: parse_uuid(uuid),
        name,
        major,
        minor,
        ops,
    }
}

/// Every known interface, sorted by UUID.
pub static INTERFACES: &[Interface] = &[
    // [MS-DCOM] IRemUnknown
    iface(
        "00000131-0000-0000-c000-000000000046",
        "IRemUnknown",
        0,
        0,
        IREMUNKNOWN_OPS,
    ),
    // [MS-DCOM] IRemUnknown2
    iface(
        "00000143-0000-0000-c000-000000000046",
        "IRemUnknown2",
        0,
        0,
        IREMUNKNOWN2_OPS,
    ),
    // [MS-DCOM] IRemoteSCMActivator (ISystemActivator)
    iface(
        "000001a0-0000-0000-c000-000000000046",
        "IRemoteSCMActivator",
        0,
        0,
        REMOTE_SCM_ACTIVATOR_OPS,
    ),
    // [MS-OAUT]
    iface(
        "00020400-0000-0000-c000-000000000046",
        "IDispatch",
        0,
        0,
        IDISPATCH_OPS,
    ),
    // [MS-WMI]
    iface(
        "027947e1-d731-11ce-a357-000000000001",
        "IEnumWbemClassObject",
        0,
        0,
        ENUM_WBEM_CLASS_OBJECT_OPS,
    ),
    // [MS-RAA]
    iface(
        "0b1c2170-5732-4e0e-8cd3-d9b16f3b84d7",
        "authzr",
        0,
        0,
        AUTHZR_OPS,
    ),
    // [MS-TSTS] LSM notification
    iface(
        "11899a43-2b68-4a76-92e3-a3d6ad8c26ce",
        "TermSrvNotification",
        1,
        0,
        TS_NOTIFICATION_OPS,
    ),
    // [MS-RPRN]
    iface(
        "12345678-1234-abcd-ef00-0123456789ab",
        "spoolss",
        1,
        0,
        SPOOLSS_OPS,
    ),
    // [MS-NRPC]
    iface(
        "12345678-1234-abcd-ef00-01234567cffb",
        "netlogon",
        1,
        0,
        NETLOGON_OPS,
    ),
    // [MS-LSAD], [MS-LSAT]
    iface(
        "12345778-1234-abcd-ef00-0123456789ab",
        "lsarpc",
        0,
        0,
        LSARPC_OPS,
    ),
    // [MS-SAMR]
    iface(
        "12345778-1234-abcd-ef00-0123456789ac",
        "samr",
        1,
        0,
        SAMR_OPS,
    ),
    // [MS-TSTS] session environment
    iface(
        "1257b580-ce2f-4109-82d6-a9459d0bf6bc",
        "SessEnvPublicRpc",
        1,
        0,
        TS_SESSENV_OPS,
    ),
    // [MS-TSCH] ATSvc
    iface(
        "1ff70682-0a51-30e8-076d-740be8cee98b",
        "atsvc",
        1,
        0,
        ATSVC_OPS,
    ),
    // [MS-RRP]
    iface(
        "338cd001-2244-31f1-aaaa-900038001003",
        "winreg",
        1,
        0,
        WINREG_OPS,
    ),
    // [MS-SCMR]
    iface(
        "367abb81-9844-35f1-ad32-98f038001003",
        "svcctl",
        2,
        0,
        SVCCTL_OPS,
    ),
    // [MS-TSCH] SASec
    iface(
        "378e52b0-c0a9-11cf-822d-00aa0051e40f",
        "sasec",
        1,
        0,
        SASEC_OPS,
    ),
    // [MS-DSSP]
    iface(
        "3919286a-b10c-11d0-9ba8-00c04fd92ef5",
        "dssetup",
        0,
        0,
        DSSETUP_OPS,
    ),
    // [MS-BKRP]
    iface(
        "3dde7c30-165d-11d1-ab8f-00805f14db40",
        "bkrp",
        1,
        0,
        BKRP_OPS,
    ),
    // [MS-WMI]
    iface(
        "44aca675-e8fc-11d0-a07c-00c04fb68820",
        "IWbemCallResult",
        0,
        0,
        WBEM_CALL_RESULT_OPS,
    ),
    // [MS-TSTS] LSM session
    iface(
        "484809d6-4239-471b-b5bc-61df8c23ac48",
        "TermSrvSession",
        1,
        0,
        TS_SESSION_OPS,
    ),
    // [MS-TSTS] TermSrv listener
    iface(
        "497d95a6-2d27-4bf5-9bbd-a6046957133c",
        "RCMListener",
        1,
        0,
        TS_RCM_LISTENER_OPS,
    ),
    // [MS-SRVS]
    iface(
        "4b324fc8-1670-01d3-1278-5a47bf6ee188",
        "srvsvc",
        3,
        0,
        SRVSVC_OPS,
    ),
    // [MS-DCOM] IActivation
    iface(
        "4d9f4ab8-7d1c-11cf-861e-0020af6e7c57",
        "IActivation",
        0,
        0,
        IACTIVATION_OPS,
    ),
    // [MS-DFSNM]
    iface(
        "4fc742e0-4a10-11cf-8273-00aa004ae673",
        "netdfs",
        3,
        0,
        NETDFS_OPS,
    ),
    // [MS-DNSP]
    iface(
        "50abc2a4-574d-40b3-9d66-ee4fd5fba076",
        "DnsServer",
        5,
        0,
        DNSSERVER_OPS,
    ),
    // [MS-TSTS] virtual IP
    iface(
        "53b46b02-c73b-4a3e-8dee-b16b80672fc0",
        "TSVIPPublic",
        1,
        0,
        TS_VIP_OPS,
    ),
    // [MS-WCCE]
    iface(
        "5422fd3a-d4b8-4cef-a12e-e87d4ca22e90",
        "ICertRequestD2",
        0,
        0,
        ICERT_REQUEST_D2_OPS,
    ),
    // [MS-TSTS] legacy
    iface(
        "5ca4a760-ebb1-11cf-8611-00a0245420ed",
        "IcaApi",
        1,
        0,
        TS_ICAAPI_OPS,
    ),
    // [MS-WKST]
    iface(
        "6bffd098-a112-3610-9833-46c3f87e345a",
        "wkssvc",
        1,
        0,
        WKSSVC_OPS,
    ),
    // [MS-PAR]
    iface(
        "76f03f96-cdfd-44fc-a22c-64950a001209",
        "IRemoteWinspool",
        1,
        0,
        PAR_OPS,
    ),
    // [MS-DRSR] dsaop
    iface(
        "7c44d7d4-31d5-424c-bd5e-2b3e1f323d22",
        "dsaop",
        1,
        0,
        DSAOP_OPS,
    ),
    // [MS-CSRA]
    iface(
        "7fe0d935-dda6-443f-85d0-1cfb58fe41dd",
        "ICertAdminD2",
        0,
        0,
        ICERT_ADMIN_D2_OPS,
    ),
    // [MS-EVEN]
    iface(
        "82273fdc-e32a-18c3-3f78-827929dc23ea",
        "eventlog",
        0,
        0,
        EVENTLOG_OPS,
    ),
    // [MS-TSCH] ITaskSchedulerService
    iface(
        "86d35949-83c9-4044-b424-db363231fd0c",
        "tsch",
        1,
        0,
        TSCH_OPS,
    ),
    // [MS-TSTS] LSM enumeration
    iface(
        "88143fd0-c28d-4b2b-8fef-8d882f6a9390",
        "TermSrvEnumeration",
        1,
        0,
        TS_ENUMERATION_OPS,
    ),
    // [MS-RSP]
    iface(
        "894de0c0-0d55-11d3-a322-00c04fa321a1",
        "InitShutdown",
        1,
        0,
        INIT_SHUTDOWN_OPS,
    ),
    // [MS-FRS2]
    iface(
        "897e2e5f-93f3-4376-9c9c-fd2277495c27",
        "FrsTransport",
        1,
        0,
        FRS_TRANSPORT_OPS,
    ),
    // [MS-ICPR]
    iface(
        "91ae6020-9e3c-11cf-8d7c-00aa00c091be",
        "ICertPassage",
        0,
        0,
        ICERT_PASSAGE_OPS,
    ),
    // [MS-WMI] IWbemServices
    iface(
        "9556dc99-828c-11cf-a37e-00aa003240c7",
        "IWbemServices",
        0,
        0,
        WBEM_SERVICES_OPS,
    ),
    // [MS-DCOM] IObjectExporter
    iface(
        "99fcfec4-5260-101b-bbcb-00aa0021347a",
        "IObjectExporter",
        0,
        0,
        IOBJECT_EXPORTER_OPS,
    ),
    // [MS-OXCRPC] EMSMDB
    iface(
        "a4f1db00-ca47-1067-b31f-00dd010662da",
        "exchange_mapi",
        0,
        81,
        EXCHANGE_MAPI_OPS,
    ),
    // [MS-FSRVP] FileServerVssAgent
    iface(
        "a8e0653c-2744-4389-a61d-7373df8b2292",
        "fsrvp",
        1,
        0,
        FSRVP_OPS,
    ),
    // [MS-RPCE] management interface
    iface(
        "afa8bd80-7d8a-11c9-bef4-08002b102989",
        "mgmt",
        1,
        0,
        MGMT_OPS,
    ),
    // [MS-CAPR]
    iface(
        "afc07e2e-311c-4435-808c-c483ffeec7c9",
        "lsacap",
        1,
        0,
        LSACAP_OPS,
    ),
    // [MS-GKDI]
    iface(
        "b9785960-524f-11df-8b6d-83dcded72085",
        "ISDKey",
        1,
        0,
        GKDI_OPS,
    ),
    // [MS-TSTS] TermSrv
    iface(
        "bde95fdf-eee0-45de-9e12-e5a61cd0d4fe",
        "RCMPublic",
        1,
        0,
        TS_RCM_PUBLIC_OPS,
    ),
    // [MS-EFSR] over \pipe\lsarpc
    iface(
        "c681d488-d850-11d0-8c52-00c04fd90f7e",
        "efsrpc",
        1,
        0,
        EFSRPC_OPS,
    ),
    // [MS-FRS1] NtFrsApi
    iface(
        "d049b186-814f-11d1-9a3c-00c04fc9b232",
        "NtFrsApi",
        1,
        1,
        NTFRSAPI_OPS,
    ),
    // [MS-WMI]
    iface(
        "d4781cd6-e5d3-44df-ad94-930efe48a887",
        "IWbemLoginClientID",
        0,
        0,
        WBEM_LOGIN_CLIENT_ID_OPS,
    ),
    // [MS-RSP]
    iface(
        "d95afe70-a6d5-4259-822e-2c84da1ddb0d",
        "WindowsShutdown",
        1,
        0,
        WINDOWS_SHUTDOWN_OPS,
    ),
    // [MS-WCCE]
    iface(
        "d99e6e70-fc88-11d0-b498-00a0c90312f3",
        "ICertRequestD",
        0,
        0,
        ICERT_REQUEST_D_OPS,
    ),
    // [MS-CSRA]
    iface(
        "d99e6e71-fc88-11d0-b498-00a0c90312f3",
        "ICertAdminD",
        0,
        0,
        ICERT_ADMIN_D_OPS,
    ),
    // [MS-EFSR] over \pipe\efsrpc
    iface(
        "df1941c5-fe89-4e79-bf10-463657acf44d",
        "efsrpc",
        1,
        0,
        EFSRPC_OPS,
    ),
    // [MS-RPCE] endpoint mapper
    iface("e1af8308-5d1f-11c9-91a4-08002b14a0fa", "epm", 3, 0, EPM_OPS),
    // [MS-DRSR] drsuapi
    iface(
        "e3514235-4b06-11d1-ab04-00c04fc2dcd2",
        "drsuapi",
        4,
        0,
        DRSUAPI_OPS,
    ),
    // [MS-WMI] IWbemLevel1Login
    iface(
        "f309ad18-d86a-11d0-a075-00c04fb68820",
        "IWbemLevel1Login",
        0,
        0,
        WBEM_LEVEL1_LOGIN_OPS,
    ),
    // [MS-FRS1] frsrpc
    iface(
        "f5cc59b4-4264-101a-8c59-08002b2f8426",
        "frsrpc",
        1,
        1,
        FRSRPC_OPS,
    ),
    // [MS-NSPI]
    iface(
        "f5cc5a18-4264-101a-8c59-08002b2f8426",
        "nspi",
        56,
        0,
        NSPI_OPS,
    ),
    // [MS-EVEN6] IEventService
    iface(
        "f6beaff7-1e19-4fbb-9f8f-b89e2018337c",
        "eventlog6",
        1,
        0,
        EVENTLOG6_OPS,
    ),
];

const SAMR_OPS: &[&str] = &[
    "SamrConnect",                                 // 0
    "SamrCloseHandle",                             // 1
    "SamrSetSecurityObject",                       // 2
    "SamrQuerySecurityObject",                     // 3
    "Opnum4NotUsedOnWire",                         // 4
    "SamrLookupDomainInSamServer",                 // 5
    "SamrEnumerateDomainsInSamServer",             // 6
    "SamrOpenDomain",                              // 7
    "SamrQueryInformationDomain",                  // 8
    "SamrSetInformationDomain",                    // 9
    "SamrCreateGroupInDomain",                     // 10
    "SamrEnumerateGroupsInDomain",                 // 11
    "SamrCreateUserInDomain",                      // 12
    "SamrEnumerateUsersInDomain",                  // 13
    "SamrCreateAliasInDomain",                     // 14
    "SamrEnumerateAliasesInDomain",                // 15
    "SamrGetAliasMembership",                      // 16
    "SamrLookupNamesInDomain",                     // 17
    "SamrLookupIdsInDomain",                       // 18
    "SamrOpenGroup",                               // 19
    "SamrQueryInformationGroup",                   // 20
    "SamrSetInformationGroup",                     // 21
    "SamrAddMemberToGroup",                        // 22
    "SamrDeleteGroup",                             // 23
    "SamrRemoveMemberFromGroup",                   // 24
    "SamrGetMembersInGroup",                       // 25
    "SamrSetMemberAttributesOfGroup",              // 26
    "SamrOpenAlias",                               // 27
    "SamrQueryInformationAlias",                   // 28
    "SamrSetInformationAlias",                     // 29
    "SamrDeleteAlias",                             // 30
    "SamrAddMemberToAlias",                        // 31
    "SamrRemoveMemberFromAlias",                   // 32
    "SamrGetMembersInAlias",                       // 33
    "SamrOpenUser",                                // 34
    "SamrDeleteUser",                              // 35
    "SamrQueryInformationUser",                    // 36
    "SamrSetInformationUser",                      // 37
    "SamrChangePasswordUser",                      // 38
    "SamrGetGroupsForUser",                        // 39
    "SamrQueryDisplayInformation",                 // 40
    "SamrGetDisplayEnumerationIndex",              // 41
    "Opnum42NotUsedOnWire",                        // 42
    "Opnum43NotUsedOnWire",                        // 43
    "SamrGetUserDomainPasswordInformation",        // 44
    "SamrRemoveMemberFromForeignDomain",           // 45
    "SamrQueryInformationDomain2",                 // 46
    "SamrQueryInformationUser2",                   // 47
    "SamrQueryDisplayInformation2",                // 48
    "SamrGetDisplayEnumerationIndex2",             // 49
    "SamrCreateUser2InDomain",                     // 50
    "SamrQueryDisplayInformation3",                // 51
    "SamrAddMultipleMembersToAlias",               // 52
    "SamrRemoveMultipleMembersFromAlias",          // 53
    "SamrOemChangePasswordUser2",                  // 54
    "SamrUnicodeChangePasswordUser2",              // 55
    "SamrGetDomainPasswordInformation",            // 56
    "SamrConnect2",                                // 57
    "SamrSetInformationUser2",                     // 58
    "Opnum59NotUsedOnWire",                        // 59
    "Opnum60NotUsedOnWire",                        // 60
    "Opnum61NotUsedOnWire",                        // 61
    "SamrConnect4",                                // 62
    "Opnum63NotUsedOnWire",                        // 63
    "SamrConnect5",                                // 64
    "SamrRidToSid",                                // 65
    "SamrSetDSRMPassword",                         // 66
    "SamrValidatePassword",                        // 67
    "Opnum68NotUsedOnWire",                        // 68
    "Opnum69NotUsedOnWire",                        // 69
    "Opnum70NotUsedOnWire",                        // 70
    "Opnum71NotUsedOnWire",                        // 71
    "Opnum72NotUsedOnWire",                        // 72
    "SamrUnicodeChangePasswordUser4",              // 73
    "SamrValidateComputerAccountReuseAttempt",     // 74
    "Opnum75NotUsedOnWire",                        // 75
    "Opnum76NotUsedOnWire",                        // 76
    "SamrAccountIsDelegatedManagedServiceAccount", // 77
];

const LSARPC_OPS: &[&str] = &[
    "LsarClose",                          // 0
    "Opnum1NotUsedOnWire",                // 1
    "LsarEnumeratePrivileges",            // 2
    "LsarQuerySecurityObject",            // 3
    "LsarSetSecurityObject",              // 4
    "Opnum5NotUsedOnWire",                // 5
    "LsarOpenPolicy",                     // 6
    "LsarQueryInformationPolicy",         // 7
    "LsarSetInformationPolicy",           // 8
    "Opnum9NotUsedOnWire",                // 9
    "LsarCreateAccount",                  // 10
    "LsarEnumerateAccounts",              // 11
    "LsarCreateTrustedDomain",            // 12
    "LsarEnumerateTrustedDomains",        // 13
    "LsarLookupNames",                    // 14
    "LsarLookupSids",                     // 15
    "LsarCreateSecret",                   // 16
    "LsarOpenAccount",                    // 17
    "LsarEnumeratePrivilegesAccount",     // 18
    "LsarAddPrivilegesToAccount",         // 19
    "LsarRemovePrivilegesFromAccount",    // 20
    "Opnum21NotUsedOnWire",               // 21
    "Opnum22NotUsedOnWire",               // 22
    "LsarGetSystemAccessAccount",         // 23
    "LsarSetSystemAccessAccount",         // 24
    "LsarOpenTrustedDomain",              // 25
    "LsarQueryInfoTrustedDomain",         // 26
    "LsarSetInformationTrustedDomain",    // 27
    "LsarOpenSecret",                     // 28
    "LsarSetSecret",                      // 29
    "LsarQuerySecret",                    // 30
    "LsarLookupPrivilegeValue",           // 31
    "LsarLookupPrivilegeName",            // 32
    "LsarLookupPrivilegeDisplayName",     // 33
    "LsarDeleteObject",                   // 34
    "LsarEnumerateAccountsWithUserRight", // 35
    "LsarEnumerateAccountRights",         // 36
    "LsarAddAccountRights",               // 37
    "LsarRemoveAccountRights",            // 38
    "LsarQueryTrustedDomainInfo",         // 39
    "LsarSetTrustedDomainInfo",           // 40
    "LsarDeleteTrustedDomain",            // 41
    "LsarStorePrivateData",               // 42
    "LsarRetrievePrivateData",            // 43
    "LsarOpenPolicy2",                    // 44
    "LsarGetUserName",                    // 45
    "LsarQueryInformationPolicy2",        // 46
    "LsarSetInformationPolicy2",          // 47
    "LsarQueryTrustedDomainInfoByName",   // 48
    "LsarSetTrustedDomainInfoByName",     // 49
    "LsarEnumerateTrustedDomainsEx",      // 50
    "LsarCreateTrustedDomainEx",          // 51
    "Opnum52NotUsedOnWire",               // 52
    "LsarQueryDomainInformationPolicy",   // 53
    "LsarSetDomainInformationPolicy",     // 54
    "LsarOpenTrustedDomainByName",        // 55
    "Opnum56NotUsedOnWire",               // 56
    "LsarLookupSids2",                    // 57
    "LsarLookupNames2",                   // 58
    "LsarCreateTrustedDomainEx2",         // 59
    "Opnum60NotUsedOnWire",               // 60
    "Opnum61NotUsedOnWire",               // 61
    "Opnum62NotUsedOnWire",               // 62
    "Opnum63NotUsedOnWire",               // 63
    "Opnum64NotUsedOnWire",               // 64
    "Opnum65NotUsedOnWire",               // 65
    "Opnum66NotUsedOnWire",               // 66
    "Opnum67NotUsedOnWire",               // 67
    "LsarLookupNames3",                   // 68
    "Opnum69NotUsedOnWire",               // 69
    "Opnum70NotUsedOnWire",               // 70
    "Opnum71NotUsedOnWire",               // 71
    "Opnum72NotUsedOnWire",               // 72
    "LsarQueryForestTrustInformation",    // 73
    "LsarSetForestTrustInformation",      // 74
    "Opnum75NotUsedOnWire",               // 75
    "LsarLookupSids3",                    // 76
    "LsarLookupNames4",                   // 77
    "Opnum78NotUsedOnWire",               // 78
    "Opnum79NotUsedOnWire",               // 79
    "Opnum80NotUsedOnWire",               // 80
    "Opnum81NotUsedOnWire",               // 81
    "Opnum82NotUsedOnWire",               // 82
    "Opnum83NotUsedOnWire",               // 83
    "Opnum84NotUsedOnWire",               // 84
    "Opnum85NotUsedOnWire",               // 85
    "Opnum86NotUsedOnWire",               // 86
    "Opnum87NotUsedOnWire",               // 87
    "Opnum88NotUsedOnWire",               // 88
    "Opnum89NotUsedOnWire",               // 89
    "Opnum90NotUsedOnWire",               // 90
    "Opnum91NotUsedOnWire",               // 91
    "Opnum92NotUsedOnWire",               // 92
    "Opnum93NotUsedOnWire",               // 93
    "Opnum94NotUsedOnWire",               // 94
    "Opnum95NotUsedOnWire",               // 95
    "Opnum96NotUsedOnWire",               // 96
    "Opnum97NotUsedOnWire",               // 97
    "Opnum98NotUsedOnWire",               // 98
    "Opnum99NotUsedOnWire",               // 99
    "Opnum100NotUsedOnWire",              // 100
    "Opnum101NotUsedOnWire",              // 101
    "Opnum102NotUsedOnWire",              // 102
    "Opnum103NotUsedOnWire",              // 103
    "Opnum104NotUsedOnWire",              // 104
    "Opnum105NotUsedOnWire",              // 105
    "Opnum106NotUsedOnWire",              // 106
    "Opnum107NotUsedOnWire",              // 107
    "Opnum108NotUsedOnWire",              // 108
    "Opnum109NotUsedOnWire",              // 109
    "Opnum110NotUsedOnWire",              // 110
    "Opnum111NotUsedOnWire",              // 111
    "Opnum112NotUsedOnWire",              // 112
    "Opnum113NotUsedOnWire",              // 113
    "Opnum114NotUsedOnWire",              // 114
    "Opnum115NotUsedOnWire",              // 115
    "Opnum116NotUsedOnWire",              // 116
    "Opnum117NotUsedOnWire",              // 117
    "Opnum118NotUsedOnWire",              // 118
    "Opnum119NotUsedOnWire",              // 119
    "Opnum120NotUsedOnWire",              // 120
    "Opnum121NotUsedOnWire",              // 121
    "Opnum122NotUsedOnWire",              // 122
    "Opnum123NotUsedOnWire",              // 123
    "Opnum124NotUsedOnWire",              // 124
    "Opnum125NotUsedOnWire",              // 125
    "Opnum126NotUsedOnWire",              // 126
    "Opnum127NotUsedOnWire",              // 127
    "Opnum128NotUsedOnWire",              // 128
    "LsarCreateTrustedDomainEx3",         // 129
    "LsarOpenPolicy3",                    // 130
    "Opnum131NotUsedOnWire",              // 131
    "LsarQueryForestTrustInformation2",   // 132
    "LsarSetForestTrustInformation2",     // 133
    "Opnum134NotUsedOnWire",              // 134
    "LsarOpenPolicyWithCreds",            // 135
    "LsarOpenSecret2",                    // 136
    "LsarCreateSecret2",                  // 137
    "LsarSetSecret2",                     // 138
    "LsarQuerySecret2",                   // 139
    "LsarStorePrivateData2",              // 140
    "LsarRetrievePrivateData2",           // 141
];

const DRSUAPI_OPS: &[&str] = &[
    "DRSBind",                 // 0
    "DRSUnbind",               // 1
    "DRSReplicaSync",          // 2
    "DRSGetNCChanges",         // 3
    "DRSUpdateRefs",           // 4
    "DRSReplicaAdd",           // 5
    "DRSReplicaDel",           // 6
    "DRSReplicaModify",        // 7
    "DRSVerifyNames",          // 8
    "DRSGetMemberships",       // 9
    "DRSInterDomainMove",      // 10
    "DRSGetNT4ChangeLog",      // 11
    "DRSCrackNames",           // 12
    "DRSWriteSPN",             // 13
    "DRSRemoveDsServer",       // 14
    "DRSRemoveDsDomain",       // 15
    "DRSDomainControllerInfo", // 16
    "DRSAddEntry",             // 17
    "DRSExecuteKCC",           // 18
    "DRSGetReplInfo",          // 19
    "DRSAddSidHistory",        // 20
    "DRSGetMemberships2",      // 21
    "DRSReplicaVerifyObjects", // 22
    "DRSGetObjectExistence",   // 23
    "DRSQuerySitesByCost",     // 24
    "DRSInitDemotion",         // 25
    "DRSReplicaDemotion",      // 26
    "DRSFinishDemotion",       // 27
    "DRSAddCloneDC",           // 28
    "DRSWriteNgcKey",          // 29
    "DRSReadNgcKey",           // 30
];

const DSAOP_OPS: &[&str] = &[
    "DSAPrepareScript", // 0
    "DSAExecuteScript", // 1
];

const NETLOGON_OPS: &[&str] = &[
    "NetrLogonUasLogon",                   // 0
    "NetrLogonUasLogoff",                  // 1
    "NetrLogonSamLogon",                   // 2
    "NetrLogonSamLogoff",                  // 3
    "NetrServerReqChallenge",              // 4
    "NetrServerAuthenticate",              // 5
    "NetrServerPasswordSet",               // 6
    "NetrDatabaseDeltas",                  // 7
    "NetrDatabaseSync",                    // 8
    "NetrAccountDeltas",                   // 9
    "NetrAccountSync",                     // 10
    "NetrGetDCName",                       // 11
    "NetrLogonControl",                    // 12
    "NetrGetAnyDCName",                    // 13
    "NetrLogonControl2",                   // 14
    "NetrServerAuthenticate2",             // 15
    "NetrDatabaseSync2",                   // 16
    "NetrDatabaseRedo",                    // 17
    "NetrLogonControl2Ex",                 // 18
    "NetrEnumerateTrustedDomains",         // 19
    "DsrGetDcName",                        // 20
    "NetrLogonGetCapabilities",            // 21
    "NetrLogonSetServiceBits",             // 22
    "NetrLogonGetTrustRid",                // 23
    "NetrLogonComputeServerDigest",        // 24
    "NetrLogonComputeClientDigest",        // 25
    "NetrServerAuthenticate3",             // 26
    "DsrGetDcNameEx",                      // 27
    "DsrGetSiteName",                      // 28
    "NetrLogonGetDomainInfo",              // 29
    "NetrServerPasswordSet2",              // 30
    "NetrServerPasswordGet",               // 31
    "NetrLogonSendToSam",                  // 32
    "DsrAddressToSiteNamesW",              // 33
    "DsrGetDcNameEx2",                     // 34
    "NetrLogonGetTimeServiceParentDomain", // 35
    "NetrEnumerateTrustedDomainsEx",       // 36
    "DsrAddressToSiteNamesExW",            // 37
    "DsrGetDcSiteCoverageW",               // 38
    "NetrLogonSamLogonEx",                 // 39
    "DsrEnumerateDomainTrusts",            // 40
    "DsrDeregisterDnsHostRecords",         // 41
    "NetrServerTrustPasswordsGet",         // 42
    "DsrGetForestTrustInformation",        // 43
    "NetrGetForestTrustInformation",       // 44
    "NetrLogonSamLogonWithFlags",          // 45
    "NetrServerGetTrustInfo",              // 46
    "OpnumUnused47",                       // 47
    "DsrUpdateReadOnlyServerDnsRecords",   // 48
    "NetrChainSetClientAttributes",        // 49
    "Opnum50NotUsedOnWire",                // 50
    "Opnum51NotUsedOnWire",                // 51
    "Opnum52NotUsedOnWire",                // 52
    "Opnum53NotUsedOnWire",                // 53
    "NetrChainSetClientAttributes",        // 54
    "Opnum55NotUsedOnWire",                // 55
    "Opnum56NotUsedOnWire",                // 56
    "Opnum57NotUsedOnWire",                // 57
    "Opnum58NotUsedOnWire",                // 58
    "NetrServerAuthenticateKerberos",      // 59
];

const SRVSVC_OPS: &[&str] = &[
    "Opnum0NotUsedOnWire",          // 0
    "Opnum1NotUsedOnWire",          // 1
    "Opnum2NotUsedOnWire",          // 2
    "Opnum3NotUsedOnWire",          // 3
    "Opnum4NotUsedOnWire",          // 4
    "Opnum5NotUsedOnWire",          // 5
    "Opnum6NotUsedOnWire",          // 6
    "Opnum7NotUsedOnWire",          // 7
    "NetrConnectionEnum",           // 8
    "NetrFileEnum",                 // 9
    "NetrFileGetInfo",              // 10
    "NetrFileClose",                // 11
    "NetrSessionEnum",              // 12
    "NetrSessionDel",               // 13
    "NetrShareAdd",                 // 14
    "NetrShareEnum",                // 15
    "NetrShareGetInfo",             // 16
    "NetrShareSetInfo",             // 17
    "NetrShareDel",                 // 18
    "NetrShareDelSticky",           // 19
    "NetrShareCheck",               // 20
    "NetrServerGetInfo",            // 21
    "NetrServerSetInfo",            // 22
    "NetrServerDiskEnum",           // 23
    "NetrServerStatisticsGet",      // 24
    "NetrServerTransportAdd",       // 25
    "NetrServerTransportEnum",      // 26
    "NetrServerTransportDel",       // 27
    "NetrRemoteTOD",                // 28
    "Opnum29NotUsedOnWire",         // 29
    "NetprPathType",                // 30
    "NetprPathCanonicalize",        // 31
    "NetprPathCompare",             // 32
    "NetprNameValidate",            // 33
    "NetprNameCanonicalize",        // 34
    "NetprNameCompare",             // 35
    "NetrShareEnumSticky",          // 36
    "NetrShareDelStart",            // 37
    "NetrShareDelCommit",           // 38
    "NetrpGetFileSecurity",         // 39
    "NetrpSetFileSecurity",         // 40
    "NetrServerTransportAddEx",     // 41
    "Opnum42NotUsedOnWire",         // 42
    "NetrDfsGetVersion",            // 43
    "NetrDfsCreateLocalPartition",  // 44
    "NetrDfsDeleteLocalPartition",  // 45
    "NetrDfsSetLocalVolumeState",   // 46
    "Opnum47NotUsedOnWire",         // 47
    "NetrDfsCreateExitPoint",       // 48
    "NetrDfsDeleteExitPoint",       // 49
    "NetrDfsModifyPrefix",          // 50
    "NetrDfsFixLocalVolume",        // 51
    "NetrDfsManagerReportSiteInfo", // 52
    "NetrServerTransportDelEx",     // 53
    "NetrServerAliasAdd",           // 54
    "NetrServerAliasEnum",          // 55
    "NetrServerAliasDel",           // 56
    "NetrShareDelEx",               // 57
];

const WKSSVC_OPS: &[&str] = &[
    "NetrWkstaGetInfo",                 // 0
    "NetrWkstaSetInfo",                 // 1
    "NetrWkstaUserEnum",                // 2
    "Opnum3NotUsedOnWire",              // 3
    "Opnum4NotUsedOnWire",              // 4
    "NetrWkstaTransportEnum",           // 5
    "NetrWkstaTransportAdd",            // 6
    "NetrWkstaTransportDel",            // 7
    "NetrUseAdd",                       // 8
    "NetrUseGetInfo",                   // 9
    "NetrUseDel",                       // 10
    "NetrUseEnum",                      // 11
    "Opnum12NotUsedOnWire",             // 12
    "NetrWorkstationStatisticsGet",     // 13
    "Opnum14NotUsedOnWire",             // 14
    "Opnum15NotUsedOnWire",             // 15
    "Opnum16NotUsedOnWire",             // 16
    "Opnum17NotUsedOnWire",             // 17
    "Opnum18NotUsedOnWire",             // 18
    "Opnum19NotUsedOnWire",             // 19
    "NetrGetJoinInformation",           // 20
    "Opnum21NotUsedOnWire",             // 21
    "NetrJoinDomain2",                  // 22
    "NetrUnjoinDomain2",                // 23
    "NetrRenameMachineInDomain2",       // 24
    "NetrValidateName2",                // 25
    "NetrGetJoinableOUs2",              // 26
    "NetrAddAlternateComputerName",     // 27
    "NetrRemoveAlternateComputerName",  // 28
    "NetrSetPrimaryComputerName",       // 29
    "NetrEnumerateComputerNames",       // 30
    "NetrJoinDomain3",                  // 31
    "NetrUnjoinDomain3",                // 32
    "NetrRenameMachineInDomain3",       // 33
    "NetrValidateName3",                // 34
    "NetrAddAlternateComputerName2",    // 35
    "NetrRemoveAlternateComputerName2", // 36
    "NetrSetPrimaryComputerName2",      // 37
];

const SVCCTL_OPS: &[&str] = &[
    "RCloseServiceHandle",         // 0
    "RControlService",             // 1
    "RDeleteService",              // 2
    "RLockServiceDatabase",        // 3
    "RQueryServiceObjectSecurity", // 4
    "RSetServiceObjectSecurity",   // 5
    "RQueryServiceStatus",         // 6
    "RSetServiceStatus",           // 7
    "RUnlockServiceDatabase",      // 8
    "RNotifyBootConfigStatus",     // 9
    "Opnum10NotUsedOnWire",        // 10
    "RChangeServiceConfigW",       // 11
    "RCreateServiceW",             // 12
    "REnumDependentServicesW",     // 13
    "REnumServicesStatusW",        // 14
    "ROpenSCManagerW",             // 15
    "ROpenServiceW",               // 16
    "RQueryServiceConfigW",        // 17
    "RQueryServiceLockStatusW",    // 18
    "RStartServiceW",              // 19
    "RGetServiceDisplayNameW",     // 20
    "RGetServiceKeyNameW",         // 21
    "Opnum22NotUsedOnWire",        // 22
    "RChangeServiceConfigA",       // 23
    "RCreateServiceA",             // 24
    "REnumDependentServicesA",     // 25
    "REnumServicesStatusA",        // 26
    "ROpenSCManagerA",             // 27
    "ROpenServiceA",               // 28
    "RQueryServiceConfigA",        // 29
    "RQueryServiceLockStatusA",    // 30
    "RStartServiceA",              // 31
    "RGetServiceDisplayNameA",     // 32
    "RGetServiceKeyNameA",         // 33
    "Opnum34NotUsedOnWire",        // 34
    "REnumServiceGroupW",          // 35
    "RChangeServiceConfig2A",      // 36
    "RChangeServiceConfig2W",      // 37
    "RQueryServiceConfig2A",       // 38
    "RQueryServiceConfig2W",       // 39
    "RQueryServiceStatusEx",       // 40
    "REnumServicesStatusExA",      // 41
    "REnumServicesStatusExW",      // 42
    "Opnum43NotUsedOnWire",        // 43
    "RCreateServiceWOW64A",        // 44
    "RCreateServiceWOW64W",        // 45
    "Opnum46NotUsedOnWire",        // 46
    "RNotifyServiceStatusChange",  // 47
    "RGetNotifyResults",           // 48
    "RCloseNotifyHandle",          // 49
    "RControlServiceExA",          // 50
    "RControlServiceExW",          // 51
    "Opnum52NotUsedOnWire",        // 52
    "Opnum53NotUsedOnWire",        // 53
    "Opnum54NotUsedOnWire",        // 54
    "Opnum55NotUsedOnWire",        // 55
    "RQueryServiceConfigEx",       // 56
    "Opnum57NotUsedOnWire",        // 57
    "Opnum58NotUsedOnWire",        // 58
    "Opnum59NotUsedOnWire",        // 59
    "RCreateWowService",           // 60
    "Opnum61NotUsedOnWire",        // 61
    "Opnum62NotUsedOnWire",        // 62
    "Opnum63NotUsedOnWire",        // 63
    "ROpenSCManager2",             // 64
];

const TSCH_OPS: &[&str] = &[
    "SchRpcHighestVersion",        // 0
    "SchRpcRegisterTask",          // 1
    "SchRpcRetrieveTask",          // 2
    "SchRpcCreateFolder",          // 3
    "SchRpcSetSecurity",           // 4
    "SchRpcGetSecurity",           // 5
    "SchRpcEnumFolders",           // 6
    "SchRpcEnumTasks",             // 7
    "SchRpcEnumInstances",         // 8
    "SchRpcGetInstanceInfo",       // 9
    "SchRpcStopInstance",          // 10
    "SchRpcStop",                  // 11
    "SchRpcRun",                   // 12
    "SchRpcDelete",                // 13
    "SchRpcRename",                // 14
    "SchRpcScheduledRuntimes",     // 15
    "SchRpcGetLastRunInfo",        // 16
    "SchRpcGetTaskInfo",           // 17
    "SchRpcGetNumberOfMissedRuns", // 18
    "SchRpcEnableTask",            // 19
];

const ATSVC_OPS: &[&str] = &[
    "NetrJobAdd",     // 0
    "NetrJobDel",     // 1
    "NetrJobEnum",    // 2
    "NetrJobGetInfo", // 3
];

const SASEC_OPS: &[&str] = &[
    "SASetAccountInformation",   // 0
    "SASetNSAccountInformation", // 1
    "SAGetNSAccountInformation", // 2
    "SAGetAccountInformation",   // 3
];

const EPM_OPS: &[&str] = &[
    "ept_insert",             // 0
    "ept_delete",             // 1
    "ept_lookup",             // 2
    "ept_map",                // 3
    "ept_lookup_handle_free", // 4
    "ept_inq_object",         // 5
    "ept_mgmt_delete",        // 6
];

const MGMT_OPS: &[&str] = &[
    "rpc__mgmt_inq_if_ids",            // 0
    "rpc__mgmt_inq_stats",             // 1
    "rpc__mgmt_is_server_listening",   // 2
    "rpc__mgmt_stop_server_listening", // 3
    "rpc__mgmt_inq_princ_name",        // 4
];

const BKRP_OPS: &[&str] = &[
    "BackuprKey", // 0
];

const WINREG_OPS: &[&str] = &[
    "OpenClassesRoot",              // 0
    "OpenCurrentUser",              // 1
    "OpenLocalMachine",             // 2
    "OpenPerformanceData",          // 3
    "OpenUsers",                    // 4
    "BaseRegCloseKey",              // 5
    "BaseRegCreateKey",             // 6
    "BaseRegDeleteKey",             // 7
    "BaseRegDeleteValue",           // 8
    "BaseRegEnumKey",               // 9
    "BaseRegEnumValue",             // 10
    "BaseRegFlushKey",              // 11
    "BaseRegGetKeySecurity",        // 12
    "BaseRegLoadKey",               // 13
    "Opnum14NotImplemented",        // 14
    "BaseRegOpenKey",               // 15
    "BaseRegQueryInfoKey",          // 16
    "BaseRegQueryValue",            // 17
    "BaseRegReplaceKey",            // 18
    "BaseRegRestoreKey",            // 19
    "BaseRegSaveKey",               // 20
    "BaseRegSetKeySecurity",        // 21
    "BaseRegSetValue",              // 22
    "BaseRegUnLoadKey",             // 23
    "BaseInitiateSystemShutdown",   // 24
    "BaseAbortSystemShutdown",      // 25
    "BaseRegGetVersion",            // 26
    "OpenCurrentConfig",            // 27
    "Opnum28NotImplemented",        // 28
    "BaseRegQueryMultipleValues",   // 29
    "BaseInitiateSystemShutdownEx", // 30
    "BaseRegSaveKeyEx",             // 31
    "OpenPerformanceText",          // 32
    "OpenPerformanceNlsText",       // 33
    "BaseRegQueryMultipleValues2",  // 34
    "BaseRegDeleteKeyEx",           // 35
];

const SPOOLSS_OPS: &[&str] = &[
    "RpcEnumPrinters",                               // 0
    "RpcOpenPrinter",                                // 1
    "RpcSetJob",                                     // 2
    "RpcGetJob",                                     // 3
    "RpcEnumJobs",                                   // 4
    "RpcAddPrinter",                                 // 5
    "RpcDeletePrinter",                              // 6
    "RpcSetPrinter",                                 // 7
    "RpcGetPrinter",                                 // 8
    "RpcAddPrinterDriver",                           // 9
    "RpcEnumPrinterDrivers",                         // 10
    "RpcGetPrinterDriver",                           // 11
    "RpcGetPrinterDriverDirectory",                  // 12
    "RpcDeletePrinterDriver",                        // 13
    "RpcAddPrintProcessor",                          // 14
    "RpcEnumPrintProcessors",                        // 15
    "RpcGetPrintProcessorDirectory",                 // 16
    "RpcStartDocPrinter",                            // 17
    "RpcStartPagePrinter",                           // 18
    "RpcWritePrinter",                               // 19
    "RpcEndPagePrinter",                             // 20
    "RpcAbortPrinter",                               // 21
    "RpcReadPrinter",                                // 22
    "RpcEndDocPrinter",                              // 23
    "RpcAddJob",                                     // 24
    "RpcScheduleJob",                                // 25
    "RpcGetPrinterData",                             // 26
    "RpcSetPrinterData",                             // 27
    "RpcWaitForPrinterChange",                       // 28
    "RpcClosePrinter",                               // 29
    "RpcAddForm",                                    // 30
    "RpcDeleteForm",                                 // 31
    "RpcGetForm",                                    // 32
    "RpcSetForm",                                    // 33
    "RpcEnumForms",                                  // 34
    "RpcEnumPorts",                                  // 35
    "RpcEnumMonitors",                               // 36
    "Opnum37NotUsedOnWire",                          // 37
    "Opnum38NotUsedOnWire",                          // 38
    "RpcDeletePort",                                 // 39
    "RpcCreatePrinterIC",                            // 40
    "RpcPlayGdiScriptOnPrinterIC",                   // 41
    "RpcDeletePrinterIC",                            // 42
    "Opnum43NotUsedOnWire",                          // 43
    "Opnum44NotUsedOnWire",                          // 44
    "Opnum45NotUsedOnWire",                          // 45
    "RpcAddMonitor",                                 // 46
    "RpcDeleteMonitor",                              // 47
    "RpcDeletePrintProcessor",                       // 48
    "Opnum49NotUsedOnWire",                          // 49
    "Opnum50NotUsedOnWire",                          // 50
    "RpcEnumPrintProcessorDatatypes",                // 51
    "RpcResetPrinter",                               // 52
    "RpcGetPrinterDriver2",                          // 53
    "Opnum54NotUsedOnWire",                          // 54
    "Opnum55NotUsedOnWire",                          // 55
    "RpcFindClosePrinterChangeNotification",         // 56
    "Opnum57NotUsedOnWire",                          // 57
    "RpcReplyOpenPrinter",                           // 58
    "RpcRouterReplyPrinter",                         // 59
    "RpcReplyClosePrinter",                          // 60
    "RpcAddPortEx",                                  // 61
    "RpcRemoteFindFirstPrinterChangeNotification",   // 62
    "Opnum63NotUsedOnWire",                          // 63
    "Opnum64NotUsedOnWire",                          // 64
    "RpcRemoteFindFirstPrinterChangeNotificationEx", // 65
    "RpcRouterReplyPrinterEx",                       // 66
    "RpcRouterRefreshPrinterChangeNotification",     // 67
    "Opnum68NotUsedOnWire",                          // 68
    "RpcOpenPrinterEx",                              // 69
    "RpcAddPrinterEx",                               // 70
    "RpcSetPort",                                    // 71
    "RpcEnumPrinterData",                            // 72
    "RpcDeletePrinterData",                          // 73
    "Opnum74NotUsedOnWire",                          // 74
    "Opnum75NotUsedOnWire",                          // 75
    "Opnum76NotUsedOnWire",                          // 76
    "RpcSetPrinterDataEx",                           // 77
    "RpcGetPrinterDataEx",                           // 78
    "RpcEnumPrinterDataEx",                          // 79
    "RpcEnumPrinterKey",                             // 80
    "RpcDeletePrinterDataEx",                        // 81
    "RpcDeletePrinterKey",                           // 82
    "Opnum83NotUsedOnWire",                          // 83
    "RpcDeletePrinterDriverEx",                      // 84
    "RpcAddPerMachineConnection",                    // 85
    "RpcDeletePerMachineConnection",                 // 86
    "RpcEnumPerMachineConnections",                  // 87
    "RpcXcvData",                                    // 88
    "RpcAddPrinterDriverEx",                         // 89
    "Opnum90NotUsedOnWire",                          // 90
    "Opnum91NotUsedOnWire",                          // 91
    "Opnum92NotUsedOnWire",                          // 92
    "Opnum93NotUsedOnWire",                          // 93
    "Opnum94NotUsedOnWire",                          // 94
    "Opnum95NotUsedOnWire",                          // 95
    "RpcFlushPrinter",                               // 96
    "RpcSendRecvBidiData",                           // 97
    "Opnum98NotUsedOnWire",                          // 98
    "Opnum99NotUsedOnWire",                          // 99
    "Opnum100NotUsedOnWire",                         // 100
    "Opnum101NotUsedOnWire",                         // 101
    "RpcGetCorePrinterDrivers",                      // 102
    "Opnum103NotUsedOnWire",                         // 103
    "RpcGetPrinterDriverPackagePath",                // 104
    "Opnum105NotUsedOnWire",                         // 105
    "Opnum106NotUsedOnWire",                         // 106
    "Opnum107NotUsedOnWire",                         // 107
    "Opnum108NotUsedOnWire",                         // 108
    "Opnum109NotUsedOnWire",                         // 109
    "RpcGetJobNamedPropertyValue",                   // 110
    "RpcSetJobNamedProperty",                        // 111
    "RpcDeleteJobNamedProperty",                     // 112
    "RpcEnumJobNamedProperties",                     // 113
    "Opnum114NotUsedOnWire",                         // 114
    "Opnum115NotUsedOnWire",                         // 115
    "RpcLogJobInfoForBranchOffice",                  // 116
    "RpcRegeneratePrintDeviceCapabilities",          // 117
    "Opnum118NotUsedOnWire",                         // 118
    "RpcIppCreateJobOnPrinter",                      // 119
    "RpcIppGetJobAttributes",                        // 120
    "RpcIppSetJobAttributes",                        // 121
    "RpcIppGetPrinterAttributes",                    // 122
    "RpcIppSetPrinterAttributes",                    // 123
];

const PAR_OPS: &[&str] = &[
    "RpcAsyncOpenPrinter",                     // 0
    "RpcAsyncAddPrinter",                      // 1
    "RpcAsyncSetJob",                          // 2
    "RpcAsyncGetJob",                          // 3
    "RpcAsyncEnumJobs",                        // 4
    "RpcAsyncAddJob",                          // 5
    "RpcAsyncScheduleJob",                     // 6
    "RpcAsyncDeletePrinter",                   // 7
    "RpcAsyncSetPrinter",                      // 8
    "RpcAsyncGetPrinter",                      // 9
    "RpcAsyncStartDocPrinter",                 // 10
    "RpcAsyncStartPagePrinter",                // 11
    "RpcAsyncWritePrinter",                    // 12
    "RpcAsyncEndPagePrinter",                  // 13
    "RpcAsyncEndDocPrinter",                   // 14
    "RpcAsyncAbortPrinter",                    // 15
    "RpcAsyncGetPrinterData",                  // 16
    "RpcAsyncGetPrinterDataEx",                // 17
    "RpcAsyncSetPrinterData",                  // 18
    "RpcAsyncSetPrinterDataEx",                // 19
    "RpcAsyncClosePrinter",                    // 20
    "RpcAsyncAddForm",                         // 21
    "RpcAsyncDeleteForm",                      // 22
    "RpcAsyncGetForm",                         // 23
    "RpcAsyncSetForm",                         // 24
    "RpcAsyncEnumForms",                       // 25
    "RpcAsyncGetPrinterDriver",                // 26
    "RpcAsyncEnumPrinterData",                 // 27
    "RpcAsyncEnumPrinterDataEx",               // 28
    "RpcAsyncEnumPrinterKey",                  // 29
    "RpcAsyncDeletePrinterData",               // 30
    "RpcAsyncDeletePrinterDataEx",             // 31
    "RpcAsyncDeletePrinterKey",                // 32
    "RpcAsyncXcvData",                         // 33
    "RpcAsyncSendRecvBidiData",                // 34
    "RpcAsyncCreatePrinterIC",                 // 35
    "RpcAsyncPlayGdiScriptOnPrinterIC",        // 36
    "RpcAsyncDeletePrinterIC",                 // 37
    "RpcAsyncEnumPrinters",                    // 38
    "RpcAsyncAddPrinterDriver",                // 39
    "RpcAsyncEnumPrinterDrivers",              // 40
    "RpcAsyncGetPrinterDriverDirectory",       // 41
    "RpcAsyncDeletePrinterDriver",             // 42
    "RpcAsyncDeletePrinterDriverEx",           // 43
    "RpcAsyncAddPrintProcessor",               // 44
    "RpcAsyncEnumPrintProcessors",             // 45
    "RpcAsyncGetPrintProcessorDirectory",      // 46
    "RpcAsyncEnumPorts",                       // 47
    "RpcAsyncEnumMonitors",                    // 48
    "RpcAsyncAddPort",                         // 49
    "RpcAsyncSetPort",                         // 50
    "RpcAsyncAddMonitor",                      // 51
    "RpcAsyncDeleteMonitor",                   // 52
    "RpcAsyncDeletePrintProcessor",            // 53
    "RpcAsyncEnumPrintProcessorDatatypes",     // 54
    "RpcAsyncAddPerMachineConnection",         // 55
    "RpcAsyncDeletePerMachineConnection",      // 56
    "RpcAsyncEnumPerMachineConnections",       // 57
    "RpcSyncRegisterForRemoteNotifications",   // 58
    "RpcSyncUnRegisterForRemoteNotifications", // 59
    "RpcSyncRefreshRemoteNotifications",       // 60
    "RpcAsyncGetRemoteNotifications",          // 61
    "RpcAsyncInstallPrinterDriverFromPackage", // 62
    "RpcAsyncUploadPrinterDriverPackage",      // 63
    "RpcAsyncGetCorePrinterDrivers",           // 64
    "RpcAsyncCorePrinterDriverInstalled",      // 65
    "RpcAsyncGetPrinterDriverPackagePath",     // 66
    "RpcAsyncDeletePrinterDriverPackage",      // 67
    "RpcAsyncReadPrinter",                     // 68
    "RpcAsyncResetPrinter",                    // 69
    "RpcAsyncGetJobNamedPropertyValue",        // 70
    "RpcAsyncSetJobNamedProperty",             // 71
    "RpcAsyncDeleteJobNamedProperty",          // 72
    "RpcAsyncEnumJobNamedProperties",          // 73
    "RpcAsyncLogJobInfoForBranchOffice",       // 74
];

const EFSRPC_OPS: &[&str] = &[
    "EfsRpcOpenFileRaw",                 // 0
    "EfsRpcReadFileRaw",                 // 1
    "EfsRpcWriteFileRaw",                // 2
    "EfsRpcCloseRaw",                    // 3
    "EfsRpcEncryptFileSrv",              // 4
    "EfsRpcDecryptFileSrv",              // 5
    "EfsRpcQueryUsersOnFile",            // 6
    "EfsRpcQueryRecoveryAgents",         // 7
    "EfsRpcRemoveUsersFromFile",         // 8
    "EfsRpcAddUsersToFile",              // 9
    "Opnum10NotUsedOnWire",              // 10
    "EfsRpcNotSupported",                // 11
    "EfsRpcFileKeyInfo",                 // 12
    "EfsRpcDuplicateEncryptionInfoFile", // 13
    "Opnum14NotUsedOnWire",              // 14
    "EfsRpcAddUsersToFileEx",            // 15
    "EfsRpcFileKeyInfoEx",               // 16
    "Opnum17NotUsedOnWire",              // 17
    "EfsRpcGetEncryptedFileMetadata",    // 18
    "EfsRpcSetEncryptedFileMetadata",    // 19
    "EfsRpcFlushEfsCache",               // 20
    "EfsRpcEncryptFileExSrv",            // 21
    "EfsRpcQueryProtectors",             // 22
    "Opnum23NotUsedOnWire",              // 23
    "Opnum24NotUsedOnWire",              // 24
    "Opnum25NotUsedOnWire",              // 25
    "Opnum26NotUsedOnWire",              // 26
    "Opnum27NotUsedOnWire",              // 27
    "Opnum28NotUsedOnWire",              // 28
    "Opnum29NotUsedOnWire",              // 29
    "Opnum30NotUsedOnWire",              // 30
    "Opnum31NotUsedOnWire",              // 31
    "Opnum32NotUsedOnWire",              // 32
    "Opnum33NotUsedOnWire",              // 33
    "Opnum34NotUsedOnWire",              // 34
    "Opnum35NotUsedOnWire",              // 35
    "Opnum36NotUsedOnWire",              // 36
    "Opnum37NotUsedOnWire",              // 37
    "Opnum38NotUsedOnWire",              // 38
    "Opnum39NotUsedOnWire",              // 39
    "Opnum40NotUsedOnWire",              // 40
    "Opnum41NotUsedOnWire",              // 41
    "Opnum42NotUsedOnWire",              // 42
    "Opnum43NotUsedOnWire",              // 43
    "Opnum44NotUsedOnWire",              // 44
];

const NETDFS_OPS: &[&str] = &[
    "NetrDfsManagerGetVersion",            // 0
    "NetrDfsAdd",                          // 1
    "NetrDfsRemove",                       // 2
    "NetrDfsSetInfo",                      // 3
    "NetrDfsGetInfo",                      // 4
    "NetrDfsEnum",                         // 5
    "NetrDfsMove",                         // 6
    "Opnum7NotUsedOnWire",                 // 7
    "Opnum8NotUsedOnWire",                 // 8
    "Opnum9NotUsedOnWire",                 // 9
    "NetrDfsAddFtRoot",                    // 10
    "NetrDfsRemoveFtRoot",                 // 11
    "NetrDfsAddStdRoot",                   // 12
    "NetrDfsRemoveStdRoot",                // 13
    "NetrDfsManagerInitialize",            // 14
    "NetrDfsAddStdRootForced",             // 15
    "NetrDfsGetDcAddress",                 // 16
    "NetrDfsSetDcAddress",                 // 17
    "NetrDfsFlushFtTable",                 // 18
    "NetrDfsAdd2",                         // 19
    "NetrDfsRemove2",                      // 20
    "NetrDfsEnumEx",                       // 21
    "NetrDfsSetInfo2",                     // 22
    "NetrDfsAddRootTarget",                // 23
    "NetrDfsRemoveRootTarget",             // 24
    "NetrDfsGetSupportedNamespaceVersion", // 25
];

/// [MS-DSSP] keeps only opnum 0; the others were retired but are still sent (opnum 9 is the
/// MS04-011 exploit's call), so they keep their historical names.
const DSSETUP_OPS: &[&str] = &[
    "DsRolerGetPrimaryDomainInformation", // 0
    "DsRolerDnsNameToFlatName",           // 1
    "DsRolerDcAsDc",                      // 2
    "DsRolerDcAsReplica",                 // 3
    "DsRolerDemoteDc",                    // 4
    "DsRolerGetDcOperationProgress",      // 5
    "DsRolerGetDcOperationResults",       // 6
    "DsRolerCancel",                      // 7
    "DsRolerServerSaveStateForUpgrade",   // 8
    "DsRolerUpgradeDownlevelServer",      // 9
    "DsRolerAbortDownlevelServerUpgrade", // 10
    "Opnum11NotUsedOnWire",               // 11
];

/// [MS-NSPI] the Exchange address book (name service provider) interface.
const NSPI_OPS: &[&str] = &[
    "NspiBind",              // 0
    "NspiUnbind",            // 1
    "NspiUpdateStat",        // 2
    "NspiQueryRows",         // 3
    "NspiSeekEntries",       // 4
    "NspiGetMatches",        // 5
    "NspiResortRestriction", // 6
    "NspiDNToMId",           // 7
    "NspiGetPropList",       // 8
    "NspiGetProps",          // 9
    "NspiCompareMIds",       // 10
    "NspiModProps",          // 11
    "NspiGetSpecialTable",   // 12
    "NspiGetTemplateInfo",   // 13
    "NspiModLinkAtt",        // 14
    "Opnum15NotUsedOnWire",  // 15
    "NspiQueryColumns",      // 16
    "NspiGetNamesFromIDs",   // 17
    "NspiGetIDsFromNames",   // 18
    "NspiResolveNames",      // 19
    "NspiResolveNamesW",     // 20
];

/// [MS-OXCRPC] EMSMDB, Exchange's MAPI interface. The operations the current specification
/// reserves (0, 2, 3, 5, 7, 8, 9) keep the names older clients sent them under.
const EXCHANGE_MAPI_OPS: &[&str] = &[
    "EcDoConnect",                   // 0
    "EcDoDisconnect",                // 1
    "EcDoRpc",                       // 2
    "EcGetMoreRpc",                  // 3
    "EcRRegisterPushNotification",   // 4
    "EcRUnregisterPushNotification", // 5
    "EcDummyRpc",                    // 6
    "EcRGetDCName",                  // 7
    "EcRNetGetDCName",               // 8
    "EcDoRpcExt",                    // 9
    "EcDoConnectEx",                 // 10
    "EcDoRpcExt2",                   // 11
    "Opnum12Reserved",               // 12
    "Opnum13Reserved",               // 13
    "EcDoAsyncConnectEx",            // 14
];

const REMOTE_SCM_ACTIVATOR_OPS: &[&str] = &[
    "Opnum0NotUsedOnWire",  // 0
    "Opnum1NotUsedOnWire",  // 1
    "Opnum2NotUsedOnWire",  // 2
    "RemoteGetClassObject", // 3
    "RemoteCreateInstance", // 4
];

const IACTIVATION_OPS: &[&str] = &[
    "RemoteActivation", // 0
];

const IOBJECT_EXPORTER_OPS: &[&str] = &[
    "ResolveOxid",  // 0
    "SimplePing",   // 1
    "ComplexPing",  // 2
    "ServerAlive",  // 3
    "ResolveOxid2", // 4
    "ServerAlive2", // 5
];

const IREMUNKNOWN_OPS: &[&str] = &[
    "Opnum0NotUsedOnWire", // 0
    "Opnum1NotUsedOnWire", // 1
    "Opnum2NotUsedOnWire", // 2
    "RemQueryInterface",   // 3
    "RemAddRef",           // 4
    "RemRelease",          // 5
];

const IREMUNKNOWN2_OPS: &[&str] = &[
    "Opnum0NotUsedOnWire", // 0
    "Opnum1NotUsedOnWire", // 1
    "Opnum2NotUsedOnWire", // 2
    "RemQueryInterface",   // 3
    "RemAddRef",           // 4
    "RemRelease",          // 5
    "RemQueryInterface2",  // 6
];

const WBEM_LEVEL1_LOGIN_OPS: &[&str] = &[
    "Opnum0NotUsedOnWire", // 0
    "Opnum1NotUsedOnWire", // 1
    "Opnum2NotUsedOnWire", // 2
    "EstablishPosition",   // 3
    "RequestChallenge",    // 4
    "WBEMLogin",           // 5
    "NTLMLogin",           // 6
];

const WBEM_SERVICES_OPS: &[&str] = &[
    "Opnum0NotUsedOnWire",        // 0
    "Opnum1NotUsedOnWire",        // 1
    "Opnum2NotUsedOnWire",        // 2
    "OpenNamespace",              // 3
    "CancelAsyncCall",            // 4
    "QueryObjectSink",            // 5
    "GetObject",                  // 6
    "GetObjectAsync",             // 7
    "PutClass",                   // 8
    "PutClassAsync",              // 9
    "DeleteClass",                // 10
    "DeleteClassAsync",           // 11
    "CreateClassEnum",            // 12
    "CreateClassEnumAsync",       // 13
    "PutInstance",                // 14
    "PutInstanceAsync",           // 15
    "DeleteInstance",             // 16
    "DeleteInstanceAsync",        // 17
    "CreateInstanceEnum",         // 18
    "CreateInstanceEnumAsync",    // 19
    "ExecQuery",                  // 20
    "ExecQueryAsync",             // 21
    "ExecNotificationQuery",      // 22
    "ExecNotificationQueryAsync", // 23
    "ExecMethod",                 // 24
    "ExecMethodAsync",            // 25
];

const EVENTLOG6_OPS: &[&str] = &[
    "EvtRpcRegisterRemoteSubscription",    // 0
    "EvtRpcRemoteSubscriptionNextAsync",   // 1
    "EvtRpcRemoteSubscriptionNext",        // 2
    "EvtRpcRemoteSubscriptionWaitAsync",   // 3
    "EvtRpcRegisterControllableOperation", // 4
    "EvtRpcRegisterLogQuery",              // 5
    "EvtRpcClearLog",                      // 6
    "EvtRpcExportLog",                     // 7
    "EvtRpcLocalizeExportLog",             // 8
    "EvtRpcMessageRender",                 // 9
    "EvtRpcMessageRenderDefault",          // 10
    "EvtRpcQueryNext",                     // 11
    "EvtRpcQuerySeek",                     // 12
    "EvtRpcClose",                         // 13
    "EvtRpcCancel",                        // 14
    "EvtRpcAssertConfig",                  // 15
    "EvtRpcRetractConfig",                 // 16
    "EvtRpcOpenLogHandle",                 // 17
    "EvtRpcGetLogFileInfo",                // 18
    "EvtRpcGetChannelList",                // 19
    "EvtRpcGetChannelConfig",              // 20
    "EvtRpcPutChannelConfig",              // 21
    "EvtRpcGetPublisherList",              // 22
    "EvtRpcGetPublisherListForChannel",    // 23
    "EvtRpcGetPublisherMetadata",          // 24
    "EvtRpcGetPublisherResourceMetadata",  // 25
    "EvtRpcGetEventMetadataEnum",          // 26
    "EvtRpcGetNextEventMetadata",          // 27
    "EvtRpcGetClassicLogDisplayName",      // 28
];

const EVENTLOG_OPS: &[&str] = &[
    "ElfrClearELFW",             // 0
    "ElfrBackupELFW",            // 1
    "ElfrCloseEL",               // 2
    "ElfrDeregisterEventSource", // 3
    "ElfrNumberOfRecords",       // 4
    "ElfrOldestRecord",          // 5
    "ElfrChangeNotify",          // 6
    "ElfrOpenELW",               // 7
    "ElfrRegisterEventSourceW",  // 8
    "ElfrOpenBELW",              // 9
    "ElfrReadELW",               // 10
    "ElfrReportEventW",          // 11
    "ElfrClearELFA",             // 12
    "ElfrBackupELFA",            // 13
    "ElfrOpenELA",               // 14
    "ElfrRegisterEventSourceA",  // 15
    "ElfrOpenBELA",              // 16
    "ElfrReadELA",               // 17
    "ElfrReportEventA",          // 18
    "Opnum19NotUsedOnWire",      // 19
    "Opnum20NotUsedOnWire",      // 20
    "Opnum21NotUsedOnWire",      // 21
    "ElfrGetLogInformation",     // 22
    "Opnum23NotUsedOnWire",      // 23
    "ElfrReportEventAndSourceW", // 24
    "ElfrReportEventExW",        // 25
    "ElfrReportEventExA",        // 26
];

const ICERT_PASSAGE_OPS: &[&str] = &[
    "CertServerRequest", // 0
];

const ICERT_REQUEST_D_OPS: &[&str] = &[
    "Opnum0NotUsedOnWire", // 0
    "Opnum1NotUsedOnWire", // 1
    "Opnum2NotUsedOnWire", // 2
    "Request",             // 3
    "GetCACert",           // 4
    "Ping",                // 5
];

const ICERT_REQUEST_D2_OPS: &[&str] = &[
    "Opnum0NotUsedOnWire", // 0
    "Opnum1NotUsedOnWire", // 1
    "Opnum2NotUsedOnWire", // 2
    "Request",             // 3
    "GetCACert",           // 4
    "Ping",                // 5
    "Request2",            // 6
    "GetCAProperty",       // 7
    "GetCAPropertyInfo",   // 8
    "Ping2",               // 9
];

const ICERT_ADMIN_D_OPS: &[&str] = &[
    "Opnum0NotUsedOnWire",            // 0
    "Opnum1NotUsedOnWire",            // 1
    "Opnum2NotUsedOnWire",            // 2
    "SetExtension",                   // 3
    "SetAttributes",                  // 4
    "ResubmitRequest",                // 5
    "DenyRequest",                    // 6
    "IsValidCertificate",             // 7
    "PublishCRL",                     // 8
    "GetCRL",                         // 9
    "RevokeCertificate",              // 10
    "EnumViewColumn",                 // 11
    "GetViewDefaultColumnSet",        // 12
    "EnumAttributesOrExtensions",     // 13
    "OpenView",                       // 14
    "EnumView",                       // 15
    "CloseView",                      // 16
    "ServerControl",                  // 17
    "Ping",                           // 18
    "GetServerState",                 // 19
    "BackupPrepare",                  // 20
    "BackupEnd",                      // 21
    "BackupGetAttachmentInformation", // 22
    "BackupGetBackupLogs",            // 23
    "BackupOpenFile",                 // 24
    "BackupReadFile",                 // 25
    "BackupCloseFile",                // 26
    "BackupTruncateLogs",             // 27
    "ImportCertificate",              // 28
    "BackupGetDynamicFiles",          // 29
    "RestoreGetDatabaseLocations",    // 30
];

const ICERT_ADMIN_D2_OPS: &[&str] = &[
    "Opnum0NotUsedOnWire",            // 0
    "Opnum1NotUsedOnWire",            // 1
    "Opnum2NotUsedOnWire",            // 2
    "SetExtension",                   // 3
    "SetAttributes",                  // 4
    "ResubmitRequest",                // 5
    "DenyRequest",                    // 6
    "IsValidCertificate",             // 7
    "PublishCRL",                     // 8
    "GetCRL",                         // 9
    "RevokeCertificate",              // 10
    "EnumViewColumn",                 // 11
    "GetViewDefaultColumnSet",        // 12
    "EnumAttributesOrExtensions",     // 13
    "OpenView",                       // 14
    "EnumView",                       // 15
    "CloseView",                      // 16
    "ServerControl",                  // 17
    "Ping",                           // 18
    "GetServerState",                 // 19
    "BackupPrepare",                  // 20
    "BackupEnd",                      // 21
    "BackupGetAttachmentInformation", // 22
    "BackupGetBackupLogs",            // 23
    "BackupOpenFile",                 // 24
    "BackupReadFile",                 // 25
    "BackupCloseFile",                // 26
    "BackupTruncateLogs",             // 27
    "ImportCertificate",              // 28
    "BackupGetDynamicFiles",          // 29
    "RestoreGetDatabaseLocations",    // 30
    "PublishCRLs",                    // 31
    "GetCAProperty",                  // 32
    "SetCAProperty",                  // 33
    "GetCAPropertyInfo",              // 34
    "EnumViewColumnTable",            // 35
    "GetCASecurity",                  // 36
    "SetCASecurity",                  // 37
    "Ping2",                          // 38
    "GetArchivedKey",                 // 39
    "GetAuditFilter",                 // 40
    "SetAuditFilter",                 // 41
    "GetOfficerRights",               // 42
    "SetOfficerRights",               // 43
    "GetConfigEntry",                 // 44
    "SetConfigEntry",                 // 45
    "ImportKey",                      // 46
    "GetMyRoles",                     // 47
    "DeleteRow",                      // 48
];

const FSRVP_OPS: &[&str] = &[
    "GetSupportedVersion",           // 0
    "SetContext",                    // 1
    "StartShadowCopySet",            // 2
    "AddToShadowCopySet",            // 3
    "CommitShadowCopySet",           // 4
    "ExposeShadowCopySet",           // 5
    "RecoveryCompleteShadowCopySet", // 6
    "AbortShadowCopySet",            // 7
    "IsPathSupported",               // 8
    "IsPathShadowCopied",            // 9
    "GetShareMapping",               // 10
    "DeleteShareMapping",            // 11
    "PrepareShadowCopySet",          // 12
];

const GKDI_OPS: &[&str] = &[
    "GetKey", // 0
];

const LSACAP_OPS: &[&str] = &[
    "LsarGetAvailableCAPIDs", // 0
];

const TS_SESSION_OPS: &[&str] = &[
    "RpcOpenSession",             // 0
    "RpcCloseSession",            // 1
    "RpcConnect",                 // 2
    "RpcDisconnect",              // 3
    "RpcLogoff",                  // 4
    "RpcGetUserName",             // 5
    "RpcGetTerminalName",         // 6
    "RpcGetState",                // 7
    "RpcIsSessionDesktopLocked",  // 8
    "RpcShowMessageBox",          // 9
    "RpcGetTimes",                // 10
    "RpcGetSessionCounters",      // 11
    "RpcGetSessionInformation",   // 12
    "Opnum13NotUsedOnWire",       // 13
    "Opnum14NotUsedOnWire",       // 14
    "RpcGetLoggedOnCount",        // 15
    "RpcGetSessionType",          // 16
    "RpcGetSessionInformationEx", // 17
    "Opnum18NotUsedOnWire",       // 18
    "Opnum19NotUsedOnWire",       // 19
    "Opnum20NotUsedOnWire",       // 20
    "RpcGetActivityId",           // 21
];

const TS_NOTIFICATION_OPS: &[&str] = &[
    "RpcWaitForSessionState",         // 0
    "RpcRegisterAsyncNotification",   // 1
    "RpcWaitAsyncNotification",       // 2
    "RpcUnRegisterAsyncNotification", // 3
];

const TS_ENUMERATION_OPS: &[&str] = &[
    "RpcOpenEnum",            // 0
    "RpcCloseEnum",           // 1
    "RpcFilterByState",       // 2
    "RpcFilterByCallersName", // 3
    "RpcEnumAddFilter",       // 4
    "RpcGetEnumResult",       // 5
    "RpcFilterBySessionType", // 6
    "Opnum7NotUsedOnWire",    // 7
    "RpcGetSessionIds",       // 8
    "RpcGetEnumResultEx",     // 9
    "RpcGetAllSessions",      // 10
    "RpcGetAllSessionsEx",    // 11
];

const TS_RCM_PUBLIC_OPS: &[&str] = &[
    "RpcGetClientData",                   // 0
    "RpcGetConfigData",                   // 1
    "RpcGetProtocolStatus",               // 2
    "RpcGetLastInputTime",                // 3
    "RpcGetRemoteAddress",                // 4
    "Opnum5NotUsedOnWire",                // 5
    "Opnum6NotUsedOnWire",                // 6
    "Opnum7NotUsedOnWire",                // 7
    "RpcGetAllListeners",                 // 8
    "RpcGetSessionProtocolLastInputTime", // 9
    "RpcGetUserCertificates",             // 10
    "RpcQuerySessionData",                // 11
];

const TS_RCM_LISTENER_OPS: &[&str] = &[
    "RpcOpenListener",  // 0
    "RpcCloseListener", // 1
    "RpcStopListener",  // 2
    "RpcStartListener", // 3
    "RpcIsListening",   // 4
];

const TS_ICAAPI_OPS: &[&str] = &[
    "RpcWinStationOpenServer",              // 0
    "RpcWinStationCloseServer",             // 1
    "RpcIcaServerPing",                     // 2
    "RpcWinStationEnumerate",               // 3
    "RpcWinStationRename",                  // 4
    "RpcWinStationQueryInformation",        // 5
    "RpcWinStationSetInformation",          // 6
    "RpcWinStationSendMessage",             // 7
    "RpcLogonIdFromWinStationName",         // 8
    "RpcWinStationNameFromLogonId",         // 9
    "RpcWinStationConnect",                 // 10
    "Opnum11NotUsedOnWire",                 // 11
    "Opnum12NotUsedOnWire",                 // 12
    "RpcWinStationDisconnect",              // 13
    "RpcWinStationReset",                   // 14
    "RpcWinStationShutdownSystem",          // 15
    "RpcWinStationWaitSystemEvent",         // 16
    "RpcWinStationShadow",                  // 17
    "Opnum18NotUsedOnWire",                 // 18
    "Opnum19NotUsedOnWire",                 // 19
    "Opnum20NotUsedOnWire",                 // 20
    "Opnum21NotUsedOnWire",                 // 21
    "Opnum22NotUsedOnWire",                 // 22
    "Opnum23NotUsedOnWire",                 // 23
    "Opnum24NotUsedOnWire",                 // 24
    "Opnum25NotUsedOnWire",                 // 25
    "Opnum26NotUsedOnWire",                 // 26
    "Opnum27NotUsedOnWire",                 // 27
    "Opnum28NotUsedOnWire",                 // 28
    "RpcWinStationBreakPoint",              // 29
    "RpcWinStationReadRegistry",            // 30
    "Opnum31NotUsedOnWire",                 // 31
    "Opnum32NotUsedOnWire",                 // 32
    "Opnum33NotUsedOnWire",                 // 33
    "OldRpcWinStationEnumerateProcesses",   // 34
    "Opnum35NotUsedOnWire",                 // 35
    "RpcWinStationEnumerateProcesses",      // 36
    "RpcWinStationTerminateProcess",        // 37
    "Opnum38NotUsedOnWire",                 // 38
    "Opnum39NotUsedOnWire",                 // 39
    "Opnum40NotUsedOnWire",                 // 40
    "Opnum41NotUsedOnWire",                 // 41
    "Opnum42NotUsedOnWire",                 // 42
    "RpcWinStationGetAllProcesses",         // 43
    "RpcWinStationGetProcessSid",           // 44
    "RpcWinStationGetTermSrvCountersValue", // 45
    "RpcWinStationReInitializeSecurity",    // 46
    "Opnum47NotUsedOnWire",                 // 47
    "Opnum48NotUsedOnWire",                 // 48
    "Opnum49NotUsedOnWire",                 // 49
    "Opnum50NotUsedOnWire",                 // 50
    "Opnum51NotUsedOnWire",                 // 51
    "Opnum52NotUsedOnWire",                 // 52
    "RpcWinStationGetLanAdapterName",       // 53
    "Opnum54NotUsedOnWire",                 // 54
    "Opnum55NotUsedOnWire",                 // 55
    "Opnum56NotUsedOnWire",                 // 56
    "Opnum57NotUsedOnWire",                 // 57
    "RpcWinStationUpdateSettings",          // 58
    "RpcWinStationShadowStop",              // 59
    "RpcWinStationCloseServerEx",           // 60
    "RpcWinStationIsHelpAssistantSession",  // 61
    "RpcWinStationGetMachinePolicy",        // 62
    "Opnum63NotUsedOnWire",                 // 63
    "Opnum64NotUsedOnWire",                 // 64
    "RpcWinStationCheckLoopBack",           // 65
    "RpcConnectCallback",                   // 66
    "Opnum67NotUsedOnWire",                 // 67
    "Opnum68NotUsedOnWire",                 // 68
    "Opnum69NotUsedOnWire",                 // 69
    "RpcWinStationGetAllProcesses_NT6",     // 70
    "Opnum71NotUsedOnWire",                 // 71
    "Opnum72NotUsedOnWire",                 // 72
    "Opnum73NotUsedOnWire",                 // 73
    "Opnum74NotUsedOnWire",                 // 74
    "RpcWinStationOpenSessionDirectory",    // 75
];

const TS_SESSENV_OPS: &[&str] = &[
    "RpcShadow2", // 0
];

const TS_VIP_OPS: &[&str] = &[
    "RpcGetSessionIP", // 0
];

const DNSSERVER_OPS: &[&str] = &[
    "R_DnssrvOperation",         // 0
    "R_DnssrvQuery",             // 1
    "R_DnssrvComplexOperation",  // 2
    "R_DnssrvEnumRecords",       // 3
    "R_DnssrvUpdateRecord",      // 4
    "R_DnssrvOperation2",        // 5
    "R_DnssrvQuery2",            // 6
    "R_DnssrvComplexOperation2", // 7
    "R_DnssrvEnumRecords2",      // 8
    "R_DnssrvUpdateRecord2",     // 9
    "R_DnssrvUpdateRecord3",     // 10
    "R_DnssrvEnumRecords3",      // 11
    "R_DnssrvOperation3",        // 12
    "R_DnssrvQuery3",            // 13
    "R_DnssrvComplexOperation3", // 14
    "R_DnssrvOperation4",        // 15
    "R_DnssrvQuery4",            // 16
    "R_DnssrvUpdateRecord4",     // 17
    "R_DnssrvEnumRecords4",      // 18
];

const INIT_SHUTDOWN_OPS: &[&str] = &[
    "BaseInitiateShutdown",   // 0
    "BaseAbortShutdown",      // 1
    "BaseInitiateShutdownEx", // 2
];

const WINDOWS_SHUTDOWN_OPS: &[&str] = &[
    "WsdrInitiateShutdown", // 0
    "WsdrAbortShutdown",    // 1
];

const AUTHZR_OPS: &[&str] = &[
    "AuthzrFreeContext",               // 0
    "AuthzrInitializeContextFromSid",  // 1
    "AuthzrInitializeCompoundContext", // 2
    "AuthzrAccessCheck",               // 3
    "AuthzGetInformationFromContext",  // 4
    "AuthzrModifyClaims",              // 5
    "AuthzrModifySids",                // 6
];

const NTFRSAPI_OPS: &[&str] = &[
    "Opnum0NotUsedOnWire",                 // 0
    "Opnum1NotUsedOnWire",                 // 1
    "Opnum2NotUsedOnWire",                 // 2
    "Opnum3NotUsedOnWire",                 // 3
    "NtFrsApi_Rpc_Set_DsPollingIntervalW", // 4
    "NtFrsApi_Rpc_Get_DsPollingIntervalW", // 5
    "Opnum6NotUsedOnWire",                 // 6
    "NtFrsApi_Rpc_InfoW",                  // 7
    "NtFrsApi_Rpc_IsPathReplicated",       // 8
    "NtFrsApi_Rpc_WriterCommand",          // 9
    "NtFrsApi_Rpc_ForceReplication",       // 10
];

const FRSRPC_OPS: &[&str] = &[
    "FrsRpcSendCommPkt",           // 0
    "FrsRpcVerifyPromotionParent", // 1
    "FrsRpcStartPromotionParent",  // 2
    "FrsNOP",                      // 3
    "Opnum4NotUsedOnWire",         // 4
    "Opnum5NotUsedOnWire",         // 5
    "Opnum6NotUsedOnWire",         // 6
    "Opnum7NotUsedOnWire",         // 7
    "Opnum8NotUsedOnWire",         // 8
    "Opnum9NotUsedOnWire",         // 9
    "Opnum10NotUsedOnWire",        // 10
];

const FRS_TRANSPORT_OPS: &[&str] = &[
    "CheckConnectivity",            // 0
    "EstablishConnection",          // 1
    "EstablishSession",             // 2
    "RequestUpdates",               // 3
    "RequestVersionVector",         // 4
    "AsyncPoll",                    // 5
    "RequestRecords",               // 6
    "UpdateCancel",                 // 7
    "RawGetFileData",               // 8
    "RdcGetSignatures",             // 9
    "RdcPushSourceNeeds",           // 10
    "RdcGetFileData",               // 11
    "RdcClose",                     // 12
    "InitializeFileTransferAsync",  // 13
    "Opnum14NotUsedOnWire",         // 14
    "RawGetFileDataAsync",          // 15
    "RdcGetFileDataAsync",          // 16
    "RdcFileDataTransferKeepAlive", // 17
];

const WBEM_LOGIN_CLIENT_ID_OPS: &[&str] = &[
    "Opnum0NotUsedOnWire", // 0
    "Opnum1NotUsedOnWire", // 1
    "Opnum2NotUsedOnWire", // 2
    "SetClientInfo",       // 3
];

const ENUM_WBEM_CLASS_OBJECT_OPS: &[&str] = &[
    "Opnum0NotUsedOnWire", // 0
    "Opnum1NotUsedOnWire", // 1
    "Opnum2NotUsedOnWire", // 2
    "Reset",               // 3
    "Next",                // 4
    "NextAsync",           // 5
    "Clone",               // 6
    "Skip",                // 7
];

const WBEM_CALL_RESULT_OPS: &[&str] = &[
    "Opnum0NotUsedOnWire", // 0
    "Opnum1NotUsedOnWire", // 1
    "Opnum2NotUsedOnWire", // 2
    "GetResultObject",     // 3
    "GetResultString",     // 4
    "GetResultServices",   // 5
    "GetCallStatus",       // 6
];

const IDISPATCH_OPS: &[&str] = &[
    "Opnum0NotUsedOnWire", // 0
    "Opnum1NotUsedOnWire", // 1
    "Opnum2NotUsedOnWire", // 2
    "GetTypeInfoCount",    // 3
    "GetTypeInfo",         // 4
    "GetIDsOfNames",       // 5
    "Invoke",              // 6
    "RemoteInvoke",        // 7
];

#[cfg(test)]
mod tests;
