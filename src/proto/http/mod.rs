//! HTTP/1.x headers, just enough to find NTLM and Negotiate authentication and its verdict.
//!
//! Each direction is a small state machine: a header block (buffered up to
//! [`super::DecoderConfig::max_header`]), then a body that is skipped, never buffered (by
//! Content-Length, by chunks, or to the end of the connection). Requests are queued (pipelining)
//! and matched with responses in order. `Authorization`/`Proxy-Authorization: NTLM|Negotiate`
//! tokens and `WWW-Authenticate`/`Proxy-Authenticate` challenges go to
//! [`super::gssapi::inspect`]; the status of the response to a request that carried a token is
//! the verdict (2xx, 3xx and other 4xx: accepted; 401, 403, 407 and 5xx: refused). A protocol
//! switch (101, CONNECT) ends the analysis of the connection.

pub mod parse;

use super::ntlm::NtlmAuth;
use super::{Ctx, Dir, TcpApp};
use crate::record::{Carrier, Code};
use crate::stats::Counter;
use std::collections::VecDeque;

/// Longest chunk-size or chunk-end line accepted.
const MAX_LINE: usize = 1024;

/// A decoder for one connection.
pub fn tcp() -> Box<dyn TcpApp> {
    Box::new(Http::default())
}

/// Whether the first bytes of a TCP connection on an unclaimed port look like this protocol: a
/// request line with a known method.
pub fn probe(dir: Dir, data: &[u8]) -> bool {
    if dir != Dir::ToServer {
        return false;
    }
    let line = data.split(|&b| b == b'\n').next().unwrap_or(data);
    parse::METHODS.iter().any(|m| {
        line.strip_prefix(*m).is_some_and(|rest| {
            rest.first() == Some(&b' ')
                && (line.len() == data.len()
                    || parse::request_line(line.strip_suffix(b"\r").unwrap_or(line)).is_ok())
        })
    })
}

/// Where a direction's parser is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    /// Reading a header block (start line and fields).
    #[default]
    Headers,
    /// Skipping this many body bytes.
    Body(u64),
    /// Reading a chunk-size line.
    ChunkSize,
    /// Skipping this many bytes of chunk data.
    ChunkData(u64),
    /// Reading the line end after chunk data.
    ChunkEnd,
    /// Reading trailer fields up to the empty line.
    Trailer,
    /// Skipping everything (a body delimited by the end of the connection, a switched protocol,
    /// or a stream we lost track of).
    Skip,
}

#[derive(Debug, Default)]
struct Side {
    state: State,
    buf: Vec<u8>,
}

/// A request waiting for its response.
#[derive(Debug, Clone, Copy)]
struct Pending {
    head: bool,
    connect: bool,
    /// It carried an NTLM or Negotiate token.
    auth: bool,
}

/// The decoder of one HTTP connection.
#[derive(Debug, Default)]
pub struct Http {
    sides: [Side; 2],
    requests: VecDeque<Pending>,
    auth: NtlmAuth,
}

/// What a header block said about the body that follows.
struct Framing {
    length: Option<u64>,
    chunked: bool,
}

impl Http {
    fn side(&mut self, dir: Dir) -> &mut Side {
        &mut self.sides[dir.idx()]
    }

    /// Handles one complete header block of `dir`; returns the state for what follows.
    fn headers(&mut self, cx: &mut Ctx<'_>, dir: Dir, block: &[u8]) -> State {
        let mut lines = parse::lines(block);
        let Some(start) = lines.next() else {
            return State::Headers;
        };
        let mut framing = Framing {
            length: None,
            chunked: false,
        };
        let mut tokens: Vec<&[u8]> = Vec::new();
        for line in lines {
            let Some((name, value)) = parse::field(line) else {
                continue;
            };
            if name.eq_ignore_ascii_case(b"content-length") {
                match parse::content_length(value) {
                    Some(n) => framing.length = Some(n),
                    None => {
                        cx.count(Counter::MalformedHttp);
                        return State::Skip;
                    }
                }
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                framing.chunked = value
                    .split(|&b| b == b',')
                    .any(|v| v.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            } else if (dir == Dir::ToServer
                && (name.eq_ignore_ascii_case(b"authorization")
                    || name.eq_ignore_ascii_case(b"proxy-authorization")))
                || (dir == Dir::ToClient
                    && (name.eq_ignore_ascii_case(b"www-authenticate")
                        || name.eq_ignore_ascii_case(b"proxy-authenticate")))
            {
                if let Some(t) = parse::auth_token(value) {
                    tokens.push(t);
                }
            }
        }
        match dir {
            Dir::ToServer => self.request(cx, start, &framing, &tokens),
            Dir::ToClient => self.response(cx, start, &framing, &tokens),
        }
    }

    fn inspect(&mut self, cx: &mut Ctx<'_>, tokens: &[&[u8]]) {
        for t in tokens {
            match parse::base64(t, cx.config.max_header) {
                Some(raw) => super::gssapi::inspect(cx, Carrier::Http, &raw, &mut self.auth),
                None => cx.count(Counter::MalformedHttp),
            }
        }
    }

    fn request(
        &mut self,
        cx: &mut Ctx<'_>,
        start: &[u8],
        framing: &Framing,
        tokens: &[&[u8]],
    ) -> State {
        if start.starts_with(b"PRI * HTTP/2") {
            // HTTP/2 with prior knowledge: binary frames follow, not ours to read.
            self.sides[Dir::ToClient.idx()].state = State::Skip;
            return State::Skip;
        }
        let Ok((_, (method, _target))) = parse::request_line(start) else {
            cx.count(Counter::MalformedHttp);
            return State::Skip;
        };
        self.inspect(cx, tokens);
        if self.requests.len() >= cx.config.max_pending {
            self.requests.pop_front();
        }
        self.requests.push_back(Pending {
            head: method == b"HEAD",
            connect: method == b"CONNECT",
            auth: !tokens.is_empty(),
        });
        if framing.chunked {
            State::ChunkSize
        } else {
            match framing.length {
                Some(n) if n > 0 => State::Body(n),
                _ => State::Headers,
            }
        }
    }

    fn response(
        &mut self,
        cx: &mut Ctx<'_>,
        start: &[u8],
        framing: &Framing,
        tokens: &[&[u8]],
    ) -> State {
        let Ok((_, status)) = parse::status_line(start) else {
            cx.count(Counter::MalformedHttp);
            return State::Skip;
        };
        if (100..200).contains(&status) && status != 101 {
            // Interim response: the request is still waiting for its final one.
            return State::Headers;
        }
        let req = self.requests.pop_front();
        if req.is_some_and(|r| r.auth) && self.auth.pending() {
            let refused = matches!(status, 401 | 403 | 407) || status >= 500;
            self.auth
                .verdict(cx, !refused, Code::Num(i64::from(status)));
        }
        self.inspect(cx, tokens);
        let tunnel =
            status == 101 || (req.is_some_and(|r| r.connect) && (200..300).contains(&status));
        if tunnel {
            self.sides[Dir::ToServer.idx()].state = State::Skip;
            return State::Skip;
        }
        if req.is_some_and(|r| r.head) || status == 204 || status == 304 {
            State::Headers
        } else if framing.chunked {
            State::ChunkSize
        } else {
            match framing.length {
                Some(0) => State::Headers,
                Some(n) => State::Body(n),
                None => State::Skip,
            }
        }
    }

    /// Reads a line into the side's buffer; returns it (without the line end) once complete.
    fn line(side: &mut Side, data: &mut &[u8], cap: usize) -> Result<Option<Vec<u8>>, ()> {
        match data.iter().position(|&b| b == b'\n') {
            Some(p) => {
                side.buf.extend_from_slice(&data[..p]);
                *data = &data[p + 1..];
                let mut l = std::mem::take(&mut side.buf);
                if l.last() == Some(&b'\r') {
                    l.pop();
                }
                if l.len() > cap {
                    return Err(());
                }
                Ok(Some(l))
            }
            None => {
                if side.buf.len() + data.len() > cap {
                    return Err(());
                }
                side.buf.extend_from_slice(data);
                *data = &[];
                Ok(None)
            }
        }
    }
}

impl TcpApp for Http {
    fn data(&mut self, cx: &mut Ctx<'_>, dir: Dir, mut data: &[u8]) {
        let cap = cx.config.max_header;
        while !data.is_empty() {
            let state = self.side(dir).state;
            match state {
                State::Skip => return,
                State::Body(n) | State::ChunkData(n) => {
                    let k = n.min(data.len() as u64);
                    data = &data[k as usize..];
                    let left = n - k;
                    self.side(dir).state = match (state, left) {
                        (State::Body(_), 0) => State::Headers,
                        (State::Body(_), l) => State::Body(l),
                        (_, 0) => State::ChunkEnd,
                        (_, l) => State::ChunkData(l),
                    };
                }
                State::Headers => {
                    let side = self.side(dir);
                    let from = side.buf.len().saturating_sub(3);
                    let room = cap.saturating_sub(side.buf.len());
                    let take = data.len().min(room);
                    side.buf.extend_from_slice(&data[..take]);
                    match parse::header_end(&side.buf, from) {
                        Some(end) => {
                            // Bytes of this call past the header block go to the next state.
                            let consumed = end.saturating_sub(side.buf.len() - take);
                            data = &data[consumed..];
                            let mut block = std::mem::take(&mut side.buf);
                            block.truncate(end);
                            let next = self.headers(cx, dir, &block);
                            let side = self.side(dir);
                            if side.state != State::Skip {
                                side.state = next;
                            }
                            block.clear();
                            if side.buf.is_empty() {
                                side.buf = block;
                            }
                        }
                        None if take < data.len() || side.buf.len() >= cap => {
                            cx.count(Counter::MalformedHttp);
                            cx.count_n(Counter::DropDecoderCap, side.buf.len() as u64);
                            side.buf = Vec::new();
                            side.state = State::Skip;
                            return;
                        }
                        None => return,
                    }
                }
                State::ChunkSize | State::ChunkEnd | State::Trailer => {
                    let line_cap = if state == State::Trailer {
                        cap
                    } else {
                        MAX_LINE
                    };
                    let side = self.side(dir);
                    let line = match Self::line(side, &mut data, line_cap) {
                        Ok(Some(l)) => l,
                        Ok(None) => return,
                        Err(()) => {
                            cx.count(Counter::MalformedHttp);
                            side.buf = Vec::new();
                            side.state = State::Skip;
                            return;
                        }
                    };
                    side.state = match state {
                        State::ChunkEnd if line.is_empty() => State::ChunkSize,
                        State::ChunkSize => match parse::chunk_size(&line) {
                            Some(0) => State::Trailer,
                            Some(n) => State::ChunkData(n),
                            None => State::Skip,
                        },
                        State::Trailer if line.is_empty() => State::Headers,
                        State::Trailer => State::Trailer,
                        _ => State::Skip,
                    };
                    if side.state == State::Skip {
                        cx.count(Counter::MalformedHttp);
                        return;
                    }
                }
            }
        }
    }

    fn gap(&mut self, _cx: &mut Ctx<'_>, dir: Dir, len: u64) {
        let side = self.side(dir);
        side.state = match side.state {
            State::Body(n) if len < n => State::Body(n - len),
            State::Body(n) if len == n => State::Headers,
            State::ChunkData(n) if len < n => State::ChunkData(n - len),
            State::ChunkData(n) if len == n => State::ChunkEnd,
            _ => State::Skip,
        };
        side.buf = Vec::new();
    }

    fn close(&mut self, cx: &mut Ctx<'_>) {
        self.auth.flush(cx);
    }

    fn buffered(&self) -> usize {
        self.sides.iter().map(|s| s.buf.capacity()).sum()
    }
}

#[cfg(test)]
mod tests {
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
}
