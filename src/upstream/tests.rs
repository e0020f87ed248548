//! Tests of the upstream settings: sink specifications, sensor ids, the config file's output
//! section, the spool directory's default.

use super::*;

#[test]
fn sink_specs_parse_and_errors_say_what_to_write() {
    assert_eq!(SinkSpec::parse("stdout"), Ok(SinkSpec::Stdout));
    assert_eq!(
        SinkSpec::parse("file:/var/x"),
        Ok(SinkSpec::File("/var/x".into()))
    );
    assert_eq!(
        SinkSpec::parse("file:rel/dir"),
        Ok(SinkSpec::File("rel/dir".into()))
    );
    assert_eq!(
        SinkSpec::parse("nats://127.0.0.1:4222,nats://127.0.0.1:4223"),
        Ok(SinkSpec::Nats(vec![
            "nats://127.0.0.1:4222".into(),
            "nats://127.0.0.1:4223".into()
        ]))
    );
    assert_eq!(
        SinkSpec::parse("tls://nats.example.org,10.0.0.9:4222"),
        Ok(SinkSpec::Nats(vec![
            "tls://nats.example.org".into(),
            "nats://10.0.0.9:4222".into()
        ]))
    );
    assert_eq!(
        SinkSpec::parse("nats://[::1]:4222"),
        Ok(SinkSpec::Nats(vec!["nats://[::1]:4222".into()]))
    );
    let e = SinkSpec::parse("file:").unwrap_err();
    assert!(e.contains("write file:DIR"), "{e}");
    let e = SinkSpec::parse("/var/lib/x").unwrap_err();
    assert!(e.contains("did you mean `file:/var/lib/x`"), "{e}");
    let e = SinkSpec::parse("kafka://b:9092").unwrap_err();
    assert!(
        e.contains("unknown sink scheme `kafka://`") && e.contains("nats://HOST:PORT"),
        "{e}"
    );
    let e = SinkSpec::parse("nats://h:99999").unwrap_err();
    assert!(e.contains("`99999` is not a port"), "{e}");
    let e = SinkSpec::parse("nats://:4222").unwrap_err();
    assert!(e.contains("names no host"), "{e}");
    let e = SinkSpec::parse("nats://a:1,http://b:2").unwrap_err();
    assert!(e.contains("`http://` is not a NATS URL"), "{e}");
    let e = SinkSpec::parse("").unwrap_err();
    assert!(e.starts_with("empty sink"), "{e}");
    assert!(SinkSpec::parse("json")
        .unwrap_err()
        .contains("unknown sink `json`"));
}

#[test]
fn sensor_ids_are_subject_tokens() {
    assert!(check_sensor_id("dc01_site-2").is_ok());
    for bad in ["", "dc01.lab", "a b", "x>", "*", &"a".repeat(256)] {
        let e = check_sensor_id(bad).unwrap_err();
        assert!(e.contains("A-Z, a-z, 0-9"), "{e}");
    }
    let cfg = UpstreamConfig::default();
    let id = cfg.sensor().unwrap();
    assert!(check_sensor_id(&id).is_ok(), "{id}");
    let want: String = hostname()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !want.is_empty() {
        assert_eq!(id, want);
    }
}

#[test]
fn spool_dir_defaults_beside_the_first_file_sink() {
    let mut c = UpstreamConfig::with_sinks(vec![SinkSpec::Stdout, SinkSpec::File("/d/out".into())]);
    assert_eq!(c.spool_dir(), PathBuf::from("/d/out/.spool"));
    c.spool = Some("/s".into());
    assert_eq!(c.spool_dir(), PathBuf::from("/s"));
    c.sinks = vec![SinkSpec::Nats(vec!["nats://h:1".into()])];
    c.spool = None;
    assert_eq!(c.spool_dir(), PathBuf::from("/var/lib/dcsensor/spool"));
}
