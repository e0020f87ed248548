//! Fuzz target: every DCE-RPC argument decoder (`args`) and the return-code reader on arbitrary
//! stubs. The first byte picks the byte order (bit 0) and NDR64 (bit 1); the rest is the stub.
#![no_main]
use dcsensor::proto::dcerpc::{args, interfaces::INTERFACES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, stub)) = data.split_first() else {
        return;
    };
    let (big, ndr64) = (flags & 1 != 0, flags & 2 != 0);
    for i in INTERFACES {
        for op in 0..i.ops.len() as u16 {
            if let Some((dec, ret)) = args::lookup(i.uuid, op) {
                if let Some(a) = args::decode(dec, stub, big, ndr64) {
                    // Nothing read can be longer than the stub that held it.
                    assert!(a.0.len() <= stub.len());
                }
                let _ = args::status(ret, stub, big);
            }
        }
    }
});
