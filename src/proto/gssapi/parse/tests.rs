//! Tests of the GSS-API and SPNEGO parsers on tokens of the lab captures and hostile ones.

use super::*;
use crate::proto::ntlm::parse::tests::{
    hex, LAB03_ACCEPT, LAB03_AUTHENTICATE, LAB03_CHALLENGE, LAB03_NEGOTIATE,
};

fn ntlm_type(inner: Inner<'_>) -> u8 {
    match inner {
        Inner::Ntlmssp(m) => m[8],
        other => panic!("not NTLMSSP: {other:?}"),
    }
}

#[test]
fn spnego_tokens_of_an_smb_session_setup() {
    assert_eq!(ntlm_type(unwrap(&hex(LAB03_NEGOTIATE)).unwrap()), 1);
    assert_eq!(ntlm_type(unwrap(&hex(LAB03_CHALLENGE)).unwrap()), 2);
    let auth = hex(LAB03_AUTHENTICATE);
    let Inner::Ntlmssp(m) = unwrap(&auth).unwrap() else {
        panic!()
    };
    assert_eq!(m.len(), 400);
    assert_eq!(m[8], 3);
    assert_eq!(unwrap(&hex(LAB03_ACCEPT)), Ok(Inner::Nothing));
}

// testdata-pcaps/lab/02_benign_smb_kerberos.pcap, smb2.security_blob of frame 42: SPNEGO
// NegTokenInit (GSS wrapper, mechTypes MS-krb5 and krb5), mechToken with the GSS krb5
// wrapper, token id 01 00, then the AP-REQ ([APPLICATION 14], 1424 bytes).
#[test]
fn kerberos_ap_req_inside_spnego() {
    let blob = hex(LAB02_KRB_BLOB);
    let Inner::ApReq(der) = unwrap(&blob).unwrap() else {
        panic!("no AP-REQ")
    };
    assert_eq!(der[0], 0x6e);
    assert_eq!(der.len(), LAB02_AP_REQ_LEN);
    assert_eq!(unwrap(&hex(LAB02_AP_REP_BLOB)), Ok(Inner::Nothing));
}

pub(crate) const LAB02_KRB_BLOB: &str = "608205d306062b0601050502a08205c7308205c3a018301606092a864882f71201020206092a864886f712010202a28205a5048205a16082059d06092a864886f71201020201006e82058c30820588a003020105a10302010ea20703050020000000a382046f6182046b30820467a003020105a10d1b0b4c41422e4558414d504c45a2223020a003020101a11930171b04636966731b0f6463312e6c61622e6578616d706c65a382042b30820427a003020112a103020101a2820419048204157f88c8c6b1fabc40495c17ea10e275e30dd2bbc0c9a3120cd48dd40218523dbc98814c2f94dabd014de65d0f42a6cce5182849b8973d60c119135e0c92035fa448730d9f3749c99f992c90c6b074d9156dc89a6d94392ffe23a57e45d4678e5344e5bed61108b09c27a83e94545c5b5cb15b3265e3dd3186f0fe5aada50a95b3ab73aa4a05f48889f3f7cf2bea7159417ca5e2500f412b37323c2e3413a5facd544e7b4863d813600eef8a45ca97478639bd0f3acc3d65933f820d701c63069d804e3495309aebdcea58d1ce05562ae1dc5ca828e52da396630e61fba26eb1f9e8cab8efc524930ab240864d299f53cd80b6af517fbe80daaa328ff335cd7e25b879552b518de42050e4a813c3a4dd0dcea7fa95f08b7fe16ff040949734ea769cdb5e871e8d959607b220e85e1180c7a8f580ecdcb0d5ba940f1ffa332cd637afcc14d8758315f6e88471ad5c9864caa0e40ab842f4f706ae78887e4a595c47dd2e01b45e1ff8c51b5eaea6bf314cdc74bd8448ae06a940e78d6c609f3a321107fb361eb7cf8fd7a4b78255345f96a5c394dd32adeb1e50c682bcf4d3adfcce134a823d39623ad2e97b85046b885368c93dfc1b340ce6c974041f1d3bafe2b77d61424eddfe94f2d58c08e46f864dad0d5007347c3dea18283909414d7511f0458652d287eeceb10acfbb6c95593913c36a96e18d45b03f2130fe0836aa7106ca85c987a15452a7c4ef0858bb3ec059a479f7f7d76be7fa038ad3234522fab62d136c5bb73ea7fb2b9236ba1892a7d26d38e42916ad2663907220c0d24df8192f11670badec0b7dd11e4f0e67df5973630ed874100de1c1b2b5f707e524d7e48412b0f3d671abbbad49d37071521437ecdea04bd9b98a9075bbf9a1d741616290c9f28ab98a09224ded3faec99c5547996730b336740e8a371b1214d389e54d16d4123f1bf2e1f91d4614552d8f01c909c94ee1b8f90bde4fdb1e82ac209838d4a4a1138ceda00872b1fdb18a07459ac2998703c7798de98577d9bbf64d792f55d1eb5bf30ea8c3443239584800e48290028dcd8d6b2f2182cf3cbd068a3f8d9d4745a643a4ea1b6d8c6468edc21b49510c41a478fc5941fdbeaaaf2af6f4987a67bf0a24f54d6cac3256c475c75bf2b668c88410ec99f64c5c99a65a178f68ce5b852482dea6e5c3e5efc1ab59210c24a46f4712a7bdb90644bc22e7748c32eb1b2c4e28dbf96702bed60a71e99e6b5790ee46b933dbb6030e8f53786829d3a1b39f8c1aa63e6e54141c36cc1f4cfecdc66a163925524cd9d22a2569ba369003b1e272adcf10a3d7265bf7235af20c9c699ba54de893c9d1b98bf4aa5812af0b29bfd46531a230715630636421c389d784d8df56e1e2e96a12820066637f0629410131cbbdb4f5665fa429437dd5b25851411e15a0d9f91b32c12eea830d850e70a4dd566dc6c57126449a71a7c0f79f37a9a1b6a481ff3081fca003020112a281f40481f157d01d21a8d02e4a9d609a78658bb1da5413b09adbb2a8f8ae46a44ba992731c2736d1ea78ec66926850107ea9f8d6dd529060c97ec6f54ee09a8a0a26af2f2d19975a387aece3d6890744d135c22246a7e8c6564eb79fb474af362d8c858d73f39bf56133842b6cdc4ea1d74eaf9f3afeb76b56e8388c268ed89ebbd9478cc64e290a0f2d1d45b2b0ba9ed0faf52bfc7ed72774965a72f9c6ee7138c620654589fcc3f7acd649371ef1d7d67b96bc19f6a50a06ded1546a0a1f62a199bd2aeee3824d1dff5d7110bfa284c89bbeabb5d4c5868036a24059d2336d4f6e9d25a0fd34fa080485ced5d8c28c95ead2fa59f4";
const LAB02_AP_REQ_LEN: usize = 1424;
// Frame 44: the server's NegTokenResp with the AP-REP (nothing for us to decode).
pub(crate) const LAB02_AP_REP_BLOB: &str = "a181b73081b4a0030a0100a10b06092a864882f712010202a2819f04819c60819906092a864886f71201020202006f8189308186a003020105a10302010fa27a3078a003020112a271046f7d62c706548ef05d384e4623fd736e0f61bbd42a8954eb0ff233a512aeee326d4789b424fed986d1712c4a1fe995d14c32a0af6e8228278d5fbb32bfbb6d2fedd7cd0d3b698c849a7f0d4276b6fb9fbaca6ad782fd96e429242f0fabe2eb67e5160e0b3e643e0ba4c687db0ee2d290";

// A Kerberos context's answers are valid tokens: a bare AP-REP (DCE style, MS-KILE 3.4.5.1)
// alone or as a NegTokenResp's responseToken, a bare KRB-ERROR; truncated ones are not.
#[test]
fn bare_kerberos_answers_are_valid_tokens() {
    let ap_rep = [0x6f, 0x05, 0x30, 0x03, 0xa0, 0x01, 0x05];
    assert_eq!(unwrap(&ap_rep), Ok(Inner::Nothing));
    assert_eq!(unwrap(&[0x7e, 0x02, 0x30, 0x00]), Ok(Inner::Nothing));
    let octets = [&[0x04, ap_rep.len() as u8][..], &ap_rep].concat();
    let field = [&[0xa2, octets.len() as u8][..], &octets].concat();
    let state = [0xa0, 0x03, 0x0a, 0x01, 0x01];
    let body = [&state[..], &field].concat();
    let seq = [&[0x30, body.len() as u8][..], &body].concat();
    let resp = [&[0xa1, seq.len() as u8][..], &seq].concat();
    assert_eq!(unwrap(&resp), Ok(Inner::Nothing));
    assert_eq!(unwrap(&ap_rep[..4]), Err(Error::Der));
}

#[test]
fn hostile_tokens() {
    assert_eq!(unwrap(b""), Ok(Inner::Nothing));
    assert_eq!(
        unwrap(&[0x60, 0x84, 0xff, 0xff, 0xff, 0xff]),
        Err(Error::Der)
    );
    assert_eq!(unwrap(&[0x60, 0x80, 0x06, 0x00]), Err(Error::Der));
    assert_eq!(unwrap(&[0x60, 0x02, 0x04, 0x00]), Err(Error::Structure));
    assert_eq!(unwrap(&[0x42, 0x00]), Err(Error::Unknown));
    assert_eq!(unwrap(&[0x05, 0x04, 0x00]), Ok(Inner::Nothing));
    // A mechToken that is itself a NegTokenResp, nested past the depth limit.
    let mut t = b"NTLMSSP\0\x01\0\0\0\0\0\0\0".to_vec();
    for _ in 0..MAX_DEPTH {
        let octets = [&[0x04, t.len() as u8][..], &t].concat();
        let field = [&[0xa2, octets.len() as u8][..], &octets].concat();
        let seq = [&[0x30, field.len() as u8][..], &field].concat();
        t = [&[0xa1, seq.len() as u8][..], &seq].concat();
    }
    assert_eq!(unwrap(&t), Err(Error::TooDeep));
    // Every truncation of real tokens errors or unwraps, never panics.
    for tok in [
        hex(LAB03_NEGOTIATE),
        hex(LAB03_AUTHENTICATE),
        hex(LAB02_KRB_BLOB),
    ] {
        for n in 0..tok.len() {
            let _ = unwrap(&tok[..n]);
        }
    }
}

#[test]
fn der_headers_for_stream_framing() {
    assert_eq!(header(&[0x30, 0x84, 0, 0, 1, 0, 2]), Some((0x30, 6, 256)));
    assert_eq!(header(&[0x30, 0x05]), Some((0x30, 2, 5)));
    assert!(header_incomplete(&[0x30, 0x84, 0, 0]));
    assert!(!header_incomplete(&[0x30, 0x84, 0, 0, 1, 0]));
    assert_eq!(header(&[0x30, 0x85, 0, 0, 0, 0, 1]), None);
}
