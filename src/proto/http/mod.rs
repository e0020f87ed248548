//! HTTP/1.x headers, just enough to find NTLM and Negotiate authentication and its verdict.
//!
//! Each direction is a small state machine: a header block (buffered up to
//! [`super::DecoderConfig::max_header`]), then a body that is skipped, never buffered (by
//! Content-Length, by chunks, or to the end of the connection). Requests wait in the kit's
//! transaction table ([`super::kit::txn`], capped by `max_pending`; pipelining)
//! are matched with responses in order. `Authorization`/`Proxy-Authorization: NTLM|Negotiate`
//! tokens and `WWW-Authenticate`/`Proxy-Authenticate` challenges go to
//! [`super::gssapi::inspect`]; the status of the response to a request that carried a token is
//! the verdict (2xx, 3xx and other 4xx: accepted; 401, 403, 407 and 5xx: refused). A protocol
//! switch (101, CONNECT) ends the analysis of the connection.

pub mod parse;

use super::kit::txn::Txns;
use super::ntlm::NtlmAuth;
use super::{Ctx, Dir, TcpApp};
use crate::record::{Carrier, Code};
use crate::stats::Counter;

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
    /// Requests waiting for their responses, answered in order (pipelining).
    requests: Txns<(), Pending>,
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
        self.requests.set_cap(cx.config.max_pending);
        let p = Pending {
            head: method == b"HEAD",
            connect: method == b"CONNECT",
            auth: !tokens.is_empty(),
        };
        // Over the cap the oldest request is forgotten (its response will find none), and
        // counted.
        let _evicted = self.requests.insert(cx.now, (), p);
        self.requests.report(cx.counters);
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
        let req = self.requests.take_first().map(|t| t.value);
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

    fn waiting(&self) -> bool {
        // No timers: [`TcpApp::tick`] is the trait's empty default.
        false
    }

    fn close(&mut self, cx: &mut Ctx<'_>) {
        self.auth.flush(cx);
    }

    fn buffered(&self) -> usize {
        self.sides.iter().map(|s| s.buf.capacity()).sum()
    }
}

#[cfg(test)]
mod tests;
