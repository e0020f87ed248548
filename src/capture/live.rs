//! Live capture through libpcap (the `pcap` crate): a domain controller's own interface, or a
//! mirror port (promiscuous). Reads block at most a short timeout so the capture thread can
//! check its stop flag; the BPF filter can be replaced while capturing (configuration reload);
//! libpcap's own counters say what the kernel and the interface dropped.

use super::{CaptureError, Frame, LinkType};
use crate::record::Ts;

/// The default read timeout: how long [`LiveSource::dispatch`] waits before handing nothing.
pub const DEFAULT_TIMEOUT_MS: i32 = 100;

/// A libpcap time stamp in nanoseconds since the epoch; the fraction is in nanoseconds when the
/// capture was opened with nanosecond precision (`nanos`), else in microseconds.
fn ts_of(ts: &libc::timeval, nanos: bool) -> Ts {
    let secs = ts.tv_sec.max(0) as u64;
    let frac = ts.tv_usec.max(0) as u64;
    secs * 1_000_000_000 + if nanos { frac } else { frac * 1000 }
}

/// The least time between the starts of two rounds of [`LiveSource::dispatch`] (a round: what
/// the ring holds when the capture wakes). libpcap's TPACKET_V3 ring wakes the reader for every
/// block the kernel closes, 256 KiB, so a busy link would wake the capture thread hundreds of
/// times a second (about 330 at 100 k packets/s of the bench capture) for a few hundred packets
/// each; every wake-up is a switch and cold caches. Waiting for this gap instead wakes it at most
/// 40 times a second (at 10 ms, 100 times, the switches cost about a twentieth of the sensor's
/// CPU at 100 k packets/s). Packets are not lost meanwhile: the ring (`buffer_mb`, 64 MiB by
/// default) holds 25 ms of traffic up to about 20 Gbit/s; records are at most this much later.
pub const ROUND_GAP: std::time::Duration = std::time::Duration::from_millis(25);

/// Bytes of the next frame brought into the cache ahead of its callback (see
/// [`prefetch_next_frame`]): its `tpacket3_hdr` and, behind it, the Ethernet, IP and TCP
/// headers and the start of the payload (an SMB2 or DCE-RPC header), 4 cache lines.
const PREFETCH_BYTES: usize = 256;

/// Asks the CPU to fetch where the frame after `data` most likely lies in libpcap's ring while
/// this one is decoded: the ring's packets were written by the kernel (often on the other core)
/// during the sleep between rounds, so each frame's first read otherwise waits for memory, in
/// libpcap (its header) and in the packet decoder (the Ethernet type).
///
/// In a TPACKET_V3 block the kernel puts the next frame's header at this one's header plus its
/// MAC offset and captured length, rounded up to 8 bytes, i.e. at the end of this frame's data
/// rounded up to 8 (libpcap's VLAN tag reinsertion moves the start of the data, not its end).
/// Only a hint: nothing past the frame is read (a prefetch never faults and reads nothing the
/// program sees), so a guess that is wrong (the block's last frame, another capture mechanism,
/// or on `lo` the outgoing copy of each packet, which libpcap skips) costs a few wasted fetches
/// and nothing else. (Checked on `lo`: with libpcap 1.10 each frame's data starts 86 bytes
/// after its header, and the next delivered frame was where this layout puts it, past the
/// skipped copy.)
#[inline(always)]
fn prefetch_next_frame(data: &[u8]) {
    let next = next_frame(data);
    for line in (0..PREFETCH_BYTES).step_by(64) {
        crate::base::prefetch(next.wrapping_add(line));
    }
}

/// Where the frame after `data` most likely starts in a TPACKET_V3 block: the end of `data`
/// rounded up to 8 bytes (see [`prefetch_next_frame`]). An address only, never read.
#[inline(always)]
fn next_frame(data: &[u8]) -> *const u8 {
    let end = data.as_ptr().wrapping_add(data.len());
    end.wrapping_add(end.align_offset(8).min(7))
}

/// What libpcap counted since the capture was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// Packets received by the filter.
    pub received: u64,
    /// Packets the kernel dropped because the buffer was full (`ps_drop`).
    pub dropped: u64,
    /// Packets the interface or its driver dropped (`ps_ifdrop`).
    pub if_dropped: u64,
}

/// A live capture on one interface.
pub struct LiveSource {
    interface: String,
    cap: pcap::Capture<pcap::Active>,
    link: LinkType,
    nanos: bool,
    /// The capture's descriptor, polled while no packet is pending.
    fd: i32,
    /// Whether the last read returned a packet (so more may be waiting without a poll).
    pending: bool,
    /// How long one [`LiveSource::dispatch`] waits for a packet.
    timeout_ms: i32,
    /// When the current round of [`LiveSource::dispatch`] began (its first packet after a wait).
    round: std::time::Instant,
    /// The kernel fanout group this capture is a member of ([`LiveSource::join_fanout`]).
    fanout: Option<u16>,
}

/// Turns a libpcap error on `interface` into a message that says what to do.
fn explain(interface: &str, what: &str, e: &pcap::Error) -> CaptureError {
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    let hint = if lower.contains("permission") || lower.contains("not permitted") {
        "; capturing needs CAP_NET_RAW (and CAP_NET_ADMIN for promiscuous mode): run as root or grant the capabilities, e.g. setcap cap_net_raw,cap_net_admin=eip on the binary"
    } else if lower.contains("no such device")
        || lower.contains("doesn't exist")
        || lower.contains("no such")
    {
        "; check the interface name (ip link lists them)"
    } else if lower.contains("not up") {
        "; bring the interface up first (ip link set IFACE up)"
    } else {
        ""
    };
    CaptureError::Open {
        source: interface.to_string(),
        reason: format!("{what}: {text}{hint}"),
    }
}

impl LiveSource {
    /// Opens `interface` for capture. `bpf` is an optional filter in tcpdump syntax, `snaplen`
    /// the bytes kept per frame, `buffer_size` the kernel buffer in bytes (0 keeps libpcap's
    /// default), `timeout_ms` the longest a read waits (see [`DEFAULT_TIMEOUT_MS`]).
    pub fn open(
        interface: &str,
        bpf: Option<&str>,
        promisc: bool,
        snaplen: i32,
        buffer_size: i32,
        timeout_ms: i32,
    ) -> Result<Self, CaptureError> {
        let inactive = pcap::Capture::from_device(interface)
            .map_err(|e| explain(interface, "cannot create the capture", &e))?;
        let nanos = cfg!(target_os = "linux");
        let mut inactive = inactive
            .promisc(promisc)
            .snaplen(snaplen)
            .timeout(timeout_ms.max(1))
            .immediate_mode(false)
            .precision(if nanos {
                pcap::Precision::Nano
            } else {
                pcap::Precision::Micro
            });
        if buffer_size > 0 {
            inactive = inactive.buffer_size(buffer_size);
        }
        let cap = inactive
            .open()
            .map_err(|e| explain(interface, "cannot start the capture", &e))?;
        let link = LinkType(cap.get_datalink().0 as u32);
        let cap = cap
            .setnonblock()
            .map_err(|e| explain(interface, "cannot make the capture non-blocking", &e))?;
        let fd = std::os::fd::AsRawFd::as_raw_fd(&cap);
        if !link.supported() {
            return Err(CaptureError::UnsupportedLink {
                source: interface.to_string(),
                link,
            });
        }
        let mut s = LiveSource {
            interface: interface.to_string(),
            cap,
            link,
            nanos,
            fd,
            pending: false,
            timeout_ms: timeout_ms.max(1),
            round: std::time::Instant::now(),
            fanout: None,
        };
        if let Some(f) = bpf {
            s.set_filter(f)?;
        }
        Ok(s)
    }

    /// Makes this capture a member of a kernel fanout group ([`super::fanout`]) whose program
    /// is keyed by `key` (the same for every member, [`super::fanout::random_key`]): a new group
    /// when `group` is None, else that one. Returns the group's id for the next members.
    pub fn join_fanout(
        &mut self,
        group: Option<u16>,
        key: (u32, u32),
    ) -> Result<u16, CaptureError> {
        let id = super::fanout::join(self.fd, &self.interface, group, key)?;
        self.fanout = Some(id);
        Ok(id)
    }

    /// The kernel fanout group this capture is a member of, if any.
    pub fn fanout(&self) -> Option<u16> {
        self.fanout
    }

    /// Reads and discards every frame waiting in the ring; returns how many. For a fanout
    /// group's start: until every member has joined, a member's ring also receives the packets
    /// meant for the others.
    pub fn discard_waiting(&mut self) -> u64 {
        let mut n = 0u64;
        loop {
            match self.cap.dispatch(Some(1024), |_| ()) {
                Ok(got) if got > 0 => n += got as u64,
                _ => return n,
            }
        }
    }

    /// Replaces the BPF filter (e.g. on configuration reload). An empty filter takes everything.
    pub fn set_filter(&mut self, bpf: &str) -> Result<(), CaptureError> {
        self.cap.filter(bpf, true).map_err(|e| CaptureError::Open {
            source: self.interface.clone(),
            reason: format!("invalid BPF filter {bpf:?}: {e}; check its tcpdump syntax (tcpdump -d 'FILTER' tells)"),
        })
    }

    /// Waits up to the read timeout for the capture's descriptor to have packets.
    fn readable(&self) -> bool {
        let mut pfd = libc::pollfd {
            fd: self.fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the capture's descriptor, which lives as long as self.
        unsafe { libc::poll(&mut pfd, 1, self.timeout_ms) > 0 }
    }

    /// What a failed read says to the user.
    fn read_error(interface: &str, e: pcap::Error) -> CaptureError {
        CaptureError::Read {
            source: interface.to_string(),
            offset: 0,
            reason: format!("{e}; check that the interface is still up"),
        }
    }

    /// Hands the frames waiting in libpcap's ring to `f`, at most `max` of them, each read in
    /// place (the frame borrows the ring's slot for the call: no copy, as `pcap_next_ex` would
    /// make of every packet); waits up to the read timeout given to [`LiveSource::open`] (e.g.
    /// [`DEFAULT_TIMEOUT_MS`]) when none is waiting. Returns how many it handed: 0 when the
    /// timeout passed without a packet (check the stop flag and call again).
    ///
    /// The capture is non-blocking and we wait with `poll(2)` ourselves: on Linux (TPACKET_V3)
    /// libpcap's own read timeout does not fire while no packet at all arrives, which would keep
    /// a quiet interface from ever noticing TERM.
    pub fn dispatch<F: FnMut(Frame<'_>)>(
        &mut self,
        max: usize,
        mut f: F,
    ) -> Result<usize, CaptureError> {
        if !self.pending {
            // The ring is drained. Let the next round begin no sooner than ROUND_GAP after this
            // one began: on a busy link the kernel fills a ring block every few milliseconds,
            // and waking for each costs more than the packets of a block (see ROUND_GAP).
            let since = self.round.elapsed();
            if since < ROUND_GAP {
                std::thread::sleep(ROUND_GAP - since);
            }
            if !self.readable() {
                return Ok(0);
            }
            self.round = std::time::Instant::now();
        }
        let (link, nanos) = (self.link, self.nanos);
        let got = self.cap.dispatch(Some(max.max(1)), |p| {
            prefetch_next_frame(p.data);
            f(Frame {
                ts: ts_of(&p.header.ts, nanos),
                link,
                data: p.data,
                orig_len: p.header.len,
            })
        });
        match got {
            // Frames were handed: more may be waiting, read again before polling.
            Ok(n) => {
                self.pending = n > 0;
                Ok(n)
            }
            Err(pcap::Error::TimeoutExpired) | Err(pcap::Error::NoMorePackets) => {
                self.pending = false;
                Ok(0)
            }
            Err(e) => Err(Self::read_error(&self.interface, e)),
        }
    }

    /// libpcap's counters since the capture was opened.
    pub fn stats(&mut self) -> Result<LiveStats, CaptureError> {
        let s = self
            .cap
            .stats()
            .map_err(|e| explain(&self.interface, "cannot read capture statistics", &e))?;
        Ok(LiveStats {
            received: s.received as u64,
            dropped: s.dropped as u64,
            if_dropped: s.if_dropped as u64,
        })
    }

    /// The capture's link type.
    pub fn link(&self) -> LinkType {
        self.link
    }

    /// The interface's name as given.
    pub fn name(&self) -> &str {
        &self.interface
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A capture on `lo` (a 100 ms timeout), or `None` when the test `name` cannot capture: it
    /// then skips, as it may only without root.
    fn open_lo(name: &str) -> Option<LiveSource> {
        match LiveSource::open("lo", None, false, 65535, 0, 100) {
            Ok(s) => Some(s),
            Err(e) => {
                let root = crate::skip::is_root();
                crate::skip::need_root(name);
                assert!(!root, "capture on lo as root: {e}");
                None
            }
        }
    }

    #[test]
    fn the_next_frame_is_guessed_at_the_end_rounded_up_to_8_and_only_prefetched() {
        let ring = vec![0u8; 256];
        for start in 0..16 {
            for len in [0, 1, 7, 8, 9, 60, 61, 200] {
                let frame = &ring[start..start + len];
                let end = frame.as_ptr() as usize + len;
                let next = next_frame(frame) as usize;
                assert_eq!(next % 8, 0, "start {start} len {len}");
                assert!(next >= end && next < end + 8, "start {start} len {len}");
            }
        }
        // The ring's last frame: the guess and the lines after it lie past the buffer, which
        // is never read (a prefetch does not fault).
        prefetch_next_frame(&ring[ring.len() - 5..]);
        prefetch_next_frame(&[]);
    }

    #[test]
    fn nonexistent_interface_names_it_and_says_what_to_do() {
        let err = match LiveSource::open("dcsensor-no-such0", None, false, 65535, 0, 100) {
            Ok(_) => panic!("opened an interface that does not exist"),
            Err(e) => e,
        };
        let msg = err.to_string();
        assert!(
            matches!(err, CaptureError::Open { ref source, .. } if source == "dcsensor-no-such0"),
            "{msg}"
        );
        assert!(
            msg.starts_with("dcsensor-no-such0: cannot open: cannot start the capture"),
            "{msg}"
        );
        // Either it does not exist (root) or capturing is not permitted (not root): both explain.
        assert!(
            msg.contains("ip link") || msg.contains("CAP_NET_RAW"),
            "{msg}"
        );
    }

    /// Captures on `lo` while sending a UDP datagram to a loopback port; needs root (skips
    /// otherwise).
    #[test]
    fn loopback_capture_sees_a_udp_datagram() {
        let Some(mut src) = open_lo("loopback_capture_sees_a_udp_datagram") else {
            return;
        };
        assert_eq!(src.link(), LinkType::ETHERNET);
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = rx.local_addr().unwrap().port();
        // A filter that only this datagram matches, set through the reload path.
        src.set_filter(&format!("udp and dst port {port}")).unwrap();
        assert!(src.set_filter("udp and and").is_err());
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let payload = b"dcsensor live capture test";
        tx.send_to(payload, ("127.0.0.1", port)).unwrap();
        let mut found = None;
        for _ in 0..50 {
            src.dispatch(1, |f| {
                found = Some((f.link, f.data.to_vec(), f.orig_len, f.ts))
            })
            .unwrap();
            if found.is_some() {
                break;
            }
        }
        let (link, data, orig_len, ts) = found.expect("the datagram was not captured within 5 s");
        assert_eq!(link, LinkType::ETHERNET);
        // 14 Ethernet + 20 IPv4 + 8 UDP + payload
        assert_eq!(data.len(), 42 + payload.len());
        assert_eq!(orig_len as usize, data.len());
        assert_eq!(&data[42..], payload);
        assert_eq!(u16::from_be_bytes([data[36], data[37]]), port);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        assert!(
            ts <= now && now - ts < 60 * crate::record::NS,
            "ts {ts} now {now}"
        );
        let st = src.stats().unwrap();
        assert!(st.received >= 1, "{st:?}");
        // A quiet capture returns after the timeout instead of blocking.
        src.set_filter("udp and dst port 9 and src port 9").unwrap();
        assert_eq!(src.dispatch(1, |_| panic!("a frame")).unwrap(), 0);
    }

    /// `dispatch` hands every datagram sent, in order, at most `max` a call; needs root (skips
    /// otherwise).
    #[test]
    fn dispatch_hands_what_the_ring_holds_in_order_at_most_max_a_call() {
        let Some(mut src) =
            open_lo("dispatch_hands_what_the_ring_holds_in_order_at_most_max_a_call")
        else {
            return;
        };
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = rx.local_addr().unwrap().port();
        src.set_filter(&format!("udp and dst port {port}")).unwrap();
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for i in 0..9u8 {
            tx.send_to(&[i; 20], ("127.0.0.1", port)).unwrap();
        }
        let mut got: Vec<u8> = Vec::new();
        let mut calls = Vec::new();
        for _ in 0..50 {
            let n = src
                .dispatch(2, |f| {
                    assert_eq!(f.link, LinkType::ETHERNET);
                    assert_eq!(f.data.len(), 42 + 20);
                    assert_eq!(f.orig_len as usize, f.data.len());
                    got.push(f.data[42]);
                })
                .unwrap();
            calls.push(n);
            if got.len() >= 9 {
                break;
            }
        }
        assert_eq!(got, (0..9).collect::<Vec<u8>>(), "calls {calls:?}");
        assert!(calls.iter().all(|&n| n <= 2), "{calls:?}");
        assert_eq!(calls.iter().sum::<usize>(), 9);
        // A quiet capture: nothing handed, after the timeout.
        assert_eq!(src.dispatch(256, |_| panic!("a frame")).unwrap(), 0);
    }
}
