//! Test support: the conformance corpus — every capture of `../shared/pcaps` and of
//! `testdata-pcaps/lab` that has a given tshark tsv beside it (lab: under `cases/<name>/`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// Whether the shared corpus is there.
pub fn shared_present() -> bool {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/pcaps")
        .is_dir()
}

/// Every (capture, tsv) pair for the tsv file name `tsv` (e.g. `tshark-dns.tsv`), sorted.
pub fn cases(tsv: &str) -> Vec<(PathBuf, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut v = Vec::new();
    let mut dirs = vec![root.join("../shared/pcaps")];
    while let Some(d) = dirs.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut caps = Vec::new();
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                if !p.ends_with("also-used-by") {
                    dirs.push(p);
                }
            } else if p
                .extension()
                .is_some_and(|x| x == "pcap" || x == "pcapng" || x == "cap")
            {
                caps.push(p);
            }
        }
        let t = d.join(tsv);
        if t.is_file() && caps.len() == 1 {
            v.push((caps.remove(0), t));
        }
    }
    let lab = root.join("testdata-pcaps/lab");
    for e in std::fs::read_dir(&lab).into_iter().flatten().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "pcap") {
            let stem = p
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            let t = lab.join("cases").join(stem).join(tsv);
            if t.is_file() {
                v.push((p, t));
            }
        }
    }
    v.sort();
    v
}
