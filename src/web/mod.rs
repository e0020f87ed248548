//! The project's one HTTP stack: the sensor's `/metrics` and `/healthz` and the center's API and
//! console are axum routers served here on hyper, with the limits a server reachable from the
//! network needs (its clients are as hostile as the wire):
//!
//! - a cap on open connections: past it a new connection is closed at once and counted, so a
//!   flood of idle sockets costs a file descriptor for a moment, not a task;
//! - the request head must arrive within `header_read_timeout` and fit in `max_header_bytes`
//!   (hyper answers 431 past that); a TLS handshake has the same time limit;
//! - every connection closes after `connection_lifetime`, however busy;
//! - connections are served concurrently, each in its own task, so a slow client delays nobody.
//!
//! TLS is optional, through rustls with the `ring` provider (the one async-nats uses; aws-lc-rs
//! needs cmake). [`serve`] runs on the caller's tokio runtime; [`ThreadServer`] runs a router on
//! a small runtime of its own thread (the sensor's metrics: nothing there can slow capture).

mod tls;

pub use tls::tls_config;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio_rustls::rustls::ServerConfig;

/// What one server allows its clients. Every field is a setting with this default.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Open connections at most (default 256); past it new ones are closed and counted.
    pub max_connections: usize,
    /// Time for a request head (and a TLS handshake) to arrive (default 5 s).
    pub header_read_timeout: Duration,
    /// Bytes a request head may take (default 16 KiB; hyper's floor is 8 KiB).
    pub max_header_bytes: usize,
    /// A connection closes after this long, however busy (default 120 s).
    pub connection_lifetime: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 256,
            header_read_timeout: Duration::from_secs(5),
            max_header_bytes: 16 * 1024,
            connection_lifetime: Duration::from_secs(120),
        }
    }
}

/// A server's own counters (for its metrics).
#[derive(Debug, Default)]
pub struct WebStats {
    /// Connections accepted and served.
    pub accepted: AtomicU64,
    /// Connections closed at once because `max_connections` were open.
    pub refused: AtomicU64,
    /// Connections that ended in an error: a head too slow or too large, a failed handshake,
    /// the lifetime reached.
    pub failed: AtomicU64,
    /// Connections open now.
    pub open: AtomicU64,
}

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting, asks open
/// connections to finish their request in flight and waits for them (at most
/// `header_read_timeout`). The peer address reaches handlers as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<Arc<ServerConfig>>,
    stats: Arc<WebStats>,
    shutdown: impl Future<Output = ()>,
) {
    let limits = Arc::new(limits);
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: wait a little.
                    tracing::debug!("http accept: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            stats.refused.fetch_add(1, Ordering::Relaxed);
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        stats.open.fetch_add(1, Ordering::Relaxed);
        let (app, limits, stats, acceptor, stop_rx) = (
            app.clone(),
            limits.clone(),
            stats.clone(),
            acceptor.clone(),
            stop_rx.clone(),
        );
        tokio::spawn(async move {
            let ok = match acceptor {
                None => connection(stream, peer, app, &limits, stop_rx).await,
                Some(acc) => {
                    match tokio::time::timeout(limits.header_read_timeout, acc.accept(stream)).await
                    {
                        Ok(Ok(tls)) => connection(tls, peer, app, &limits, stop_rx).await,
                        _ => false,
                    }
                }
            };
            if !ok {
                stats.failed.fetch_add(1, Ordering::Relaxed);
            }
            stats.open.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let all = limits.max_connections.max(1) as u32;
    let _ = tokio::time::timeout(limits.header_read_timeout, permits.acquire_many(all)).await;
}

/// Serves one connection; false when it ended in an error or ran out of time.
async fn connection<S>(
    io: S,
    peer: SocketAddr,
    app: Router,
    limits: &Limits,
    mut stop: watch::Receiver<bool>,
) -> bool
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let mut app = app.clone();
        tower_service::Service::call(&mut app, req)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let deadline = tokio::time::sleep(limits.connection_lifetime);
    tokio::pin!(deadline);
    tokio::select! {
        r = conn.as_mut() => return r.is_ok(),
        _ = &mut deadline => return false,
        _ = stop.wait_for(|s| *s) => conn.as_mut().graceful_shutdown(),
    }
    matches!(
        tokio::time::timeout(limits.header_read_timeout, conn).await,
        Ok(Ok(()))
    )
}

/// A router served on a current-thread tokio runtime in a thread of its own, until dropped.
pub struct ThreadServer {
    /// The address it listens on (the port resolved when `:0` was asked).
    pub addr: SocketAddr,
    pub stats: Arc<WebStats>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl ThreadServer {
    /// Binds `addr` now (so a bad address fails here, before privileges are dropped) and serves
    /// `app` from a thread named `name`. `what` names the server in error messages.
    pub fn start(
        what: &str,
        name: &str,
        addr: &str,
        app: Router,
        limits: Limits,
        tls: Option<Arc<ServerConfig>>,
    ) -> Result<ThreadServer, String> {
        let listener = std::net::TcpListener::bind(addr)
            .map_err(|e| format!("{what}: cannot listen on {addr}: {e}; pick a free ADDR:PORT"))?;
        let local = listener.local_addr().map_err(|e| format!("{what}: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("{what}: {e}"))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("{what}: cannot start a runtime: {e}"))?;
        let stats = Arc::new(WebStats::default());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let stats2 = stats.clone();
        let handle = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                rt.block_on(async move {
                    let listener = match TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::error!("http: {e}");
                            return;
                        }
                    };
                    let stop = async {
                        let _ = stop_rx.await;
                    };
                    serve(listener, app, limits, tls, stats2, stop).await;
                })
            })
            .map_err(|e| format!("{what}: cannot start a thread: {e}"))?;
        Ok(ThreadServer {
            addr: local,
            stats,
            stop: Some(stop_tx),
            handle: Some(handle),
        })
    }
}

impl Drop for ThreadServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests;
