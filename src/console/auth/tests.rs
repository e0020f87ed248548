use super::*;

#[test]
fn roles_parse_and_order() {
    for r in Role::ALL {
        assert_eq!(Role::parse(r.as_str()), Ok(r));
    }
    assert!(Role::parse("root")
        .unwrap_err()
        .contains("viewer, analyst or admin"));
    assert!(!Role::Viewer.can_triage());
    assert!(Role::Analyst.can_triage() && !Role::Analyst.can_admin());
    assert!(Role::Admin.can_triage() && Role::Admin.can_admin());
}

#[test]
fn password_hash_is_argon2id_salted_and_verifies() {
    let h = hash_password("correct horse battery").unwrap();
    assert!(h.starts_with("$argon2id$"), "{h}");
    assert!(!h.contains("correct horse"));
    assert!(verify_password(&h, "correct horse battery"));
    assert!(!verify_password(&h, "correct horse batterY"));
    // A fresh salt each time.
    assert_ne!(h, hash_password("correct horse battery").unwrap());
    assert!(!verify_password("not a hash", "correct horse battery"));
    assert!(!verify_password(dummy_hash(), ""));
}

#[test]
fn password_length_limits() {
    assert!(hash_password("short").unwrap_err().contains("at least"));
    let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
    assert!(hash_password(&long).unwrap_err().contains("at most"));
    let h = hash_password("a long enough one").unwrap();
    assert!(!verify_password(&h, &long));
}

#[test]
fn secrets_are_random_and_stored_as_digests() {
    let a = random_secret("dcs_").unwrap();
    let b = random_secret("dcs_").unwrap();
    assert!(a.starts_with("dcs_") && a.len() == 4 + 43, "{a}");
    assert_ne!(a, b);
    let d = secret_digest(&a);
    assert_eq!(d.len(), 64);
    assert_eq!(d, secret_digest(&a));
    assert_ne!(d, secret_digest(&b));
    // SHA-256 of "abc".
    assert_eq!(
        secret_digest("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert!(same_secret(&a, &a.clone()));
    assert!(!same_secret(&a, &b));
    assert!(!same_secret(&a, &a[..10]));
}

#[test]
fn throttle_slows_after_free_failures_and_doubles_up_to_the_cap() {
    let s = ThrottleSettings::default();
    let mut t = Throttle::new(s.clone());
    let t0 = Instant::now();
    for _ in 0..s.free_failures {
        assert_eq!(t.failure("alice", t0), Duration::ZERO);
        assert!(t.check("alice", t0).is_ok());
    }
    assert_eq!(t.failure("alice", t0), s.base_delay);
    assert_eq!(t.check("alice", t0), Err(s.base_delay));
    assert!(t.check("alice", t0 + s.base_delay).is_ok());
    assert_eq!(t.failure("alice", t0), s.base_delay * 2);
    for _ in 0..30 {
        t.failure("alice", t0);
    }
    assert_eq!(t.check("alice", t0), Err(s.max_delay));
    // Another key is not affected; a success forgets.
    assert!(t.check("bob", t0).is_ok());
    t.success("alice");
    assert!(t.check("alice", t0).is_ok());
}

#[test]
fn throttle_forgets_old_failures_and_caps_its_table() {
    let s = ThrottleSettings {
        max_keys: 3,
        ..Default::default()
    };
    let mut t = Throttle::new(s.clone());
    let t0 = Instant::now();
    for _ in 0..5 {
        t.failure("a", t0);
    }
    assert!(t.check("a", t0).is_err());
    assert!(t.check("a", t0 + s.forget_after).is_ok());
    for (i, k) in ["k1", "k2", "k3", "k4", "k5"].iter().enumerate() {
        t.failure(k, t0 + Duration::from_secs(i as u64));
    }
    assert_eq!(t.len(), 3);
    assert_eq!(t.evicted, 2);
}
