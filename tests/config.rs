//! `dcsensor check-config`: the shipped example is accepted; broken files are refused with the
//! key and the line named, exit 2.

use std::process::Command;

fn check(text: &str, name: &str) -> (i32, String, String) {
    let dir = std::env::temp_dir().join(format!("dcsensor-config-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dcsensor.toml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dcsensor"))
        .arg("check-config")
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_example_config_is_valid() {
    let (code, stdout, _) = check(
        &std::fs::read_to_string("systemd/dcsensor.toml").unwrap(),
        "example",
    );
    assert_eq!(code, 0);
    assert!(stdout.contains("valid"));
}

#[test]
fn broken_configs_are_refused_naming_key_and_line() {
    let cases = [
        (
            "[capture]\nmode = \"local\"\nsnap_len = 100\n",
            "snap_len",
            "line 3",
        ),
        ("[pipeline]\nworkers = \"many\"\n", "workers", "line 2"),
        ("[output]\nspool_max_mb = 0\n", "spool_max_mb", "line 2"),
        ("[log]\nlevel = \"loud\"\n", "level", "line 2"),
        ("[metrics]\nlisten = 9469\n", "listen", "line 2"),
        ("[capture\n", "", "line 1"),
    ];
    for (i, (text, key, line)) in cases.iter().enumerate() {
        let (code, _, stderr) = check(text, &format!("bad{i}"));
        assert_eq!(code, 2, "{text}: {stderr}");
        assert!(
            stderr.contains(key) && stderr.contains(line),
            "{text}: {stderr}"
        );
        assert!(stderr.lines().count() <= 6, "{stderr}");
    }
}

#[test]
fn fanout_needs_one_interface_and_a_thread_count_in_range() {
    let (code, _, _) = check(
        "[capture]\ninterfaces = [\"eth0\"]\nfanout = 4\n",
        "fanout-ok",
    );
    assert_eq!(code, 0);
    for (i, (text, says)) in [
        ("[capture]\nfanout = 0\n", "give 1 (no fanout)"),
        ("[capture]\nfanout = 65\n", "give 1 (no fanout)"),
        (
            "[capture]\ninterfaces = [\"eth0\", \"eth1\"]\nfanout = 2\n",
            "exactly one interface",
        ),
    ]
    .iter()
    .enumerate()
    {
        let (code, _, stderr) = check(text, &format!("fanout{i}"));
        assert_eq!(code, 2, "{text}: {stderr}");
        assert!(
            stderr.contains("capture.fanout") && stderr.contains(says),
            "{text}: {stderr}"
        );
    }
}
