//! Where alerts go besides standard output: the sensor's upstream (batches of alerts, NATS
//! subject `dcsensor.<id>.alerts`) and syslog in CEF over UDP, TCP or TLS (RFC 5426, RFC 6587
//! octet counting, RFC 5425). A message that cannot be sent is counted and logged, never kept
//! back from the others; a broken connection is opened again at the next alert.

use super::output::{cef_alert, syslog_line};
use super::Alert;
use crate::output::OutputError;
use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

/// A destination of alerts.
pub trait AlertSink: Send {
    fn alert(&mut self, a: &Alert) -> Result<(), OutputError>;
    /// About once a second.
    fn tick(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
    fn finish(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
    /// Alerts that could not be delivered.
    fn dropped(&self) -> u64 {
        0
    }
}

impl AlertSink for crate::upstream::Upstream {
    fn alert(&mut self, a: &Alert) -> Result<(), OutputError> {
        self.push_value(a)
    }
    fn tick(&mut self) -> Result<(), OutputError> {
        crate::output::Output::tick(self)
    }
    fn finish(&mut self) -> Result<(), OutputError> {
        crate::output::Output::finish(self)
    }
}

/// A syslog destination: `udp://host:514`, `tcp://host:601`, `tls://host:6514`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyslogTarget {
    Udp(String),
    Tcp(String),
    Tls(String),
}

impl SyslogTarget {
    pub fn parse(s: &str) -> Result<SyslogTarget, String> {
        let (scheme, rest) = s.split_once("://").ok_or_else(|| {
            format!("syslog `{s}`: write udp://host:514, tcp://host:601 or tls://host:6514")
        })?;
        if rest.is_empty() || !rest.contains(':') {
            return Err(format!("syslog `{s}`: give host:port"));
        }
        match scheme {
            "udp" => Ok(SyslogTarget::Udp(rest.into())),
            "tcp" => Ok(SyslogTarget::Tcp(rest.into())),
            "tls" => Ok(SyslogTarget::Tls(rest.into())),
            _ => Err(format!("syslog `{s}`: the scheme must be udp, tcp or tls")),
        }
    }
}

enum Conn {
    Udp(UdpSocket),
    Tcp(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

/// CEF alerts to a syslog collector.
pub struct Syslog {
    target: SyslogTarget,
    tls: Option<Arc<rustls::ClientConfig>>,
    conn: Option<Conn>,
    host: String,
    observer: String,
    dropped: u64,
}

/// A TLS client configuration trusting `ca_file` (PEM), or the system's roots when None.
pub fn tls_config(ca_file: Option<&std::path::Path>) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(p) => {
            for c in rustls_pki_types::CertificateDer::pem_file_iter(p)
                .map_err(|e| format!("{}: {e}; give a PEM file of CA certificates", p.display()))?
            {
                let c = c.map_err(|e| format!("{}: {e}", p.display()))?;
                roots.add(c).map_err(|e| format!("{}: {e}", p.display()))?;
            }
        }
        None => {
            for c in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(c);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

impl Syslog {
    pub fn new(
        target: SyslogTarget,
        ca_file: Option<&std::path::Path>,
        host: &str,
        observer: &str,
    ) -> Result<Syslog, String> {
        let tls = match target {
            SyslogTarget::Tls(_) => Some(tls_config(ca_file)?),
            _ => None,
        };
        Ok(Syslog {
            target,
            tls,
            conn: None,
            host: host.into(),
            observer: observer.into(),
            dropped: 0,
        })
    }

    fn connect(&mut self) -> std::io::Result<Conn> {
        let t = Duration::from_secs(5);
        let addr_of = |hp: &str| {
            hp.to_socket_addrs()?
                .next()
                .ok_or_else(|| std::io::Error::other(format!("{hp}: no address")))
        };
        Ok(match &self.target {
            SyslogTarget::Udp(hp) => {
                let a = addr_of(hp)?;
                let bind = if a.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
                let s = UdpSocket::bind(bind)?;
                s.connect(a)?;
                Conn::Udp(s)
            }
            SyslogTarget::Tcp(hp) => {
                let s = TcpStream::connect_timeout(&addr_of(hp)?, t)?;
                s.set_write_timeout(Some(t))?;
                Conn::Tcp(s)
            }
            SyslogTarget::Tls(hp) => {
                let s = TcpStream::connect_timeout(&addr_of(hp)?, t)?;
                s.set_write_timeout(Some(t))?;
                s.set_read_timeout(Some(t))?;
                let name = hp
                    .rsplit_once(':')
                    .map(|x| x.0)
                    .unwrap_or(hp)
                    .trim_matches(['[', ']'])
                    .to_string();
                let server =
                    rustls_pki_types::ServerName::try_from(name).map_err(std::io::Error::other)?;
                let cfg = self
                    .tls
                    .clone()
                    .ok_or_else(|| std::io::Error::other("no TLS configuration"))?;
                let c =
                    rustls::ClientConnection::new(cfg, server).map_err(std::io::Error::other)?;
                Conn::Tls(Box::new(rustls::StreamOwned::new(c, s)))
            }
        })
    }

    fn send(&mut self, msg: &str) -> std::io::Result<()> {
        if self.conn.is_none() {
            self.conn = Some(self.connect()?);
        }
        let framed = format!("{} {msg}", msg.len());
        let r = match self.conn.as_mut().expect("connected") {
            Conn::Udp(s) => s.send(msg.as_bytes()).map(|_| ()),
            Conn::Tcp(s) => s.write_all(framed.as_bytes()),
            Conn::Tls(s) => s.write_all(framed.as_bytes()).and_then(|_| s.flush()),
        };
        if r.is_err() {
            self.conn = None;
        }
        r
    }
}

impl AlertSink for Syslog {
    fn alert(&mut self, a: &Alert) -> Result<(), OutputError> {
        let msg = syslog_line(
            &cef_alert(a, &self.observer),
            &a.severity,
            &self.host,
            a.last_ts,
        );
        // one retry on a fresh connection, then the alert is counted as dropped
        if self.send(&msg).is_err() {
            if let Err(e) = self.send(&msg) {
                self.dropped += 1;
                tracing::warn!(target = ?self.target, dropped = self.dropped, "syslog: alert not sent: {e}");
            }
        }
        Ok(())
    }

    fn dropped(&self) -> u64 {
        self.dropped
    }
}
