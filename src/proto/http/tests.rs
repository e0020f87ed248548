//! Tests of the HTTP decoder: NTLM and Negotiate exchanges with their verdicts, pipelining, hostile headers, gaps in bodies, the probe.

use super::*;
use crate::proto::ntlm::parse::tests::{
    hex, ntlmssp, LAB03_AUTHENTICATE, LAB03_CHALLENGE, LAB03_NEGOTIATE,
};
use crate::proto::testutil::Harness;
use crate::record::{Body, Record, Transport, NS};

fn b64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= c.len() {
                s.push(A[(n >> (18 - 6 * k)) as usize & 63] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

fn json(r: &Record) -> serde_json::Value {
    serde_json::to_value(r).unwrap()
}

/// The NTLM handshake of the lab's SMB capture, carried over HTTP the way IIS and WinRM
/// carry it: raw NTLMSSP with the `NTLM` scheme or the SPNEGO tokens with `Negotiate`.
fn exchange(scheme: &str, spnego: bool, final_status: &str) -> Vec<(Dir, Vec<u8>)> {
    let tok = |h: &str| {
        let t = hex(h);
        if spnego {
            b64(&t)
        } else {
            b64(ntlmssp(&t))
        }
    };
    vec![
        (
            Dir::ToServer,
            format!("POST /wsman HTTP/1.1\r\nHost: dc1\r\nAuthorization: {scheme} {}\r\nContent-Length: 0\r\n\r\n", tok(LAB03_NEGOTIATE))
                .into_bytes(),
        ),
        (
            Dir::ToClient,
            format!("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: {scheme} {}\r\nContent-Length: 5\r\n\r\nerror", tok(LAB03_CHALLENGE))
                .into_bytes(),
        ),
        (
            Dir::ToServer,
            format!(
                "POST /wsman HTTP/1.1\r\nHost: dc1\r\nAuthorization: {scheme} {}\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n",
                tok(LAB03_AUTHENTICATE)
            )
            .into_bytes(),
        ),
        (Dir::ToClient, format!("HTTP/1.1 {final_status}\r\nContent-Length: 3\r\n\r\nok!").into_bytes()),
    ]
}

fn run(msgs: &[(Dir, Vec<u8>)], split: usize) -> Harness {
    let mut h = Harness::new(Transport::Tcp, 80);
    let mut app = tcp();
    for (k, (dir, m)) in msgs.iter().enumerate() {
        for piece in m.chunks(split) {
            app.data(&mut h.cx((k as u64 + 1) * NS), *dir, piece);
        }
    }
    app.close(&mut h.cx(10 * NS));
    h
}

#[test]
fn ntlm_over_http_with_verdict() {
    for split in [1, 7, 100_000] {
        let h = run(&exchange("NTLM", false, "200 OK"), split);
        assert_eq!(h.out.len(), 1, "split {split}");
        let j = json(&h.out[0]);
        assert_eq!(j["type"], "ntlm");
        assert_eq!(j["ts"], 1.0);
        assert_eq!(j["carrier"], "http");
        assert_eq!(j["user"], "bob");
        assert_eq!(j["domain"], "LAB");
        assert_eq!(j["workstation"], "WS01");
        assert_eq!(j["server_nb_name"], "DC1");
        assert_eq!(j["mic"], true);
        assert_eq!(j["success"], true);
        assert_eq!(j["status"], 200);
        assert_eq!(h.counters.get(Counter::MalformedHttp), 0);
    }
}

#[test]
fn negotiate_refused() {
    let h = run(&exchange("Negotiate", true, "401 Unauthorized"), 50);
    assert_eq!(h.out.len(), 1);
    let Body::Ntlm(n) = &h.out[0].body else {
        panic!()
    };
    assert_eq!(
        (n.user.as_deref(), n.success, n.status),
        (Some("bob"), Some(false), Some(Code::Num(401)))
    );
    assert_eq!(h.counters.get(Counter::MalformedGssapi), 0);
}

#[test]
fn no_answer_is_flushed_at_close_and_pipelining_keeps_order() {
    let mut msgs = exchange("NTLM", false, "200 OK");
    msgs.pop();
    // A pipelined HEAD before the answer: the first answer (no body despite the length)
    // belongs to the authenticated POST.
    msgs.push((Dir::ToServer, b"HEAD /x HTTP/1.1\r\n\r\n".to_vec()));
    msgs.push((Dir::ToClient, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 302 Found\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n".to_vec()));
    let h = run(&msgs, 1000);
    let Body::Ntlm(n) = &h.out[0].body else {
        panic!()
    };
    assert_eq!((n.success, n.status), (Some(true), Some(Code::Num(302))));

    let mut msgs = exchange("NTLM", false, "200 OK");
    msgs.pop();
    let h = run(&msgs, 1000);
    assert_eq!(h.out.len(), 1);
    let Body::Ntlm(n) = &h.out[0].body else {
        panic!()
    };
    assert_eq!((n.user.as_deref(), n.success), (Some("bob"), None));
}

#[test]
fn hostile_headers() {
    let mut h = Harness::new(Transport::Tcp, 80);
    let mut app = tcp();
    // Header block without an end, over the cap.
    let big = vec![b'a'; h.config.max_header + 10];
    app.data(&mut h.cx(NS), Dir::ToServer, b"GET / HTTP/1.1\r\nX: ");
    app.data(&mut h.cx(NS), Dir::ToServer, &big);
    assert_eq!(h.counters.get(Counter::MalformedHttp), 1);
    assert_eq!(app.buffered(), 0);
    // Bad base64, bad content length, bad chunk size, bad status line.
    let mut app = tcp();
    app.data(
        &mut h.cx(NS),
        Dir::ToServer,
        b"GET / HTTP/1.1\r\nAuthorization: NTLM ***\r\n\r\n",
    );
    app.data(
        &mut h.cx(NS),
        Dir::ToServer,
        b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
    );
    app.data(
        &mut h.cx(NS),
        Dir::ToClient,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    );
    assert_eq!(h.counters.get(Counter::MalformedHttp), 4);
    let mut app = tcp();
    app.data(&mut h.cx(NS), Dir::ToClient, b"SSH-2.0-x\r\n\r\n");
    assert_eq!(h.counters.get(Counter::MalformedHttp), 5);
    // HTTP/2 with prior knowledge is left alone, not counted.
    let mut app = tcp();
    app.data(
        &mut h.cx(NS),
        Dir::ToServer,
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04",
    );
    app.data(
        &mut h.cx(NS),
        Dir::ToClient,
        b"\x00\x00\x06\x04\x00\x00\x00\x00\x00",
    );
    assert_eq!(h.counters.get(Counter::MalformedHttp), 5);
    // A token that is valid base64 but no GSS-API token.
    let mut app = tcp();
    app.data(
        &mut h.cx(NS),
        Dir::ToServer,
        b"GET / HTTP/1.1\r\nAuthorization: Negotiate QUJD\r\n\r\n",
    );
    assert_eq!(h.counters.get(Counter::MalformedGssapi), 1);
    app.close(&mut h.cx(NS));
    assert!(h.out.is_empty());
}

#[test]
fn gaps_in_bodies_keep_the_stream() {
    let mut h = Harness::new(Transport::Tcp, 80);
    let mut app = tcp();
    app.data(
        &mut h.cx(NS),
        Dir::ToClient,
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789",
    );
    app.gap(&mut h.cx(NS), Dir::ToClient, 80);
    app.data(
        &mut h.cx(NS),
        Dir::ToClient,
        b"0123456789HTTP/1.1 401 x\r\n\r\n",
    );
    assert_eq!(h.counters.get(Counter::MalformedHttp), 0);
    app.gap(&mut h.cx(NS), Dir::ToClient, 5);
    app.data(&mut h.cx(NS), Dir::ToClient, b"garbage");
    assert_eq!(h.counters.get(Counter::MalformedHttp), 0);
}

#[test]
fn probe_by_request_line() {
    assert!(probe(
        Dir::ToServer,
        b"GET /index.html HTTP/1.1\r\nHost: x\r\n"
    ));
    assert!(probe(
        Dir::ToServer,
        b"RPC_IN_DATA /rpc/rpcproxy.dll?x HTTP/1.1\r\n"
    ));
    assert!(probe(Dir::ToServer, b"POST /wsm"));
    assert!(!probe(Dir::ToServer, b"GET / SMB\r\n"));
    assert!(!probe(Dir::ToClient, b"GET / HTTP/1.1\r\n"));
    assert!(!probe(Dir::ToServer, b"\x00\x00\x00\x85\xffSMB"));
}

#[test]
fn requests_over_max_pending_are_counted() {
    let mut h = Harness::new(Transport::Tcp, 80);
    h.config.max_pending = 2;
    let mut app = tcp();
    for k in 0..5u64 {
        app.data(
            &mut h.cx((k + 1) * NS),
            Dir::ToServer,
            b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n",
        );
    }
    // Five pipelined requests, two may wait: the three oldest were forgotten, and counted.
    assert_eq!(h.counters.get(Counter::RequestsEvicted), 3);
    app.data(
        &mut h.cx(6 * NS),
        Dir::ToClient,
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    );
    app.close(&mut h.cx(7 * NS));
    assert_eq!(h.counters.get(Counter::RequestsEvicted), 3);
    assert_eq!(h.counters.get(Counter::RequestsTimedOut), 0);
}
