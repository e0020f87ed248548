//! Test and bench support: the records of the lab captures (`testdata-pcaps/lab`) replayed
//! through the pipeline.

#![allow(dead_code)]

use dcsensor::record::Record;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Every record of the lab captures (replayed once per test binary).
pub fn lab_records() -> &'static [Record] {
    static R: OnceLock<Vec<Record>> = OnceLock::new();
    R.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata-pcaps/lab");
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
            .collect();
        paths.sort();
        let r = dcsensor::pipeline::replay_to_vec(&paths, &Default::default())
            .unwrap_or_else(|e| panic!("the lab captures must replay: {e}"));
        assert!(
            r.records.len() > 500,
            "the lab captures gave only {} records",
            r.records.len()
        );
        r.records
    })
}
