//! `dcsensor center run`: opens the store, rebuilds the engine's state, serves the API, and
//! applies batches from the configured sources until told to stop; then it commits what is in
//! flight and what the engine holds, acknowledges, and returns.

use super::api::{self, ApiState};
use super::config::CenterConfig;
use super::engine::Detector;
use super::ingest::{Ack, DirSource, Incoming, Processor};
use super::store::write::AlertWrite;
use super::store::{now_secs, Store};
use super::CenterStats;
use async_nats::jetstream::{self, consumer, stream};
use futures_util::StreamExt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Connects to the NATS servers of `[ingest]`.
async fn nats_connect(cfg: &CenterConfig) -> Result<async_nats::Client, String> {
    let i = &cfg.ingest;
    let urls = i.nats.join(",");
    let mut co = async_nats::ConnectOptions::new()
        .name("dcsensor center")
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connection_timeout(Duration::from_secs(5));
    if let Some(p) = &i.credentials_file {
        co = co.credentials_file(p).await.map_err(|e| {
            format!(
                "NATS credentials file {}: {e}; give the .creds file",
                p.display()
            )
        })?;
    }
    if !i.token.is_empty() {
        co = co.token(i.token.clone());
    }
    co.connect(i.nats.as_slice())
        .await
        .map_err(|e| format!("NATS {urls}: cannot connect: {e}"))
}

/// The durable consumer of each subject of this center's share: `(name, filter)`.
fn consumers_of(i: &super::config::IngestSection) -> Vec<(String, String)> {
    if i.filter_subjects.is_empty() {
        return vec![(i.consumer.clone(), i.filter_subject.clone())];
    }
    i.filter_subjects
        .iter()
        .map(|f| {
            use sha2::Digest;
            let d = sha2::Sha256::digest(f.as_bytes());
            let tag: String = d[..4].iter().map(|b| format!("{b:02x}")).collect();
            (format!("{}-{tag}", i.consumer), f.clone())
        })
        .collect()
}

/// The JetStream side: a durable pull consumer per subject of this center's share.
struct NatsSource {
    consumers: Vec<consumer::PullConsumer>,
    stats: Arc<CenterStats>,
    /// Batches delivered to this center's consumers before it started and not acknowledged
    /// (a stopped center's last group): they come again after the ack wait.
    unacked_at_start: u64,
    /// Alert batches delivered again since the last fetch (acknowledged, not applied).
    redelivered_alerts: u64,
}

impl NatsSource {
    async fn open(
        js: &jetstream::Context,
        cfg: &CenterConfig,
        stats: Arc<CenterStats>,
    ) -> Result<NatsSource, String> {
        let i = &cfg.ingest;
        let urls = i.nats.join(",");
        let st = js
            .get_or_create_stream(stream::Config {
                name: i.stream.clone(),
                subjects: vec!["dcsensor.>".into()],
                storage: stream::StorageType::File,
                num_replicas: i.stream_replicas.max(1),
                ..Default::default()
            })
            .await
            .map_err(|e| format!("NATS {urls}: stream {}: {e}", i.stream))?;
        let mut consumers = Vec::new();
        for (name, filter) in consumers_of(i) {
            let c = st
                .get_or_create_consumer(
                    &name,
                    consumer::pull::Config {
                        durable_name: Some(name.clone()),
                        ack_policy: consumer::AckPolicy::Explicit,
                        ack_wait: Duration::from_secs_f64(i.ack_wait),
                        max_ack_pending: 10_000,
                        filter_subject: filter.clone(),
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| format!("NATS {urls}: consumer {name}: {e}"))?;
            tracing::info!(stream = %i.stream, consumer = %name, filter = %filter, "JetStream consumer ready");
            consumers.push(c);
        }
        let mut unacked_at_start = 0;
        for c in &mut consumers {
            match c.info().await {
                Ok(info) => unacked_at_start += info.num_ack_pending as u64,
                // Not a reason to stay down: only the order of a restart's first batches suffers.
                Err(e) => tracing::warn!(
                    "NATS {urls}: consumer info: {e}; batches a stopped center had fetched are \
                     applied as they come again, not in the stream's order"
                ),
            }
        }
        Ok(NatsSource {
            consumers,
            stats,
            unacked_at_start,
            redelivered_alerts: 0,
        })
    }

    /// Up to `max` messages, waiting at most `wait` for the first.
    async fn fetch(&mut self, max: usize, wait: Duration) -> Result<Vec<Incoming>, String> {
        let each = (max / self.consumers.len()).max(1);
        let fetched = futures_util::future::join_all(
            self.consumers
                .iter()
                .map(|c| fetch_one(c, each, wait, &self.stats)),
        )
        .await;
        let mut out = Vec::new();
        let mut err = None;
        for r in fetched {
            match r {
                Ok((mut v, alerts_again)) => {
                    out.append(&mut v);
                    self.redelivered_alerts += alerts_again;
                }
                Err(e) => err = Some(e),
            }
        }
        // Several consumers: their batches in the stream's order.
        out.sort_by_key(|i| i.stream_seq.unwrap_or(u64::MAX));
        if out.is_empty() {
            if let Some(e) = err {
                return Err(e);
            }
            let mut pending = 0;
            for c in &mut self.consumers {
                if let Ok(info) = c.info().await {
                    pending += info.num_pending;
                }
            }
            self.stats.pending.store(pending, Ordering::Relaxed);
        }
        Ok(out)
    }
}

/// Up to `max` record batches of one consumer. A sensor's own alert batches (subject
/// `dcsensor.<sensor>.alerts`, sent when it runs `[detect]` at the edge) are acknowledged
/// without being applied and counted: the center raises its alerts from the records of every
/// sensor together, and an alert batch's seq is of its own series, not the records'.
async fn fetch_one(
    c: &consumer::PullConsumer,
    max: usize,
    wait: Duration,
    stats: &CenterStats,
) -> Result<(Vec<Incoming>, u64), String> {
    let mut msgs = c
        .fetch()
        .max_messages(max)
        .expires(wait)
        .messages()
        .await
        .map_err(|e| format!("JetStream fetch: {e}"))?;
    let mut out = Vec::new();
    let mut alerts_again = 0;
    while let Some(m) = msgs.next().await {
        match m {
            Ok(m) if m.subject.as_str().ends_with(".alerts") => {
                stats.edge_alert_batches.fetch_add(1, Ordering::Relaxed);
                if m.info().is_ok_and(|i| i.delivered > 1) {
                    alerts_again += 1;
                }
                if let Err(e) = m.ack().await {
                    tracing::warn!("JetStream ack of a sensor's alert batch: {e}");
                }
            }
            Ok(m) => {
                let (stream_seq, redelivered) = match m.info() {
                    Ok(i) => (Some(i.stream_sequence), i.delivered > 1),
                    Err(_) => (None, false),
                };
                out.push(Incoming {
                    bytes: m.payload.to_vec(),
                    ack: Ack::Nats(Box::new(m)),
                    stream_seq,
                    redelivered,
                })
            }
            Err(e) => {
                tracing::warn!("JetStream message: {e}");
                break;
            }
        }
    }
    Ok((out, alerts_again))
}

/// Runs the center until `stop` turns true.
pub async fn run(
    cfg: CenterConfig,
    engine: Box<dyn Detector>,
    mut stop: watch::Receiver<bool>,
    ready: impl FnOnce(Option<std::net::SocketAddr>),
) -> Result<(), String> {
    let url = cfg.store_url()?;
    let mut store = Store::open(&url).await.map_err(|e| e.to_string())?;
    if !cfg.ingest.filter_subjects.is_empty() || !cfg.tickets.bucket.is_empty() {
        // One of several centers: its part of an alert others raise too is kept apart.
        store.set_part(&cfg.ingest.consumer);
    }
    let stats = Arc::new(CenterStats::default());
    let mut engine = engine;
    let js = if cfg.ingest.nats.is_empty() {
        None
    } else {
        Some(jetstream::new(nats_connect(&cfg).await?))
    };
    let mut sharing = super::ingest::Sharing {
        share: if cfg.ingest.filter_subjects.is_empty() {
            [cfg.ingest.filter_subject.clone()]
                .into_iter()
                .filter(|f| !f.is_empty())
                .collect()
        } else {
            cfg.ingest.filter_subjects.clone()
        },
        tickets: None,
    };
    if let (Some(js), false) = (&js, cfg.tickets.bucket.is_empty()) {
        let (life, max_entries) = engine.ticket_limits();
        let settings = super::tickets::BucketSettings {
            bucket: cfg.tickets.bucket.clone(),
            replicas: cfg.tickets.replicas,
            max_age: Duration::from_secs_f64(life.max(3600.0)),
            max_entries,
            origin: center_origin(&cfg.ingest.consumer),
        };
        let (kv, table) = super::tickets::KvTickets::open(js, &settings).await?;
        if engine.share_tickets(Box::new(table)) {
            tracing::info!(bucket = %settings.bucket, max_age_s = settings.max_age.as_secs(),
                "ticket table in the JetStream key-value bucket");
            let _ = stats.shared.set(kv.stats.clone());
            sharing.tickets = Some(Arc::new(kv));
        }
    }
    tracing::info!(engine = engine.name(), "rebuilding the engine's state");
    let mut proc = Processor::start_shared(
        store.clone(),
        engine,
        cfg.store.replay_hours,
        stats.clone(),
        sharing,
    )
    .await
    .map_err(|e| e.to_string())?;

    let (http_stop_tx, http_stop_rx) = watch::channel(false);
    let mut http = None;
    let mut addr = None;
    if !cfg.api.listen.is_empty() {
        let listener = tokio::net::TcpListener::bind(&cfg.api.listen)
            .await
            .map_err(|e| {
                format!(
                    "api: cannot listen on {}: {e}; pick a free ADDR:PORT",
                    cfg.api.listen
                )
            })?;
        addr = listener.local_addr().ok();
        let tls = match (&cfg.api.tls_cert, &cfg.api.tls_key) {
            (Some(c), Some(k)) => Some(crate::web::tls_config(c, k)?),
            _ if cfg.console.enabled && !cfg.console.plain_http => {
                let (c, k) =
                    crate::console::tls::self_signed(&cfg.console.tls_dir, &cfg.api.listen)?;
                Some(crate::web::tls_config(&c, &k)?)
            }
            _ => None,
        };
        let endpoint = match &cfg.endpoint.mde {
            None => None,
            Some(m) => {
                let ttl = m.cache_minutes.max(0) * 60;
                let mde = super::endpoint::mde::Mde::new(m.clone())?;
                Some(super::endpoint::Endpoint::new(
                    Arc::new(mde),
                    store.clone(),
                    ttl,
                    stats.clone(),
                ))
            }
        };
        let state = ApiState {
            store: store.clone(),
            stats: stats.clone(),
            silent_after: cfg.health.silent_after,
            endpoint,
        };
        let app = if cfg.console.enabled {
            let mut c = crate::console::server::Console::new(state, cfg.console.throttle()).await?;
            if let Some(c) = std::sync::Arc::get_mut(&mut c) {
                c.session_lifetime =
                    (cfg.console.session_hours * 3600.0).clamp(60.0, 30.0 * 86400.0) as i64;
            }
            crate::console::server::router(c)
        } else {
            api::router(state)
        };
        let limits = cfg.api.limits();
        let mut rx = http_stop_rx.clone();
        http = Some(tokio::spawn(crate::web::serve(
            listener,
            app,
            limits,
            tls,
            Arc::new(crate::web::WebStats::default()),
            async move {
                let _ = rx.wait_for(|s| *s).await;
            },
        )));
        tracing::info!(listen = %cfg.api.listen, "API listening");
    }
    ready(addr);

    let mut dirs = (!cfg.ingest.dirs.is_empty())
        .then(|| DirSource::new(cfg.ingest.dirs.clone(), cfg.ingest.remove_applied));
    let mut nats = match &js {
        None => None,
        Some(js) => Some(NatsSource::open(js, &cfg, stats.clone()).await?),
    };
    let group = cfg.ingest.group_batches;
    let high = store.applied_high().await.map_err(|e| e.to_string())?;
    let mut reorder = super::ingest::Reorder::new(
        high,
        Duration::from_secs_f64(cfg.ingest.reorder_wait),
        10_000,
        stats.clone(),
    );
    let poll = Duration::from_secs_f64(cfg.ingest.poll);
    let mut recovery = super::ingest::Recovery::new(
        nats.as_ref().map_or(0, |n| n.unacked_at_start),
        Duration::from_secs_f64(cfg.ingest.ack_wait) + poll + Duration::from_secs(1),
        (group * 4).max(256),
    );
    let mut last_health = std::time::Instant::now();
    let mut last_prune = std::time::Instant::now();
    let mut last_excl = std::time::Instant::now();
    let mut excl_seen = stats.exclusion_changes.load(Ordering::Relaxed);
    loop {
        if *stop.borrow() {
            break;
        }
        let mut items = Vec::new();
        if let Some(d) = dirs.as_mut() {
            items = tokio::task::block_in_place(|| d.scan(group));
        }
        if let Some(n) = nats.as_mut() {
            let room = group.saturating_sub(items.len());
            if room > 0 {
                let wait = if items.is_empty() {
                    poll
                } else {
                    Duration::from_millis(10)
                };
                tokio::select! {
                    r = n.fetch(room, wait) => match r {
                        Ok(v) => {
                            // an alert batch of the stopped center's is one of those awaited too
                            recovery.came_again(std::mem::take(&mut n.redelivered_alerts));
                            items.extend(recovery.push(v, std::time::Instant::now()))
                        }
                        Err(e) => {
                            tracing::warn!("{e}");
                            tokio::time::sleep(poll).await;
                        }
                    },
                    _ = stop.wait_for(|s| *s) => {}
                }
            }
        }
        let mut ready = Vec::with_capacity(items.len());
        for it in items {
            ready.extend(reorder.push(it));
        }
        ready.extend(reorder.expired());
        let items = ready;
        if items.is_empty() {
            proc.absorb_shared();
            if nats.is_none() || reorder.held() > 0 {
                tokio::select! {
                    _ = tokio::time::sleep(poll) => {}
                    _ = stop.wait_for(|s| *s) => {}
                }
            }
        } else {
            let excl_now = stats.exclusion_changes.load(Ordering::Relaxed);
            if excl_now != excl_seen {
                // The console changed the exclusions: in force for every batch read after.
                excl_seen = excl_now;
                if let Err(e) = proc.reload_exclusions().await {
                    tracing::warn!("exclusions: {e}");
                }
            }
            let acks = proc.apply(items).await.map_err(|e| {
                format!(
                    "{e}; nothing of this group was acknowledged, it comes again after a restart"
                )
            })?;
            for a in acks {
                match a {
                    Ack::File { path, remove } => {
                        if let Some(d) = dirs.as_mut() {
                            d.done(path, remove)
                        }
                    }
                    Ack::Nats(m) => {
                        if let Err(e) = m.ack().await {
                            tracing::warn!(
                                "JetStream ack: {e} (the batch comes again and is skipped)"
                            );
                        }
                    }
                    Ack::NatsTerm(m) => {
                        let _ = m.ack_with(jetstream::AckKind::Term).await;
                    }
                }
            }
        }
        if last_excl.elapsed() >= Duration::from_secs(10) {
            last_excl = std::time::Instant::now();
            // Alert updates the engine holds back (counts, latest evidence) land every 10 s.
            if let Err(e) = proc.flush().await {
                return Err(format!(
                    "{e}; the engine's state is rebuilt after a restart"
                ));
            }
            if let Err(e) = proc.reload_exclusions().await {
                tracing::warn!("exclusions: {e}");
            }
        }
        if last_health.elapsed() >= Duration::from_secs(10) {
            last_health = std::time::Instant::now();
            if let Err(e) = silent_sensors(&store, cfg.health.silent_after).await {
                tracing::warn!("sensor health: {e}");
            }
        }
        if last_prune.elapsed() >= Duration::from_secs(600) {
            last_prune = std::time::Instant::now();
            match proc.prune().await {
                Ok(n) if n > 0 => tracing::info!(batches = n, "old batch bodies pruned"),
                Ok(_) => {}
                Err(e) => tracing::warn!("prune: {e}"),
            }
        }
    }
    tracing::info!("stopping: committing what the engine holds");
    proc.flush().await.map_err(|e| e.to_string())?;
    let _ = http_stop_tx.send(true);
    if let Some(h) = http {
        let _ = h.await;
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Raises a health alert for each sensor silent longer than `after` seconds (once per silence).
///
/// The alert has RECORDS.md's `alert` shape with `phase` = `health`, which is not one of
/// RECORDS.md's attack phases: it is the center's own alert, not a detection's, stored and
/// shown by the center only and never published as a record (see the README's center section).
pub async fn silent_sensors(store: &Store, after: i64) -> Result<(), String> {
    for (id, host, last_seen) in store.newly_silent(after).await.map_err(|e| e.to_string())? {
        let minutes = (now_secs() - last_seen) / 60;
        let body = serde_json::json!({
            "type": "alert",
            "id": format!("sensor_silent-{id}-{last_seen}"),
            "detection": "sensor_silent",
            "title": "Sensor silent",
            "severity": "medium",
            "phase": "health",
            "ts": last_seen as f64,
            "last_ts": last_seen as f64,
            "summary": format!("Sensor {id} on {host} has sent nothing for {minutes} minutes (limit {after} s): its DC's activity is not being watched."),
            "sensors": [id.clone()],
            "count": 1,
        });
        let a = AlertWrite {
            id: format!("sensor_silent-{id}-{last_seen}"),
            detection: "sensor_silent".into(),
            title: "Sensor silent".into(),
            severity: "medium".into(),
            phase: "health".into(),
            ts: last_seen as f64,
            last_ts: last_seen as f64,
            count: 1,
            summary: body["summary"].as_str().unwrap_or_default().to_string(),
            source_ip: None,
            source_host: Some(host.clone()),
            source_user: None,
            sensors: vec![id.clone()],
            body: body.to_string(),
            entities: vec![],
        };
        store.put_alert(&a).await.map_err(|e| e.to_string())?;
        store
            .mark_silent_alerted(&id)
            .await
            .map_err(|e| e.to_string())?;
        tracing::warn!(sensor = %id, minutes, "sensor silent: health alert raised");
    }
    Ok(())
}

/// This center as the facts it shares name it: its consumer, host and process, and start time
/// (centers may share a consumer name to share its work).
fn center_origin(consumer: &str) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{consumer}/{}/{}/{nanos}", host.trim(), std::process::id())
}
