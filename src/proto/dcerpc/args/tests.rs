//! Tests of the argument decoders: layouts built as NDR lays them out, the status names, and
//! hostile stubs (every truncation, every decoder on arbitrary bytes) that must never panic.

use super::*;
use crate::record::ArgValue;

const NETLOGON: Uuid = 0x12345678_1234_abcd_ef00_01234567cffb;
const WBEM: Uuid = 0x9556dc99_828c_11cf_a37e_00aa003240c7;
const TSCH: Uuid = 0x86d35949_83c9_4044_b424_db363231fd0c;

/// NDR building blocks, little-endian NDR (transfer syntax 2.0).
struct B(Vec<u8>);
impl B {
    fn align(&mut self, n: usize) -> &mut Self {
        while self.0.len() % n != 0 {
            self.0.push(0);
        }
        self
    }
    fn u16(&mut self, v: u16) -> &mut Self {
        self.align(2);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.align(4);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }
    fn string(&mut self, s: &str) -> &mut Self {
        let units: Vec<u16> = s.encode_utf16().chain([0]).collect();
        let n = units.len() as u32;
        self.u32(n).u32(0).u32(n);
        for u in units {
            self.u16(u);
        }
        self
    }
    fn bstr(&mut self, s: &str) -> &mut Self {
        let units: Vec<u16> = s.encode_utf16().collect();
        let n = units.len() as u32;
        self.u32(0x20004).u32(n).u32(n * 2).u32(n);
        for u in units {
            self.u16(u);
        }
        self
    }
}

fn run(uuid: Uuid, opnum: u16, stub: &[u8]) -> Option<Args> {
    let (dec, _) = lookup(uuid, opnum).expect("a decoder");
    decode(dec, stub, false, false)
}

fn authenticate3(cred: [u8; 8]) -> Vec<u8> {
    let mut b = B(Vec::new());
    b.u32(0x20000)
        .string("\\\\DC1")
        .string("DC1$")
        .u16(6)
        .string("DC1");
    b.raw(&cred).u32(0x212fffff);
    b.0
}

#[test]
fn netlogon_authenticate_names_the_account_and_a_zero_credential() {
    let a = run(NETLOGON, 26, &authenticate3([0; 8])).unwrap();
    assert_eq!(a.str("account"), Some("DC1$"));
    assert_eq!(a.str("computer"), Some("DC1"));
    assert_eq!(a.str("channel_type"), Some("ServerSecureChannel"));
    assert_eq!(a.get("credential_zero"), Some(&ArgValue::Bool(true)));
    assert_eq!(a.get("flags"), Some(&ArgValue::Int(0x212fffff)));
    let a = run(NETLOGON, 26, &authenticate3([1, 0, 0, 0, 0, 0, 0, 0])).unwrap();
    assert_eq!(a.get("credential_zero"), Some(&ArgValue::Bool(false)));
}

#[test]
fn wmi_exec_method_and_query_after_orpcthis() {
    let orpcthis = |b: &mut B| {
        b.u16(5).u16(7).u32(0).u32(0).raw(&[0x11; 16]).u32(0);
    };
    let mut b = B(Vec::new());
    orpcthis(&mut b);
    b.bstr("Win32_Process").bstr("Create").u32(0).u32(0);
    let a = run(WBEM, 24, &b.0).unwrap();
    assert_eq!(a.str("class"), Some("Win32_Process"));
    assert_eq!(a.str("method"), Some("Create"));
    let mut b = B(Vec::new());
    orpcthis(&mut b);
    b.bstr("WQL")
        .bstr("SELECT * FROM Win32_Process")
        .u32(0x10)
        .u32(0);
    let a = run(WBEM, 20, &b.0).unwrap();
    assert_eq!(a.str("query"), Some("SELECT * FROM Win32_Process"));
    // ORPCTHIS with extensions is not read.
    let mut b = B(Vec::new());
    b.u16(5).u16(7).u32(0).u32(0).raw(&[0x11; 16]).u32(0x20000);
    assert!(run(WBEM, 20, &b.0).is_none());
}

#[test]
fn scheduled_task_command_from_its_definition() {
    let xml = "<?xml version=\"1.0\"?><Task><Actions><Exec><Command>cmd.exe</Command>\
               <Arguments>/C whoami &gt; C:\\Windows\\Temp\\x.tmp</Arguments></Exec></Actions></Task>";
    let mut b = B(Vec::new());
    b.u32(0x20000).string("\\evil").string(xml).u32(6);
    let a = run(TSCH, 1, &b.0).unwrap();
    assert_eq!(a.str("path"), Some("\\evil"));
    assert_eq!(
        a.str("command"),
        Some("cmd.exe /C whoami > C:\\Windows\\Temp\\x.tmp")
    );
}

#[test]
fn status_names_by_kind() {
    assert_eq!(
        status(Ret::Nt, &[0x22, 0, 0, 0xc0], false),
        Some(Code::Name("STATUS_ACCESS_DENIED"))
    );
    assert_eq!(
        status(Ret::Nt, &[0, 0, 1, 7], true),
        Some(Code::Name("STATUS_SOME_NOT_MAPPED"))
    );
    assert_eq!(
        status(Ret::Win32, &[9, 9, 5, 0, 0, 0], false),
        Some(Code::Name("ERROR_ACCESS_DENIED"))
    );
    assert_eq!(
        status(Ret::Hresult, &[3, 0x10, 4, 0x80], false),
        Some(Code::Name("WBEM_E_ACCESS_DENIED"))
    );
    assert_eq!(status(Ret::Win32, &[0; 4], false), Some(Code::Num(0)));
    assert_eq!(
        status(Ret::Win32, &[0xaa, 0, 0, 0], false),
        Some(Code::Num(0xaa))
    );
    assert_eq!(status(Ret::Win32, &[0, 0], false), None);
}

/// Every interface and opnum with a decoder.
fn all_decoders() -> Vec<Decoder> {
    let mut v = Vec::new();
    for i in crate::proto::dcerpc::interfaces::INTERFACES {
        for op in 0..i.ops.len() as u16 {
            if let Some((d, _)) = lookup(i.uuid, op) {
                v.push(d);
            }
        }
    }
    v
}

#[test]
fn hostile_stubs_never_panic() {
    let decoders = all_decoders();
    assert!(decoders.len() >= 60, "{}", decoders.len());
    // Every truncation of a real layout.
    let full = authenticate3([0; 8]);
    for cut in 0..full.len() {
        assert!(run(NETLOGON, 26, &full[..cut]).is_none(), "{cut}");
    }
    // Every decoder on arbitrary bytes, both byte orders, both syntaxes: no panic, and an
    // answer that only ever holds what the bytes held.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..400 {
        let len = round % 300;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Mostly small values, so that counts and ids look plausible.
                if x % 3 == 0 {
                    (x >> 8) as u8
                } else {
                    (x % 5) as u8
                }
            })
            .collect();
        for d in &decoders {
            for (big, n64) in [(false, false), (true, false), (false, true)] {
                let _ = decode(*d, &bytes, big, n64);
            }
        }
    }
    // Counts of u32::MAX everywhere.
    let ff = vec![0xff; 256];
    for d in &decoders {
        assert!(decode(*d, &ff, false, false).is_none_or(|a| a.0.len() < 16));
    }
}

const LSARPC: Uuid = 0x12345778_1234_abcd_ef00_0123456789ab;

/// LsarLookupNames: handle, Count, then `names` as RPC_UNICODE_STRINGs (heads, then the
/// buffers, a null one for an empty name); `bad` makes that buffer's actual count exceed its
/// maximum.
fn lookup_names(names: &[&str], bad: Option<usize>) -> Vec<u8> {
    let mut b = B(Vec::new());
    b.raw(&[0; 20]);
    let n = names.len() as u32;
    b.u32(n).u32(n);
    for (i, s) in names.iter().enumerate() {
        let bytes = (s.encode_utf16().count() * 2) as u16;
        let id = if s.is_empty() { 0 } else { 0x20000 + i as u32 };
        b.u16(bytes).u16(bytes).u32(id);
    }
    for (i, s) in names.iter().enumerate() {
        if s.is_empty() {
            continue;
        }
        let units: Vec<u16> = s.encode_utf16().collect();
        let n = units.len() as u32;
        let actual = if bad == Some(i) { n + 1 } else { n };
        b.u32(n).u32(0).u32(actual);
        for u in units {
            b.u16(u);
        }
    }
    b.0
}

#[test]
fn lookups_keep_the_first_names_and_still_check_the_rest() {
    let owned: Vec<String> = (0..70).map(|i| format!("user{i}")).collect();
    let mut names: Vec<&str> = owned.iter().map(String::as_str).collect();
    names[3] = "";
    let a = run(LSARPC, 14, &lookup_names(&names, None)).unwrap();
    let Some(ArgValue::List(kept)) = a.get("names") else {
        panic!("{a:?}")
    };
    // The null buffer is not a name; the first 64 present ones are kept, room for them only.
    assert_eq!(kept.len(), 64);
    assert_eq!(kept.capacity(), 64);
    assert_eq!(kept[2], "user2");
    assert_eq!(kept[3], "user4");
    assert_eq!(kept[63], "user64");
    assert_eq!(a.get("count"), Some(&ArgValue::Int(70)));
    // A malformed buffer past the names kept still refuses the stub, as one within them does.
    assert!(run(LSARPC, 14, &lookup_names(&names, Some(68))).is_none());
    assert!(run(LSARPC, 14, &lookup_names(&names, Some(1))).is_none());
    // Two names: the referent ids held inline.
    let a = run(LSARPC, 14, &lookup_names(&["a", "bb"], None)).unwrap();
    assert_eq!(
        a.get("names"),
        Some(&ArgValue::List(vec!["a".into(), "bb".into()]))
    );
}

#[test]
fn args_of_a_stub_refused_midway_are_never_carried_over() {
    // A stub that fails after some arguments were read leaves nothing behind for the next.
    let full = authenticate3([0; 8]);
    assert!(run(NETLOGON, 26, &full[..full.len() - 2]).is_none());
    let mut b = B(Vec::new());
    b.u32(0).string("WS1").raw(&[0; 8]);
    let a = run(NETLOGON, 4, &b.0).unwrap();
    assert_eq!(a.0.len(), 2);
    assert_eq!(a.str("computer"), Some("WS1"));
    assert_eq!(a.get("challenge_zero"), Some(&ArgValue::Bool(true)));
    // No argument read: still `args: {}`.
    let mut b = B(Vec::new());
    b.raw(&[0; 20]).u32(7).u32(7);
    let a = run(0xe3514235_4b06_11d1_ab04_00c04fc2dcd2, 3, &b.0).unwrap();
    assert!(a.0.is_empty());
}

#[test]
fn parameters_passed_over_are_checked_as_when_read() {
    // NetrServerReqChallenge's PrimaryName is not recorded, but a malformed one (actual count
    // over the maximum, or cut) still refuses the stub.
    let mut b = B(Vec::new());
    b.u32(0x20000)
        .u32(2)
        .u32(0)
        .u32(3)
        .raw(&[b'a', 0, b'b', 0, 0, 0]);
    b.string("WS1").raw(&[0; 8]);
    assert!(run(NETLOGON, 4, &b.0).is_none());
    let mut b = B(Vec::new());
    b.u32(0x20000).string("\\\\DC1").string("WS1").raw(&[1; 8]);
    let a = run(NETLOGON, 4, &b.0).unwrap();
    assert_eq!(a.str("computer"), Some("WS1"));
    assert_eq!(a.get("challenge_zero"), Some(&ArgValue::Bool(false)));
    for cut in 0..b.0.len() {
        assert!(run(NETLOGON, 4, &b.0[..cut]).is_none(), "{cut}");
    }
}
