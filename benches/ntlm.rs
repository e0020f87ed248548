//! Criterion benchmark: ntlm (placeholder until the decoder lands).
use criterion::{criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    c.bench_function("ntlm/placeholder", |b| {
        b.iter(|| std::hint::black_box(1u64))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
