//! SMB1 messages, SMB2 compounds and pipes found mid-stream (without their tree connects or
//! create responses).

use super::*;
use crate::record::{Carrier, Ntlm};

#[test]
fn smb1_tree_connects_opens_and_transact_named_pipe() {
    let Some(p) = shared("zeek/smb__raw_ntlm_in_smb/raw_ntlm_in_smb.pcap") else {
        return;
    };
    let (h, conns) = run(&p, 0);
    let ipc = "\\\\192.168.56.101\\IPC$";
    let pics = "\\\\192.168.56.101\\MY PICTURES";
    let (ok, missing) = ("STATUS_SUCCESS", "STATUS_OBJECT_NAME_NOT_FOUND");
    assert_eq!(
        smb_records(&h.out),
        vec![
            rec("tree_connect", ipc, "", "SMB 1", ok),
            rec("open", ipc, "srvsvc", "SMB 1", ok),
            rec("tree_connect", pics, "", "SMB 1", ok),
            rec("tree_connect", ipc, "", "SMB 1", ok),
            rec("open", ipc, "lsarpc", "SMB 1", ok),
            rec("open", pics, "", "SMB 1", ok),
            rec("tree_connect", ipc, "", "SMB 1", ok),
            rec("open", ipc, "mdssvc", "SMB 1", missing),
            rec("open", pics, ".hidden", "SMB 1", missing),
            rec("open", pics, "Desktop.ini", "SMB 1", ok),
            rec("open", pics, "Sample Pictures.lnk", "SMB 1", ok),
            rec("open", pics, "", "SMB 1", ok),
            rec(
                "open",
                pics,
                "Sample Pictures.lnk:com.apple.LaunchServices.OpenWith",
                "SMB 1",
                missing
            ),
            rec("open", pics, "Sample Pictures.lnk", "SMB 1", ok),
            rec("open", pics, "Sample Pictures.lnk", "SMB 1", ok),
        ]
    );
    let streams = pipe_streams(&conns);
    let get = |pipe: &str, to_server: bool| {
        let bytes = streams
            .iter()
            .find(|(k, _)| k.1 == pipe && k.2 == to_server)
            .map(|(_, v)| v.as_slice());
        pdus(bytes.unwrap_or_default())
    };
    assert_eq!(get("\\pipe\\srvsvc", true), vec![(11, 72), (0, 104)]);
    assert_eq!(get("\\pipe\\srvsvc", false), vec![(12, 68), (2, 416)]);
    assert_eq!(
        get("\\pipe\\lsarpc", true),
        vec![(11, 72), (0, 84), (0, 108), (0, 132), (0, 44)]
    );
    assert_eq!(
        get("\\pipe\\lsarpc", false),
        vec![(12, 68), (2, 124), (2, 48), (2, 160), (2, 48)]
    );
    assert!(conns
        .values()
        .all(|c| c.st.pending.is_empty() && c.st.pipes.is_empty()));
    assert!(conns.values().all(|c| c.st.sessions.len() == 1));
    assert_eq!(h.counters.get(Counter::MalformedSmb), 0);
}

// Compound requests (CREATE + QUERY_INFO/... + CLOSE) and their compound answers, from the
// shared corpus (skipped when absent).
// tshark -r input.pcap -Y 'smb2.cmd==5' -T fields -e smb2.msg_id -e smb2.flags.response
//   -e smb2.chain_offset -e smb2.filename -e smb2.nt_status
#[test]
fn smb2_compound_creates() {
    let Some(p) = shared("suricata-verify/smb2-delete/input.pcap") else {
        return;
    };
    let (h, conns) = run(&p, 0);
    let recs = smb_records(&h.out);
    let opens: Vec<(&str, &str)> = recs
        .iter()
        .filter(|r| r.0 == "open")
        .map(|r| (r.2.as_str(), r.4.as_str()))
        .collect();
    let (ok, missing) = ("STATUS_SUCCESS", "STATUS_OBJECT_NAME_NOT_FOUND");
    let mut want = vec![("", ok); 9];
    want.push((":AFP_AfpInfo", missing));
    want.extend([("", ok); 4]);
    want.extend([
        ("eicar.txt", ok),
        ("", ok),
        ("test", ok),
        ("", ok),
        (":AFP_AfpInfo", missing),
        ("", ok),
    ]);
    want.extend([
        (".hidden", missing),
        ("", ok),
        ("test", ok),
        ("", ok),
        ("", ok),
    ]);
    assert_eq!(opens, want);
    assert!(conns.values().all(|c| c.st.pending.is_empty()));
    assert_eq!(h.counters.get(Counter::MalformedSmb), 0);
}

// An SMB1 session setup without extended security (13 words, account and domain in the clear):
// here a null session, answered with success.
// tshark -r input.pcap -Y 'smb.cmd==0x73' -T fields -e tcp.srcport -e smb.wct -e smb.account
//   -e smb.ansi_pwlen -e smb.unicode_pwlen -e smb.nt_status
#[test]
fn smb1_plain_session_setup_is_an_ntlm_record() {
    let Some(p) = shared("suricata-verify/smb-filename/input.pcap") else {
        return;
    };
    let segs: Vec<Seg> = segments(&p, 445)
        .into_iter()
        .filter(|s| s.conn.0 == 49455)
        .collect();
    let mut h = Harness::new(Transport::Tcp, 445);
    let conns = run_segs(&segs, 0, &mut h);
    let ntlm: Vec<&Ntlm> = h
        .out
        .iter()
        .filter_map(|r| match &r.body {
            Body::Ntlm(n) => Some(n),
            _ => None,
        })
        .collect();
    assert_eq!(
        ntlm,
        vec![&Ntlm {
            carrier: Some(Carrier::Smb1),
            version: Some("anonymous"),
            success: Some(true),
            status: Some(Code::Name("STATUS_SUCCESS")),
            ..Default::default()
        }]
    );
    // It ends with LOGOFF_ANDX: the session is forgotten.
    assert_eq!(
        conns.values().map(|c| c.st.sessions.len()).sum::<usize>(),
        0
    );
    let trees: Vec<_> = smb_records(&h.out)
        .into_iter()
        .map(|r| (r.0, r.1, r.3, r.4))
        .collect();
    let want = (
        "tree_connect".to_string(),
        "\\\\10.4.30.5\\IPC$".to_string(),
        "SMB 1".to_string(),
        "STATUS_SUCCESS".to_string(),
    );
    assert_eq!(trees, vec![want]);
}

/// The SMB2 command of a segment that starts with a NetBIOS header and an SMB2 header, with
/// whether it is a response.
fn smb2_command(payload: &[u8]) -> Option<(u16, bool)> {
    let h = payload.get(4..68)?;
    (h[..4] == *b"\xfeSMB").then(|| {
        (
            u16::from_le_bytes([h[12], h[13]]),
            h[16] & 1 != 0, // SMB2_FLAGS_SERVER_TO_REDIR
        )
    })
}

/// (pipe, to server, PDU count) of every pipe stream, sorted.
fn pipe_summary(conns: &BTreeMap<(u16, u16), SmbConn>) -> Vec<(String, bool, usize)> {
    let mut summary: Vec<(String, bool, usize)> = pipe_streams(conns)
        .iter()
        .map(|((_, pipe, to_server), bytes)| (pipe.clone(), *to_server, pdus(bytes).len()))
        .collect();
    summary.sort();
    summary
}

// A capture that starts after the tree connects (mid-stream): the trees are unknown, the opens
// are remembered, and the first write (the DCE-RPC bind) makes each open a pipe. The pipes get
// the same PDUs as with the whole capture (lab20_samr_and_lsarpc_pipes_get_exactly_...).
#[test]
fn lab20_pipes_are_found_without_their_tree_connects() {
    let all = segments(&lab("20_attack_recon_samr_lsarpc_smb_cleartext.pcap"), 445);
    let mut full = Harness::new(Transport::Tcp, 445);
    let want = pipe_summary(&run_segs(&all, 0, &mut full));
    let segs: Vec<Seg> = all
        .iter()
        .filter(|s| smb2_command(&s.payload).is_none_or(|(c, _)| c != cmd2::TREE_CONNECT))
        .cloned()
        .collect();
    assert_eq!(all.len() - segs.len(), 6, "three tree connects and answers");
    let mut h = Harness::new(Transport::Tcp, 445);
    let conns = run_segs(&segs, 0, &mut h);
    assert_eq!(
        smb_records(&h.out),
        vec![
            rec("open", "", "samr", SMB311, "STATUS_SUCCESS"),
            rec("open", "", "lsarpc", SMB311, "STATUS_SUCCESS"),
            rec("open", "", "samr", SMB311, "STATUS_SUCCESS"),
        ]
    );
    assert_eq!(pipe_summary(&conns), want);
    assert_eq!(want.iter().map(|p| p.2).sum::<usize>(), 129);
    let calls = |out: &[Record]| {
        out.iter()
            .filter_map(|r| match &r.body {
                Body::Dcerpc(d) => Some((d.named_pipe.clone(), d.interface_uuid, d.opnum)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(calls(&h.out), calls(&full.out));
    assert!(conns
        .values()
        .all(|c| c.st.opens.is_empty() && c.st.pipes.is_empty()));
}

// A capture where the server's answers to the opens are lost: the FileIds are first seen in
// the writes, which start like DCE-RPC binds; each pipe takes the name of the open still waiting
// on its tree.
#[test]
fn lab20_pipes_are_found_without_their_create_responses() {
    let all = segments(&lab("20_attack_recon_samr_lsarpc_smb_cleartext.pcap"), 445);
    let mut full = Harness::new(Transport::Tcp, 445);
    let want = pipe_summary(&run_segs(&all, 0, &mut full));
    let segs: Vec<Seg> = all
        .iter()
        .filter(|s| smb2_command(&s.payload) != Some((cmd2::CREATE, true)))
        .cloned()
        .collect();
    assert_eq!(all.len() - segs.len(), 3);
    let mut h = Harness::new(Transport::Tcp, 445);
    let conns = run_segs(&segs, 7, &mut h);
    assert_eq!(pipe_summary(&conns), want);
}

// Data that does not start like DCE-RPC on a file of an unknown tree stays file data: psexec's
// service binary written to ADMIN$ (lab21) makes no pipe once the tree connects are cut.
#[test]
fn lab21_file_writes_on_unknown_trees_make_no_pipe() {
    let all = segments(&lab("21_attack_pass_the_hash_smb_cleartext.pcap"), 445);
    let mut full = Harness::new(Transport::Tcp, 445);
    let want = pipe_summary(&run_segs(&all, 0, &mut full));
    let segs: Vec<Seg> = all
        .iter()
        .filter(|s| smb2_command(&s.payload).is_none_or(|(c, _)| c != cmd2::TREE_CONNECT))
        .cloned()
        .collect();
    let mut h = Harness::new(Transport::Tcp, 445);
    let conns = run_segs(&segs, 0, &mut h);
    let got = pipe_summary(&conns);
    assert_eq!(got, want);
    let names: std::collections::BTreeSet<&str> = got.iter().map(|p| p.0.as_str()).collect();
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["\\pipe\\srvsvc", "\\pipe\\svcctl"]
    );
    assert_eq!(got.iter().map(|p| p.2).sum::<usize>(), 26);
}

#[test]
fn looks_dcerpc_wants_version_5_a_known_type_and_a_fragment_length() {
    // The first bytes of lab20's first samr bind
    // (tshark -r 20_....pcap -Y 'dcerpc.pkt_type==11' -T fields -e tcp.payload).
    let bind = [5u8, 0, 11, 3, 0x10, 0, 0, 0, 0x48, 0];
    assert!(parse::looks_dcerpc(&bind));
    assert!(!parse::looks_dcerpc(&bind[..9]));
    let mut b = bind;
    b[0] = 4;
    assert!(!parse::looks_dcerpc(&b));
    b = bind;
    b[2] = 21;
    assert!(!parse::looks_dcerpc(&b));
    b = bind;
    b[8] = 15;
    assert!(!parse::looks_dcerpc(&b));
    b = bind;
    b[4] = 0x20;
    assert!(!parse::looks_dcerpc(&b));
    b = bind;
    b[4] = 0; // big-endian: fragment length 0x4800
    assert!(parse::looks_dcerpc(&b));
    // "MZ" of a PE file.
    assert!(!parse::looks_dcerpc(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00"));
}
