//! Unit tests of the Kerberos decoder on bytes from the project's lab captures
//! (`testdata-pcaps/lab/*.pcap`, extracted with tshark into `testdata/`).

use super::*;
use crate::proto::testutil::Harness;
use crate::record::{Record, Transport, NS};

fn json(out: &[Record]) -> Vec<serde_json::Value> {
    out.iter().map(|r| serde_json::to_value(r).unwrap()).collect()
}

#[test]
fn scratch() {
    let mut h = Harness::new(Transport::Udp, 88);
    let mut u = udp();
    u.datagram(&mut h.cx(NS), Dir::ToServer, include_bytes!("testdata/logon_as_req_udp.bin"));
    u.datagram(&mut h.cx(2 * NS), Dir::ToClient, include_bytes!("testdata/logon_preauth_required_udp.bin"));
    u.close(&mut h.cx(3 * NS));
    for j in json(&h.out) { println!("{j}"); }
    panic!();
}
