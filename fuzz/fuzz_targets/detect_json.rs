//! Fuzz target: the detection engine's JSON record reader (`Rec::read_json`: the hand-written
//! fast path for lines in the sensor's own form, serde_json for the rest) against serde_json
//! alone (`Rec`'s `Deserialize`). Both must agree: the same record, or both an error; nothing
//! may panic. The line is also read into the record the last input was read into (as
//! `dcsensor detect` reuses records, with the memory the reader keeps between lines): the same
//! record, written alike; and `Rec::write_json` (alerts' evidence) writes what serde_json writes.
//! Every input, taken or refused, is also read through one `LineRec` (as `dcsensor detect`
//! reads its lines: only the fields the last record held are cleared), which must read what
//! serde_json reads, now and then with a share of its record held as the engine holds evidence
//! (a held record must never change).
//! Seeds are the sensor's own records of the captures (`fuzz_seeds`).
#![no_main]
use dcsensor::detect::input::{LineRec, Rec};
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;
use std::sync::Arc;

/// Shares of `LineRec`'s records held (with what each held when taken), at most this many.
const HELD: usize = 4;

thread_local! {
    static USED: RefCell<Rec> = RefCell::new(Rec::default());
    static LINES: RefCell<(LineRec, Vec<(Arc<Rec>, Rec)>)> = RefCell::new(Default::default());
}

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let mut fast = Rec::default();
    let read = Rec::read_json(line, &mut fast);
    let general = serde_json::from_str::<Rec>(line);
    LINES.with(|l| {
        let (lines, held) = &mut *l.borrow_mut();
        let got = lines.read_json(line);
        match (&got, &general) {
            (Ok(r), Ok(g)) => assert_eq!(&***r, g, "read unlike through a LineRec: {line:?}"),
            (Err(_), Err(_)) => {}
            _ => panic!("a LineRec and serde_json disagree on {line:?}"),
        }
        if let Ok(r) = got {
            if data.len() % 3 == 0 {
                if held.len() >= HELD {
                    let (h, was) = held.remove(0);
                    assert_eq!(*h, was, "a held record changed");
                }
                held.push((Arc::clone(r), (**r).clone()));
            }
        }
    });
    match (read, general) {
        (Ok(()), Ok(g)) => {
            assert_eq!(fast, g, "the two readers disagree on {line:?}");
            let json = |r: &Rec| serde_json::to_string(r).unwrap();
            assert_eq!(json(&fast), json(&g), "written unlike on {line:?}");
            // the evidence writer (alerts' evidence records) writes what serde_json writes
            let mut own = Vec::new();
            fast.write_json(&mut own);
            assert_eq!(own, json(&fast).into_bytes(), "evidence text unlike on {line:?}");
            USED.with(|u| {
                let used = &mut *u.borrow_mut();
                assert!(Rec::read_json(line, used).is_ok(), "refused when reused: {line:?}");
                assert_eq!(*used, g, "read unlike into a used record: {line:?}");
                assert_eq!(json(used), json(&g), "written unlike when reused: {line:?}");
            });
        }
        (Err(_), Err(_)) => {}
        (Ok(()), Err(e)) => panic!("read_json took {line:?}, serde_json refused it: {e}"),
        (Err(e), Ok(_)) => panic!("read_json refused {line:?}, serde_json took it: {e}"),
    }
});
