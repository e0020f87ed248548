//! Criterion benchmark: the NDR argument decoders (`args`) on request stubs of the lab's attack
//! captures (testdata-pcaps/lab: the stub bytes of one request each, as tshark shows them with
//! the interface's dissector turned off), and the same decoders on a hostile stub.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dcsensor::proto::dcerpc::args;
use std::hint::black_box;

/// 25_attack_zerologon_attempt NetrServerAuthenticate3.
const NETLOGON_AUTH3: &str = "e81300000600000000000000060000005c005c00440043003100000005000000000000000500000044004300310024000000060004000000000000000400000044004300310000000000000000000000ffff2f21";
/// 21_attack_pass_the_hash_smb_cleartext RCreateServiceW.
const SVCCTL_CREATE: &str = "000000000d97e5faccac3e47be2adc41a676be7d05000000000000000500000069005200660078000000aaaadf11000005000000000000000500000069005200660078000000bfbfff010f001000000003000000000000001a000000000000001a0000005c005c004400430031005c0073007900730076006f006c005c00640041005200590052006f006c0063002e00650078006500000000000000000000000000000000000000000000000000000000000000";
/// 24_attack_coerce RpcRemoteFindFirstPrinterChangeNotificationEx.
const SPOOLSS_NOTIFY: &str = "0000000094b59b865adf784a9ade418f50684a910001000000000000bccb00000c000000000000000c0000005c005c00310030002e00390039002e0030002e00320000000000000000000000";
/// 20_attack_recon_samr_lsarpc_smb_cleartext SamrLookupNamesInDomain.
const SAMR_LOOKUP: &str = "0100000015596f2dd21b3c4eb5d99bbc2041f98101000000e803000000000000010000001a001a0073f500000d000000000000000d00000044006f006d00610069006e002000410064006d0069006e007300";
/// 23_attack_smb_session_enum NetrSessionEnum.
const SRVSVC_SESSIONS: &str = "000000005b9c00000100000000000000010000000000aaaab0c000000100000000000000010000000000abab0a0000000a000000339c00000000000000000000ffffffffa3bc000000000000";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn bench(c: &mut Criterion) {
    let cases: &[(&str, u128, u16, &str)] = &[
        (
            "NetrServerAuthenticate3",
            0x12345678_1234_abcd_ef00_01234567cffb,
            26,
            NETLOGON_AUTH3,
        ),
        (
            "RCreateServiceW",
            0x367abb81_9844_35f1_ad32_98f038001003,
            12,
            SVCCTL_CREATE,
        ),
        (
            "RpcRemoteFindFirstPrinterChangeNotificationEx",
            0x12345678_1234_abcd_ef00_0123456789ab,
            65,
            SPOOLSS_NOTIFY,
        ),
        (
            "SamrLookupNamesInDomain",
            0x12345778_1234_abcd_ef00_0123456789ac,
            17,
            SAMR_LOOKUP,
        ),
        (
            "NetrSessionEnum",
            0x4b324fc8_1670_01d3_1278_5a47bf6ee188,
            12,
            SRVSVC_SESSIONS,
        ),
    ];
    let mut g = c.benchmark_group("dcerpc_args");
    g.throughput(Throughput::Elements(1));
    for (name, uuid, opnum, stub) in cases {
        let stub = hex(stub);
        let (dec, _) = args::lookup(*uuid, *opnum).expect("a decoder");
        assert!(args::decode(dec, &stub, false, false).is_some(), "{name}");
        g.bench_function(*name, |b| {
            b.iter(|| args::decode(dec, black_box(&stub), false, false))
        });
    }
    // A stub of large counts: refused at the first length check.
    let hostile = vec![0xffu8; 512];
    let (dec, _) = args::lookup(0x12345778_1234_abcd_ef00_0123456789ac, 17).unwrap();
    g.bench_function("hostile_counts", |b| {
        b.iter(|| args::decode(dec, black_box(&hostile), false, false))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
