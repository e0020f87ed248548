//! Criterion benchmark: one `/metrics` scrape's text, written by the sensor's own writer
//! (`daemon::metrics::render`: sum the threads' counters, format) against prometheus-client (the
//! same counters registered as its counter, gauge and family types, values stored from the same
//! snapshot, then `encoding::text::encode`). Prints the size of each text first.

use criterion::{criterion_group, criterion_main, Criterion};
use dcsensor::daemon::metrics::render;
use dcsensor::pipeline::Telemetry;
use dcsensor::stats::Counter;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter as PCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, &'static str)>;

/// The same metrics as `render` writes, kept in prometheus-client's types.
struct ViaCrate {
    registry: Registry,
    plain: Vec<(Counter, Option<PCounter>, Option<Gauge>)>,
    drops: Family<Labels, PCounter>,
    malformed: Family<Labels, PCounter>,
    by_type: Family<Labels, PCounter>,
    shed: Gauge,
}

impl ViaCrate {
    fn new() -> ViaCrate {
        let mut registry = Registry::with_prefix("dcsensor");
        let mut plain = Vec::new();
        for &c in Counter::ALL.iter().filter(|c| c.group().is_empty()) {
            if c.is_gauge() {
                let g = Gauge::default();
                registry.register(c.name(), c.help(), g.clone());
                plain.push((c, None, Some(g)));
            } else {
                let k = PCounter::default();
                registry.register(c.name(), c.help(), k.clone());
                plain.push((c, Some(k), None));
            }
        }
        let drops = Family::<Labels, PCounter>::default();
        registry.register("drops", "data not analysed, by cause", drops.clone());
        let malformed = Family::<Labels, PCounter>::default();
        registry.register(
            "malformed",
            "malformed messages, by protocol",
            malformed.clone(),
        );
        let by_type = Family::<Labels, PCounter>::default();
        registry.register(
            "records_by_type",
            "records emitted, by type",
            by_type.clone(),
        );
        let shed = Gauge::default();
        registry.register("shedding_level", "load shedding level", shed.clone());
        ViaCrate {
            registry,
            plain,
            drops,
            malformed,
            by_type,
            shed,
        }
    }

    fn scrape(&self, t: &Telemetry) -> String {
        use std::sync::atomic::Ordering::Relaxed;
        let snap = t.snapshot();
        for (c, k, g) in &self.plain {
            if let Some(k) = k {
                k.inner().store(snap.get(*c), Relaxed);
            }
            if let Some(g) = g {
                g.set(snap.get(*c) as i64);
            }
        }
        for &c in Counter::ALL {
            let fam = match c.group() {
                "drops" => (&self.drops, "cause"),
                "malformed" => (&self.malformed, "protocol"),
                _ => continue,
            };
            fam.0
                .get_or_create(&vec![(fam.1, c.name())])
                .inner()
                .store(snap.get(c), Relaxed);
        }
        for (ty, n) in t.records_by_type() {
            self.by_type
                .get_or_create(&vec![("type", ty)])
                .inner()
                .store(n, Relaxed);
        }
        self.shed.set(t.shed_level.load(Relaxed) as i64);
        let mut s = String::with_capacity(8 * 1024);
        encode(&mut s, &self.registry).unwrap();
        s
    }
}

fn bench(c: &mut Criterion) {
    let t = Telemetry::default();
    let via = ViaCrate::new();
    println!(
        "metrics text: own writer {} bytes, prometheus-client {} bytes",
        render(&t).len(),
        via.scrape(&t).len()
    );
    let mut g = c.benchmark_group("metrics");
    g.bench_function("render_own_writer", |b| b.iter(|| render(&t)));
    g.bench_function("render_prometheus_client", |b| b.iter(|| via.scrape(&t)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
