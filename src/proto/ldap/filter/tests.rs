//! Unit tests of the filter writer: every choice, escaping, deep and long filters.

use super::*;

/// A BER element (definite length, long form where needed).
pub(crate) fn ber(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    match content.len() {
        n if n < 0x80 => v.push(n as u8),
        n if n < 0x100 => v.extend_from_slice(&[0x81, n as u8]),
        n if n < 0x10000 => v.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]),
        n => v.extend_from_slice(&[0x83, (n >> 16) as u8, (n >> 8) as u8, n as u8]),
    }
    v.extend_from_slice(content);
    v
}

pub(crate) fn eq(attr: &str, value: &[u8]) -> Vec<u8> {
    ber(
        0xa3,
        &[ber(0x04, attr.as_bytes()), ber(0x04, value)].concat(),
    )
}

pub(crate) fn present(attr: &str) -> Vec<u8> {
    ber(0x87, attr.as_bytes())
}

pub(crate) fn and(items: &[Vec<u8>]) -> Vec<u8> {
    ber(0xa0, &items.concat())
}

fn show(f: &[u8]) -> Result<String, Malformed> {
    let (rest, t) = tlv(f).map_err(|_| Malformed)?;
    assert!(rest.is_empty());
    render(t)
}

#[test]
fn every_choice() {
    // (&(objectCategory=person)(servicePrincipalName=*)): GetUserSPNs' shape.
    let f = and(&[
        eq("objectCategory", b"person"),
        present("servicePrincipalName"),
    ]);
    assert_eq!(
        show(&f).unwrap(),
        "(&(objectCategory=person)(servicePrincipalName=*))"
    );
    let or = ber(0xa1, &[eq("a", b"1"), eq("b", b"2")].concat());
    let not = ber(0xa2, &or);
    assert_eq!(show(&not).unwrap(), "(!(|(a=1)(b=2)))");
    let ge = ber(0xa5, &[ber(0x04, b"pwdLastSet"), ber(0x04, b"1")].concat());
    let le = ber(0xa6, &[ber(0x04, b"x"), ber(0x04, b"9")].concat());
    let ap = ber(0xa8, &[ber(0x04, b"cn"), ber(0x04, b"bob")].concat());
    assert_eq!(
        show(&and(&[ge, le, ap])).unwrap(),
        "(&(pwdLastSet>=1)(x<=9)(cn~=bob))"
    );
    // Substrings: initial, any, final; and only any.
    let sub = ber(
        0xa4,
        &[
            ber(0x04, b"cn"),
            ber(
                0x30,
                &[ber(0x80, b"ad"), ber(0x81, b"mi"), ber(0x82, b"n")].concat(),
            ),
        ]
        .concat(),
    );
    assert_eq!(show(&sub).unwrap(), "(cn=ad*mi*n)");
    let sub = ber(
        0xa4,
        &[ber(0x04, b"cn"), ber(0x30, &ber(0x81, b"adm"))].concat(),
    );
    assert_eq!(show(&sub).unwrap(), "(cn=*adm*)");
    let sub = ber(
        0xa4,
        &[ber(0x04, b"cn"), ber(0x30, &ber(0x82, b"adm"))].concat(),
    );
    assert_eq!(show(&sub).unwrap(), "(cn=*adm)");
    // Extensible match: the bitwise AND rule with a type; with dnAttributes and no type.
    let ext = ber(
        0xa9,
        &[
            ber(0x81, b"1.2.840.113556.1.4.803"),
            ber(0x82, b"userAccountControl"),
            ber(0x83, b"8192"),
        ]
        .concat(),
    );
    assert_eq!(
        show(&ext).unwrap(),
        "(userAccountControl:1.2.840.113556.1.4.803:=8192)"
    );
    let ext = ber(
        0xa9,
        &[ber(0x81, b"2.5.13.5"), ber(0x83, b"x"), ber(0x84, &[0xff])].concat(),
    );
    assert_eq!(show(&ext).unwrap(), "(:dn:2.5.13.5:=x)");
    // RFC 4526 absolute true and false.
    assert_eq!(show(&ber(0xa0, &[])).unwrap(), "(&)");
    assert_eq!(show(&ber(0xa1, &[])).unwrap(), "(|)");
}

#[test]
fn escaping_as_rfc_4515_says() {
    // RFC 4515 section 4's examples.
    assert_eq!(
        show(&eq("o", b"Parens R Us (for all your parenthetical needs)")).unwrap(),
        r"(o=Parens R Us \28for all your parenthetical needs\29)"
    );
    assert_eq!(show(&eq("cn", b"*")).unwrap(), r"(cn=\2a)");
    assert_eq!(
        show(&eq("filename", b"C:\\MyFile")).unwrap(),
        r"(filename=C:\5cMyFile)"
    );
    assert_eq!(
        show(&eq("bin", &[0, 0, 0, 4])).unwrap(),
        r"(bin=\00\00\00\04)"
    );
    assert_eq!(show(&eq("a", b"x\0y")).unwrap(), r"(a=x\00y)");
    assert_eq!(show(&eq("sn", "Lučić".as_bytes())).unwrap(), "(sn=Lučić)");
    // A binary objectSid (not UTF-8, or control characters): every octet escaped.
    assert_eq!(
        show(&eq("objectSid", &[1, 5, 0xff, b'a', 0xc3])).unwrap(),
        r"(objectSid=\01\05\ff\61\c3)"
    );
    assert_eq!(
        show(&eq("objectGUID", &[1, b'2', 3])).unwrap(),
        r"(objectGUID=\01\32\03)"
    );
}

#[test]
fn malformed_filters() {
    for bad in [
        vec![0xa3, 0x02, 0x04, 0x00], // an assertion without its value
        ber(0xa2, &[]),               // not without a filter
        ber(0xa2, &[present("a"), present("b")].concat()), // not with two
        ber(0xaa, &[]),               // no such choice
        ber(0xa0, &[0x87, 0x05, b'a']), // a child cut short
        ber(0xa4, &[ber(0x04, b"cn"), ber(0x30, &[])].concat()), // substrings without pieces
        ber(
            0xa4,
            &[
                ber(0x04, b"cn"),
                ber(0x30, &[ber(0x80, b"a"), ber(0x80, b"b")].concat()),
            ]
            .concat(),
        ),
        ber(0xa9, &ber(0x81, b"rule")), // extensible match without a value
    ] {
        assert_eq!(show(&bad), Err(Malformed), "{bad:02x?}");
    }
}

#[test]
fn deep_and_long_filters_are_bounded() {
    // 100,000 nested nots: no recursion, the string is cut at the cap.
    let mut f = present("a");
    for _ in 0..100_000 {
        f = ber(0xa2, &f);
    }
    let s = show(&f).unwrap();
    assert_eq!(s.len(), MAX_FILTER);
    assert!(s.starts_with("(!(!(!") && s.ends_with("..."));
    // 20,000 terms in one and.
    let f = and(&vec![eq("cn", b"x"); 20_000]);
    let s = show(&f).unwrap();
    assert_eq!(s.len(), MAX_FILTER);
    assert!(s.starts_with("(&(cn=x)(cn=x)") && s.ends_with("..."));
    // One very long value, multibyte: cut on a character boundary.
    let f = eq("cn", "é".repeat(10_000).as_bytes());
    let s = show(&f).unwrap();
    assert!(s.len() <= MAX_FILTER && s.ends_with("..."));
    // Just under the cap: kept whole.
    let f = eq("cn", &vec![b'x'; MAX_FILTER - 5]);
    assert_eq!(show(&f).unwrap().len(), MAX_FILTER);
    assert!(!show(&f).unwrap().ends_with("..."));
}
