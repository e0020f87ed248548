//! Unit tests of the LDAP parsers on the lab's real messages.
use super::*;
use crate::proto::ntlm::parse::tests::hex;

// testdata-pcaps/lab/10_attack_kerberoasting.pcap, TCP payloads of frames 4, 6, 8 and 9:
// impacket's GetUserSPNs binding as alice with SASL GSS-SPNEGO (NTLM), then frame 10, the
// first sealed message after the bind (cut after its first 40 bytes).
pub(crate) const LAB10_BIND_NEGOTIATE: &str = "3067020476c37b94605f0201030400a358040a4753532d53504e45474f044a604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa22a04284e544c4d5353500001000000358288e2000000000000000000000000000000000a00614a0000000f";
pub(crate) const LAB10_BIND_CHALLENGE: &str = "3081d0020476c37b946181c70a010e040004008781bda181ba3081b7a0030a0101a10c060a2b06010401823702020aa281a104819e4e544c4d53535000020000000600060038000000358289e248198b91d6516f350000000000000000600060003e000000060100000000000f4c0041004200020006004c004100420001000600440043003100040016006c00610062002e006500780061006d0070006c00650003001e006400630031002e006c00610062002e006500780061006d0070006c00650007000800766b97c55d7fdd0100000000";
pub(crate) const LAB10_BIND_SUCCESS: &str = "302e02043d5f3c9261260a010004000400871da11b3019a0030a0100a3120410010000002fda46217151409d00000000";
pub(crate) const LAB10_SEALED: &str =
    "0000012a01000000c952314f2335bf660100000041c3b41b1ffdda36a86be38de609ec0f41a9125b";

#[test]
fn sasl_bind_request_and_responses() {
    let m = hex(LAB10_BIND_NEGOTIATE);
    let (rest, msg) = message(&m).unwrap();
    assert!(rest.is_empty());
    assert_eq!(msg.id, 0x76c3_7b94);
    let Op::BindRequest {
        name,
        auth: Auth::Sasl {
            mechanism,
            credentials: Some(c),
        },
    } = msg.op
    else {
        panic!("{msg:?}")
    };
    assert_eq!((name, mechanism), (&b""[..], &b"GSS-SPNEGO"[..]));
    assert_eq!(c.len(), 0x4a);
    assert_eq!(c[0], 0x60);

    let m = hex(LAB10_BIND_CHALLENGE);
    let (_, msg) = message(&m).unwrap();
    let Op::BindResponse {
        result: 14,
        matched_dn: b"",
        sasl_creds: Some(c),
    } = msg.op
    else {
        panic!("{msg:?}")
    };
    assert_eq!(c[0], 0xa1);

    let m = hex(LAB10_BIND_SUCCESS);
    let (_, msg) = message(&m).unwrap();
    assert_eq!(msg.id, 0x3d5f_3c92);
    assert!(matches!(
        msg.op,
        Op::BindResponse {
            result: 0,
            sasl_creds: Some(_),
            ..
        }
    ));
    assert_eq!(result_name(14), Some("saslBindInProgress"));
    assert_eq!(result_name(49), Some("invalidCredentials"));
    assert_eq!(result_name(99), None);
}

#[test]
fn integers_and_truncations() {
    assert_eq!(integer(&[0x01]), Some(1));
    assert_eq!(integer(&[0xff]), Some(-1));
    assert_eq!(integer(&[0x00, 0x80]), Some(128));
    assert_eq!(integer(&[]), None);
    assert_eq!(integer(&[1; 9]), None);
    for h in [
        LAB10_BIND_NEGOTIATE,
        LAB10_BIND_CHALLENGE,
        LAB10_BIND_SUCCESS,
    ] {
        let m = hex(h);
        for n in 0..m.len() {
            assert!(message(&m[..n]).is_err());
        }
    }
    assert!(message(&hex(LAB10_SEALED)).is_err());
}
