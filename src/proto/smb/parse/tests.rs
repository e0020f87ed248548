//! Unit tests of the SMB parsers on real headers and hostile offsets.
use super::*;

// testdata-pcaps/lab/20_attack_recon_samr_lsarpc_smb_cleartext.pcap, frame 21: the header
// of a signed READ response (tshark: smb2.msg_id 7, smb2.tid 0x84b8f3c8, smb2.sesid
// 0x000000007d70afc0).
const LAB20_READ_RESPONSE: &str = "fe534d42400010000000000008008e000900000000000000070000000000000000000000c8f3b884c0af707d00000000a107e3a4a601a3c3471922ce8baebb8611005000440000000000000000000000";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn smb2_header_of_a_real_read_response() {
    let b = hex(LAB20_READ_RESPONSE);
    let h = smb2_header(&b).unwrap();
    assert_eq!(
        h,
        Smb2Header {
            status: 0,
            command: cmd2::READ,
            flags: 0x9,
            next: 0,
            message_id: 7,
            tree_id: 0x84b8_f3c8,
            session_id: 0x7d70_afc0
        }
    );
    assert!(h.is_response() && !h.is_async() && !h.is_related());
    assert_eq!(smb2_read_resp(&b), P::Ok((80, 0x44)));
    assert_eq!(smb2_data(&b, 80 + 0x44, 80, 0x44), P::Need(80 + 0x44));
    assert_eq!(smb2_data(&b, 80 + 0x40, 80, 0x44), P::Bad);
    assert_eq!(smb2_header(&b[..63]), None);
    let mut bad = b.clone();
    bad[0] = 0xff;
    assert_eq!(smb2_header(&bad), None);
    // The async form has no tree id.
    let mut a = b.clone();
    a[16] |= FLAG_ASYNC as u8;
    assert_eq!(smb2_header(&a).map(|h| h.tree_id), Some(0));
}

#[test]
fn netbios_headers() {
    assert_eq!(
        nb_header(&[0, 0, 0x01, 0x30]),
        Some(NbHeader {
            kind: 0,
            len: 0x130
        })
    );
    assert_eq!(
        nb_header(&[0, 0x12, 0x34, 0x56]),
        Some(NbHeader {
            kind: 0,
            len: 0x12_3456
        })
    );
    assert_eq!(
        nb_header(&[0x85, 0, 0, 0]),
        Some(NbHeader { kind: 0x85, len: 0 })
    );
    assert_eq!(
        nb_header(&[0x81, 1, 0, 4]),
        Some(NbHeader {
            kind: 0x81,
            len: 0x1_0004
        })
    );
    assert_eq!(nb_header(&[0x81, 2, 0, 4]), None);
    assert_eq!(nb_header(&[0x42, 0, 0, 4]), None);
    assert_eq!(nb_header(&[0, 0, 4]), None);
}

#[test]
fn resync_wants_a_header_and_a_magic() {
    let b = [0, 0, 0, 0x40, 0xfe, b'S', b'M', b'B'];
    assert!(resync_start(&b));
    assert!(resync_start(&[0, 0, 0, 0x40, 0xfc, b'S', b'M', b'B', 1]));
    // A short start is judged on what it has.
    assert!((0..b.len()).all(|n| resync_start(&b[..n])));
    assert!(!resync_start(&[0, 0, 0, 0x40, 0xfe, b'S', b'X']));
    assert!(!resync_start(&[1, 0, 0, 0x40]));
    assert!(!resync_start(&[0, 0, 0, 0x40, 0xfb]));
    assert!(
        !resync_start(&[0, 0, 0, 4, 0xfe, b'S', b'M', b'B']),
        "too short for a header"
    );
    assert!(!resync_start(&[0, 0, 0, 31]));
    assert!(!resync_start(b"SMBSMB"));
}

#[test]
fn smb1_chain_guards_loops_and_bounds() {
    // A SESSION_SETUP_ANDX whose AndX offset points back at itself: one block, no loop.
    let mut m = vec![0xff, b'S', b'M', b'B', 0x73];
    m.resize(SMB1_HEADER, 0);
    m.extend_from_slice(&[2, 0x75, 0, SMB1_HEADER as u8, 0, 0, 0]);
    let chain: Vec<_> = smb1_chain(&m, 8).unwrap().collect();
    assert_eq!(chain.len(), 1);
    assert_eq!(chain[0].andx(), Some((0x75, SMB1_HEADER)));
    // Words cut short: no block at all.
    m.truncate(SMB1_HEADER + 2);
    assert!(smb1_chain(&m, 8).is_none());
}

#[test]
fn buffers_outside_the_element_are_bad() {
    let mut e = vec![0u8; 64 + 8];
    e[0..4].copy_from_slice(&[0xfe, b'S', b'M', b'B']);
    e[64 + 4..64 + 6].copy_from_slice(&200u16.to_le_bytes());
    e[64 + 6..64 + 8].copy_from_slice(&10u16.to_le_bytes());
    assert_eq!(smb2_tree_connect_req(&e, 72), P::Bad);
    assert_eq!(smb2_tree_connect_req(&e, 300), P::Need(210));
    e[64 + 4..64 + 6].copy_from_slice(&(u16::MAX).to_le_bytes());
    assert_eq!(smb2_tree_connect_req(&e, 72), P::Bad);
    assert_eq!(smb2_tree_connect_req(&e[..70], 72), P::Need(72));
}

#[test]
fn strings() {
    assert_eq!(utf16(&[b's', 0, b'a', 0, 0, 0, 7]), "sa");
    assert_eq!(ascii(b"IPC\0A:"), "IPC");
    let msg = [9u8, 9, b'a', 0, b'b', 0, 0, 0, 7];
    assert_eq!(smb1_string(&msg, 1, true), Some(("ab".to_string(), 8)));
    assert_eq!(
        smb1_string(b"\x05IPC\0A:", 1, false),
        Some(("IPC".to_string(), 5))
    );
    assert_eq!(
        smb1_string(b"\x05IPC", 1, false),
        Some(("IPC".to_string(), 4))
    );
}
