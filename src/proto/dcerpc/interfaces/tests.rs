//! Tests of the interface table: order, lookups, and the corrections checked against the
//! specifications' IDL.

use super::*;

#[test]
fn table_is_sorted_and_unique() {
    for w in INTERFACES.windows(2) {
        assert!(w[0].uuid < w[1].uuid, "{} before {}", w[0].name, w[1].name);
    }
}

#[test]
fn lookups_name_interfaces_and_operations() {
    let drs = lookup(0xe3514235_4b06_11d1_ab04_00c04fc2dcd2).unwrap();
    assert_eq!((drs.name, drs.major, drs.minor), ("drsuapi", 4, 0));
    assert_eq!(drs.operation(0), Some("DRSBind"));
    assert_eq!(drs.operation(3), Some("DRSGetNCChanges"));
    assert_eq!(drs.operation(31), None);
    let samr = lookup(0x12345778_1234_abcd_ef00_0123456789ac).unwrap();
    assert_eq!(samr.operation(13), Some("SamrEnumerateUsersInDomain"));
    assert_eq!(samr.operation(47), Some("SamrQueryInformationUser2"));
    assert_eq!(samr.operation(64), Some("SamrConnect5"));
    assert_eq!(samr.operation(4), Some("Opnum4NotUsedOnWire"));
    let lsa = lookup(0x12345778_1234_abcd_ef00_0123456789ab).unwrap();
    assert_eq!(lsa.operation(15), Some("LsarLookupSids"));
    assert_eq!(lsa.operation(76), Some("LsarLookupSids3"));
    assert_eq!(lsa.operation(130), Some("LsarOpenPolicy3"));
    let spool = lookup(0x12345678_1234_abcd_ef00_0123456789ab).unwrap();
    assert_eq!(
        spool.operation(65),
        Some("RpcRemoteFindFirstPrinterChangeNotificationEx")
    );
    assert_eq!(spool.operation(69), Some("RpcOpenPrinterEx"));
    assert_eq!(spool.operation(89), Some("RpcAddPrinterDriverEx"));
    let nl = lookup(0x12345678_1234_abcd_ef00_01234567cffb).unwrap();
    assert_eq!(nl.operation(26), Some("NetrServerAuthenticate3"));
    assert_eq!(nl.operation(30), Some("NetrServerPasswordSet2"));
    assert_eq!(nl.operation(59), Some("NetrServerAuthenticateKerberos"));
    let scm = lookup(0x367abb81_9844_35f1_ad32_98f038001003).unwrap();
    assert_eq!(scm.operation(12), Some("RCreateServiceW"));
    assert_eq!(scm.operation(15), Some("ROpenSCManagerW"));
    assert_eq!(scm.operation(64), Some("ROpenSCManager2"));
    let srv = lookup(0x4b324fc8_1670_01d3_1278_5a47bf6ee188).unwrap();
    assert_eq!(srv.operation(15), Some("NetrShareEnum"));
    assert_eq!(srv.operation(12), Some("NetrSessionEnum"));
    assert_eq!(srv.operation(57), Some("NetrShareDelEx"));
    let efs = lookup(0xc681d488_d850_11d0_8c52_00c04fd90f7e).unwrap();
    assert_eq!(efs.operation(22), Some("EfsRpcQueryProtectors"));
    assert_eq!(
        lookup(0xdf1941c5_fe89_4e79_bf10_463657acf44d)
            .unwrap()
            .operation(0),
        Some("EfsRpcOpenFileRaw")
    );
    let wbem = lookup(0x9556dc99_828c_11cf_a37e_00aa003240c7).unwrap();
    assert_eq!(wbem.operation(24), Some("ExecMethod"));
    let par = lookup(0x76f03f96_cdfd_44fc_a22c_64950a001209).unwrap();
    assert_eq!(par.operation(39), Some("RpcAsyncAddPrinterDriver"));
    assert_eq!(
        lookup(0x86d35949_83c9_4044_b424_db363231fd0c)
            .unwrap()
            .operation(1),
        Some("SchRpcRegisterTask")
    );
    assert_eq!(
        lookup(0x338cd001_2244_31f1_aaaa_900038001003)
            .unwrap()
            .operation(35),
        Some("BaseRegDeleteKeyEx")
    );
    assert_eq!(
        lookup(0x82273fdc_e32a_18c3_3f78_827929dc23ea)
            .unwrap()
            .operation(0),
        Some("ElfrClearELFW")
    );
    assert_eq!(
        lookup(0xf6beaff7_1e19_4fbb_9f8f_b89e2018337c)
            .unwrap()
            .operation(6),
        Some("EvtRpcClearLog")
    );
    assert!(lookup(0x12345678_0000_0000_0000_000000000000).is_none());
}

/// A sample of the corrections made against Microsoft's IDL (and Samba's and Wireshark's
/// tables): one assertion per kind of mistake the table had.
#[test]
fn corrections_checked_against_the_specifications() {
    let op = |uuid: Uuid, n: u16| lookup(uuid).and_then(|i| i.operation(n));
    let scm = 0x367abb81_9844_35f1_ad32_98f038001003;
    // [MS-SCMR]: 61-63 unused, ROpenSCManager2 is 64.
    assert_eq!(op(scm, 61), Some("Opnum61NotUsedOnWire"));
    assert_eq!(op(scm, 63), Some("Opnum63NotUsedOnWire"));
    assert_eq!(op(scm, 64), Some("ROpenSCManager2"));
    assert_eq!(op(scm, 65), None);
    // [MS-NRPC]: documented as 49, sent as 54.
    let nl = 0x12345678_1234_abcd_ef00_01234567cffb;
    assert_eq!(op(nl, 49), Some("NetrChainSetClientAttributes"));
    assert_eq!(op(nl, 54), Some("NetrChainSetClientAttributes"));
    // [MS-DFSNM]: 6 NetrDfsMove, 7-9 unused.
    let dfs = 0x4fc742e0_4a10_11cf_8273_00aa004ae673;
    assert_eq!(op(dfs, 6), Some("NetrDfsMove"));
    for n in 7..=9 {
        assert_eq!(
            op(dfs, n),
            Some(format!("Opnum{n}NotUsedOnWire")).as_deref()
        );
    }
    // Tails.
    let samr = 0x12345778_1234_abcd_ef00_0123456789ac;
    assert_eq!(
        op(samr, 77),
        Some("SamrAccountIsDelegatedManagedServiceAccount")
    );
    let lsa = 0x12345778_1234_abcd_ef00_0123456789ab;
    assert_eq!(op(lsa, 135), Some("LsarOpenPolicyWithCreds"));
    assert_eq!(op(lsa, 141), Some("LsarRetrievePrivateData2"));
    let spool = 0x12345678_1234_abcd_ef00_0123456789ab;
    assert_eq!(op(spool, 117), Some("RpcRegeneratePrintDeviceCapabilities"));
    assert_eq!(op(spool, 123), Some("RpcIppSetPrinterAttributes"));
    let wks = 0x6bffd098_a112_3610_9833_46c3f87e345a;
    assert_eq!(op(wks, 31), Some("NetrJoinDomain3"));
    assert_eq!(op(wks, 37), Some("NetrSetPrimaryComputerName2"));
    // Retired operations attacks still send keep their historical names.
    let dssetup = 0x3919286a_b10c_11d0_9ba8_00c04fd92ef5;
    assert_eq!(op(dssetup, 9), Some("DsRolerUpgradeDownlevelServer"));
    // New interfaces: UUID, name, and an operation each.
    let new: &[(Uuid, &str, u16, &str)] = &[
        (
            0x91ae6020_9e3c_11cf_8d7c_00aa00c091be,
            "ICertPassage",
            0,
            "CertServerRequest",
        ),
        (
            0xd99e6e70_fc88_11d0_b498_00a0c90312f3,
            "ICertRequestD",
            3,
            "Request",
        ),
        (
            0x5422fd3a_d4b8_4cef_a12e_e87d4ca22e90,
            "ICertRequestD2",
            6,
            "Request2",
        ),
        (
            0xd99e6e71_fc88_11d0_b498_00a0c90312f3,
            "ICertAdminD",
            10,
            "RevokeCertificate",
        ),
        (
            0x7fe0d935_dda6_443f_85d0_1cfb58fe41dd,
            "ICertAdminD2",
            39,
            "GetArchivedKey",
        ),
        (
            0xa8e0653c_2744_4389_a61d_7373df8b2292,
            "fsrvp",
            8,
            "IsPathSupported",
        ),
        (
            0xb9785960_524f_11df_8b6d_83dcded72085,
            "ISDKey",
            0,
            "GetKey",
        ),
        (
            0xafc07e2e_311c_4435_808c_c483ffeec7c9,
            "lsacap",
            0,
            "LsarGetAvailableCAPIDs",
        ),
        (
            0x484809d6_4239_471b_b5bc_61df8c23ac48,
            "TermSrvSession",
            4,
            "RpcLogoff",
        ),
        (
            0x11899a43_2b68_4a76_92e3_a3d6ad8c26ce,
            "TermSrvNotification",
            0,
            "RpcWaitForSessionState",
        ),
        (
            0x88143fd0_c28d_4b2b_8fef_8d882f6a9390,
            "TermSrvEnumeration",
            10,
            "RpcGetAllSessions",
        ),
        (
            0xbde95fdf_eee0_45de_9e12_e5a61cd0d4fe,
            "RCMPublic",
            4,
            "RpcGetRemoteAddress",
        ),
        (
            0x497d95a6_2d27_4bf5_9bbd_a6046957133c,
            "RCMListener",
            0,
            "RpcOpenListener",
        ),
        (
            0x5ca4a760_ebb1_11cf_8611_00a0245420ed,
            "IcaApi",
            37,
            "RpcWinStationTerminateProcess",
        ),
        (
            0x50abc2a4_574d_40b3_9d66_ee4fd5fba076,
            "DnsServer",
            9,
            "R_DnssrvUpdateRecord2",
        ),
        (
            0x894de0c0_0d55_11d3_a322_00c04fa321a1,
            "InitShutdown",
            2,
            "BaseInitiateShutdownEx",
        ),
        (
            0xd95afe70_a6d5_4259_822e_2c84da1ddb0d,
            "WindowsShutdown",
            0,
            "WsdrInitiateShutdown",
        ),
        (
            0x0b1c2170_5732_4e0e_8cd3_d9b16f3b84d7,
            "authzr",
            1,
            "AuthzrInitializeContextFromSid",
        ),
        (
            0xf5cc5a18_4264_101a_8c59_08002b2f8426,
            "nspi",
            0,
            "NspiBind",
        ),
        (
            0xa4f1db00_ca47_1067_b31f_00dd010662da,
            "exchange_mapi",
            10,
            "EcDoConnectEx",
        ),
        (
            0xd049b186_814f_11d1_9a3c_00c04fc9b232,
            "NtFrsApi",
            10,
            "NtFrsApi_Rpc_ForceReplication",
        ),
        (
            0xf5cc59b4_4264_101a_8c59_08002b2f8426,
            "frsrpc",
            0,
            "FrsRpcSendCommPkt",
        ),
        (
            0x897e2e5f_93f3_4376_9c9c_fd2277495c27,
            "FrsTransport",
            8,
            "RawGetFileData",
        ),
        (
            0xd4781cd6_e5d3_44df_ad94_930efe48a887,
            "IWbemLoginClientID",
            3,
            "SetClientInfo",
        ),
        (
            0x027947e1_d731_11ce_a357_000000000001,
            "IEnumWbemClassObject",
            4,
            "Next",
        ),
        (
            0x44aca675_e8fc_11d0_a07c_00c04fb68820,
            "IWbemCallResult",
            3,
            "GetResultObject",
        ),
        (
            0x00020400_0000_0000_c000_000000000046,
            "IDispatch",
            6,
            "Invoke",
        ),
    ];
    for (uuid, name, n, want) in new {
        let i = lookup(*uuid).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(i.name, *name);
        assert_eq!(i.operation(*n), Some(*want), "{name} {n}");
    }
}
