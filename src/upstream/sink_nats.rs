//! The `nats://` sink: batches into NATS JetStream with `async-nats`.
//!
//! Each batch is published to `dcsensor.<sensor-id>.records` with the header
//! `Nats-Msg-Id: <sensor-id>-<seq>` (JetStream drops a second copy within the stream's duplicate
//! window; batches of another kind, on `dcsensor.<sensor-id>.<kind>`, have their own seq and are
//! `<sensor-id>-<kind>-<seq>`, so an alert batch is never taken for a copy of a record batch) and `Nats-Expected-Stream: <stream>` (a publish that no stream or the wrong one would
//! take is refused rather than lost). A batch counts as sent only on its PubAck. One batch is in
//! flight at a time, so the stream holds batches in seq order. While the server is away the
//! client reconnects by itself and the sink retries the same batch with backoff.
//!
//! The stream (default `DCSENSOR`, subjects `dcsensor.>`, file storage, the configured number of
//! replicas) is created if missing; an existing stream is used as it is.

use super::{Failure, NatsOptions};
use async_nats::jetstream::{self, context::PublishErrorKind, message::PublishMessage, stream};
use std::time::Duration;

/// Bytes kept free in a message for the NATS headers, below the server's `max_payload`.
pub const HEADER_ROOM: usize = 1024;

/// Publishes batches to JetStream.
pub struct NatsSink {
    urls: Vec<String>,
    opts: NatsOptions,
    subject: String,
    sensor: String,
    /// What goes before `<seq>` in `Nats-Msg-Id`.
    id_prefix: String,
    js: Option<jetstream::Context>,
    stream_ready: bool,
}

impl NatsSink {
    pub fn new(urls: Vec<String>, opts: NatsOptions, sensor: &str) -> Self {
        NatsSink {
            urls,
            opts,
            subject: format!("dcsensor.{sensor}.records"),
            sensor: sensor.to_owned(),
            id_prefix: sensor.to_owned(),
            js: None,
            stream_ready: false,
        }
    }

    /// Publishes to `dcsensor.<sensor>.<kind>` (`records`, `alerts`).
    pub fn for_kind(mut self, kind: &str) -> Self {
        self.subject = format!("dcsensor.{}.{kind}", self.sensor);
        self.id_prefix = if kind == "records" {
            self.sensor.clone()
        } else {
            format!("{}-{kind}", self.sensor)
        };
        self
    }

    /// The servers, for logs.
    pub fn urls(&self) -> String {
        self.urls.join(",")
    }

    async fn connect(&mut self) -> Result<jetstream::Context, Failure> {
        if let Some(js) = &self.js {
            return Ok(js.clone());
        }
        let o = &self.opts;
        let mut co = async_nats::ConnectOptions::new()
            .name(format!("dcsensor {}", self.sensor))
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connection_timeout(o.connect_timeout)
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis(100u64.saturating_mul(1 << attempts.min(5) as u64))
                    .min(Duration::from_secs(2))
            })
            .event_callback(|ev| async move {
                match ev {
                    async_nats::Event::Connected => tracing::info!("NATS connected"),
                    async_nats::Event::Disconnected => {
                        tracing::warn!("NATS disconnected; reconnecting")
                    }
                    other => tracing::debug!(event = %other, "NATS event"),
                }
            });
        if let Some(path) = &o.credentials_file {
            co = co.credentials_file(path).await.map_err(|e| {
                Failure::Permanent(format!(
                    "NATS credentials file {}: {e} (give the .creds file made by `nsc` or your operator)",
                    path.display()
                ))
            })?;
        }
        if let (Some(u), Some(p)) = (&o.user, &o.password) {
            co = co.user_and_password(u.clone(), p.clone());
        }
        if let Some(t) = &o.token {
            co = co.token(t.clone());
        }
        if o.tls || self.urls.iter().any(|u| u.starts_with("tls://")) {
            co = co.require_tls(true);
        }
        if let Some(ca) = &o.tls_ca {
            co = co.add_root_certificates(ca.clone());
        }
        if let (Some(cert), Some(key)) = (&o.tls_cert, &o.tls_key) {
            co = co.add_client_certificate(cert.clone(), key.clone());
        }
        let client = co
            .connect(self.urls.as_slice())
            .await
            .map_err(|e| Failure::Retry(format!("NATS {}: cannot connect: {e}", self.urls())))?;
        let mut js = jetstream::new(client);
        js.set_timeout(o.ack_timeout);
        self.js = Some(js.clone());
        Ok(js)
    }

    async fn ensure_stream(&mut self, js: &jetstream::Context) -> Result<(), Failure> {
        if self.stream_ready {
            return Ok(());
        }
        let o = &self.opts;
        let cfg = stream::Config {
            name: o.stream.clone(),
            subjects: vec!["dcsensor.>".into()],
            storage: stream::StorageType::File,
            num_replicas: o.replicas.max(1),
            duplicate_window: o.duplicate_window,
            ..Default::default()
        };
        js.get_or_create_stream(cfg).await.map_err(|e| {
            Failure::Retry(format!(
                "NATS {}: cannot get or create stream {}: {e}",
                self.urls(),
                o.stream
            ))
        })?;
        tracing::info!(stream = %o.stream, "NATS JetStream stream ready");
        self.stream_ready = true;
        Ok(())
    }

    /// Publishes batch `seq` and waits for its PubAck. Returns whether JetStream called it a
    /// duplicate (already stored: a resend after a lost acknowledgement or a restart).
    pub async fn deliver(&mut self, seq: u64, bytes: bytes::Bytes) -> Result<bool, Failure> {
        let js = self.connect().await?;
        self.ensure_stream(&js).await?;
        let max = js_max_payload(&js);
        if bytes.len() + HEADER_ROOM > max {
            return Err(Failure::Permanent(format!(
                "NATS {}: batch {seq} is {} bytes, the server takes at most {max} per message \
                 (raise max_payload on the server or lower the batch size)",
                self.urls(),
                bytes.len()
            )));
        }
        let msg = PublishMessage::build()
            .payload(bytes)
            .message_id(format!("{}-{seq}", self.id_prefix))
            .expected_stream(&self.opts.stream);
        let fut = js
            .send_publish(self.subject.clone(), msg)
            .await
            .map_err(|e| self.failed(seq, e))?;
        let ack = fut.await.map_err(|e| self.failed(seq, e))?;
        Ok(ack.duplicate)
    }

    fn failed(&mut self, seq: u64, e: jetstream::context::PublishError) -> Failure {
        if e.kind() == PublishErrorKind::StreamNotFound {
            // Deleted or never there (a new cluster): create it again on the next try.
            self.stream_ready = false;
        }
        if e.kind() == PublishErrorKind::MaxPayloadExceeded {
            return Failure::Permanent(format!("NATS {}: batch {seq}: {e}", self.urls()));
        }
        Failure::Retry(format!("NATS {}: batch {seq}: {e}", self.urls()))
    }
}

fn js_max_payload(js: &jetstream::Context) -> usize {
    let m = js.client().server_info().max_payload;
    if m == 0 {
        // Not connected yet: the default of nats-server.
        1 << 20
    } else {
        m
    }
}
