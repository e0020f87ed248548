//! Tests of the configuration file.

use super::*;

#[test]
fn the_shipped_example_is_accepted() {
    let text = include_str!("../../../systemd/dcsensor.toml");
    let cfg = Config::parse(text, "dcsensor.toml").unwrap();
    assert_eq!(cfg.capture.mode, Mode::Local);
    assert!(
        cfg.capture.interfaces.is_empty(),
        "the default route's interface"
    );
    assert_eq!(cfg.options().flow.tcp_idle, 300 * NS);
}

#[test]
fn the_default_route_names_the_interface() {
    let table = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n\
                     ens3\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n\
                     ens3\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\n";
    assert_eq!(parse_default_route(table), Some("ens3".to_string()));
    assert_eq!(parse_default_route("Iface\n"), None);
}

#[test]
fn an_empty_file_gives_the_defaults() {
    assert_eq!(Config::parse("", "x").unwrap(), Config::default());
}

#[test]
fn unknown_keys_are_named_with_their_line() {
    let e = Config::parse("[capture]\nmode = \"local\"\nsnap_len = 100\n", "c.toml").unwrap_err();
    assert!(e.contains("snap_len"), "{e}");
    assert!(e.contains("line 3"), "{e}");
    let e = Config::parse("[captur]\n", "c.toml").unwrap_err();
    assert!(e.contains("captur") && e.contains("line 1"), "{e}");
}

#[test]
fn bad_values_are_named_with_their_line() {
    let e = Config::parse("[capture]\n\nmode = \"span\"\n", "c.toml").unwrap_err();
    assert!(e.contains("span") && e.contains("line 3"), "{e}");
    let e = Config::parse("[flow]\ntcp_idle = -1\n", "c.toml").unwrap_err();
    assert!(e.contains("tcp_idle") || e.contains("line 2"), "{e}");
    assert!(e.contains("line 2"), "{e}");
    let e = Config::parse("[guard]\ncpu_percent = 150\n", "c.toml").unwrap_err();
    assert!(e.contains("percentage") && e.contains("line 2"), "{e}");
    let e = Config::parse("[output]\nsinks = [\"kafka://x\"]\n", "c.toml").unwrap_err();
    assert!(e.contains("output.sinks") && e.contains("kafka://x"), "{e}");
    let e = Config::parse("[capture]\nsnaplen = 10\n", "c.toml").unwrap_err();
    assert!(e.contains("snaplen") && e.contains("line 2"), "{e}");
}

#[test]
fn a_file_that_is_not_utf8_is_named_with_the_position() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.toml");
    std::fs::write(&p, b"[flow]\ntcp_idle = 3\n# caf\xe9 latin-1\n").unwrap();
    let e = Config::load(&p).unwrap_err();
    assert!(e.contains("not UTF-8"), "{e}");
    assert!(e.contains("line 3, column 6"), "{e}");
    assert!(e.contains("save the file as UTF-8"), "{e}");
    let e = Config::parse("[pipeline]\nmemory_budget_mb = 0\n", "c.toml").unwrap_err();
    assert!(e.contains("line 2"), "{e}");
    let e = Config::parse("[flow]\nauth_reserve_percent = 100\n", "c.toml").unwrap_err();
    assert!(e.contains("percentage"), "{e}");
}

#[test]
fn the_config_files_output_section_maps_to_the_upstream() {
    use std::path::PathBuf;
    use std::time::Duration;
    let mut o = OutputSection::default();
    let c = o.upstream().unwrap();
    assert_eq!(
        c.sinks,
        vec![SinkSpec::File("/var/lib/dcsensor/batches".into())]
    );
    assert_eq!(c.spool_dir(), PathBuf::from("/var/lib/dcsensor/spool"));
    assert_eq!((c.spool_limit, c.batch), (1 << 30, Limits::default()));
    assert_eq!(
        (c.sensor_id, c.nats.user, c.nats.stream.as_str()),
        (None, None, "DCSENSOR")
    );
    o.sinks = vec!["nats://10.0.0.9:4222".into(), "stdout".into()];
    o.sensor_id = "dc01".into();
    o.nats.user = "sensor".into();
    o.batch_age = 0.25;
    let c = o.upstream().unwrap();
    assert_eq!(
        c.sinks,
        vec![
            SinkSpec::Nats(vec!["nats://10.0.0.9:4222".into()]),
            SinkSpec::Stdout
        ]
    );
    assert_eq!(
        (c.sensor_id.as_deref(), c.nats.user.as_deref()),
        (Some("dc01"), Some("sensor"))
    );
    assert_eq!(c.batch.max_age, Duration::from_millis(250));
    o.sensor_id = "dc01.lab".into();
    assert!(o
        .upstream()
        .unwrap_err()
        .starts_with("output.sensor_id: sensor id `dc01.lab`"));
    o.sinks = vec!["/tmp/x".into()];
    assert!(o
        .upstream()
        .unwrap_err()
        .contains("did you mean `file:/tmp/x`"));
}
