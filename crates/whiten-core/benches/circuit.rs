//! Benchmarks of paper 2's circuit: learning iterations per second (batch 10; 1D, and 2D with
//! K = 3) and responses per second (1D, and 2D with K = 3), on pregenerated, seeded,
//! heavy-tailed synthetic signals (generalised Gaussian, beta = 0.5, unit variance).
//! The authors' Python reference: 548 it/s (1D), 117 it/s (2D K=3), 7,870 responses/s (1D),
//! 2,395 responses/s (2D K=3).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::Gamma;
use std::hint::black_box;
use whiten_core::circuit::{Circuit, LearningRates};
use whiten_core::special::gamma;

const BATCH: usize = 10;
const POOL: usize = 100_000;

/// Unit-variance generalised Gaussian samples with shape `beta`.
fn gg_samples(beta: f64, count: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let alpha = (gamma(1.0 / beta) / gamma(3.0 / beta)).sqrt();
    let dist = Gamma::new(1.0 / beta, 1.0).unwrap();
    (0..count)
        .map(|_| {
            let m: f64 = rng.sample(dist);
            let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
            sign * alpha * m.powf(1.0 / beta)
        })
        .collect()
}

/// A circuit after some reference learning on the pool, so g and theta are realistic.
fn warmed(n: usize, k: usize, theta_base: f64, pool: &[f64], rates: &LearningRates) -> Circuit {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut c = Circuit::reference_init(n, k, theta_base, &mut rng).unwrap();
    for b in pool.chunks_exact(n * BATCH).take(2_000) {
        c.learn_step(b, rates).unwrap();
    }
    c
}

fn bench_learning(cr: &mut Criterion) {
    let mut group = cr.benchmark_group("circuit_learning");
    group.throughput(Throughput::Elements(1));
    for (name, n, k, theta_base, rates) in [
        ("1d_batch10", 1, 1, 2.2, LearningRates::REFERENCE_1D),
        ("2d_k3_batch10", 2, 3, 2.3, LearningRates::REFERENCE_2D),
    ] {
        let pool = gg_samples(0.5, POOL * n, 1);
        let mut c = warmed(n, k, theta_base, &pool, &rates);
        let mut batches = pool.chunks_exact(n * BATCH).cycle();
        group.bench_function(name, |b| {
            b.iter(|| {
                let batch = batches.next().unwrap();
                black_box(c.learn_step(black_box(batch), &rates).unwrap());
            })
        });
    }
    group.finish();
}

fn bench_responses(cr: &mut Criterion) {
    let mut group = cr.benchmark_group("circuit_responses");
    const CHUNK: usize = 1_000;
    group.throughput(Throughput::Elements(CHUNK as u64));
    for (name, n, k, theta_base, rates) in [
        ("1d", 1, 1, 2.2, LearningRates::REFERENCE_1D),
        ("2d_k3", 2, 3, 2.3, LearningRates::REFERENCE_2D),
    ] {
        let pool = gg_samples(0.5, POOL * n, 2);
        let c = warmed(n, k, theta_base, &pool, &rates);
        let mut chunks = pool.chunks_exact(n * CHUNK).cycle();
        let mut r = vec![0.0; n * CHUNK];
        group.bench_function(name, |b| {
            b.iter(|| {
                let s = chunks.next().unwrap();
                c.respond_batch(black_box(s), &mut r).unwrap();
                black_box(&r);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_learning, bench_responses);
criterion_main!(benches);
