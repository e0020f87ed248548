//! Fuzz target: the detection engine's JSON record reader (`Rec::read_json`: the hand-written
//! fast path for lines in the sensor's own form, serde_json for the rest) against serde_json
//! alone (`Rec`'s `Deserialize`). Both must agree: the same record, or both an error; nothing
//! may panic. Seeds are the sensor's own records of the captures (`fuzz_seeds`).
#![no_main]
use dcsensor::detect::input::Rec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let mut fast = Rec::default();
    let read = Rec::read_json(line, &mut fast);
    let general = serde_json::from_str::<Rec>(line);
    match (read, general) {
        (Ok(()), Ok(g)) => assert_eq!(fast, g, "the two readers disagree on {line:?}"),
        (Err(_), Err(_)) => {}
        (Ok(()), Err(e)) => panic!("read_json took {line:?}, serde_json refused it: {e}"),
        (Err(e), Ok(_)) => panic!("read_json refused {line:?}, serde_json took it: {e}"),
    }
});
