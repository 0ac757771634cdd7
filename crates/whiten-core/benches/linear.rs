//! Benchmarks of paper 1's linear networks at n = 10: batch responses (T = 1000), offline
//! steps and single-sample online steps of both networks.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use faer::Mat;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use whiten_core::cov::{GaussianSource, covariance_with_spectrum, haar_orthogonal, logspace};
use whiten_core::linear::{DirectNetwork, InterneuronNetwork, WhiteningNetwork};

const N: usize = 10;

fn setup() -> (Mat<f64>, GaussianSource, DirectNetwork, InterneuronNetwork) {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let q = haar_orthogonal(N, &mut rng);
    let c = covariance_with_spectrum(q.as_ref(), &logspace(1.0, 10.0, N));
    let src = GaussianSource::new(c.as_ref()).expect("C is positive definite");
    let inet = InterneuronNetwork::generic(N, 2 * N, 2.0, &mut rng).expect("full rank");
    let dnet = DirectNetwork::from_interneuron(&inet).expect("positive definite");
    (c, src, dnet, inet)
}

fn bench_linear(cr: &mut Criterion) {
    let (c, src, dnet, inet) = setup();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let x = src.sample(1000, &mut rng);

    cr.bench_function("respond/direct n=10 T=1000", |b| {
        b.iter(|| black_box(dnet.respond(black_box(x.as_ref())).unwrap()))
    });
    cr.bench_function("respond/interneuron n=10 k=20 T=1000", |b| {
        b.iter(|| black_box(inet.respond(black_box(x.as_ref())).unwrap()))
    });

    // Steps mutate the network: each iteration starts from a fresh clone (setup not timed).
    cr.bench_function("offline_step/direct n=10", |b| {
        b.iter_batched_ref(
            || dnet.clone(),
            |net| net.offline_step(black_box(c.as_ref()), 0.05).unwrap(),
            BatchSize::SmallInput,
        )
    });
    cr.bench_function("offline_step/interneuron n=10 k=20", |b| {
        b.iter_batched_ref(
            || inet.clone(),
            |net| net.offline_step(black_box(c.as_ref()), 0.05).unwrap(),
            BatchSize::SmallInput,
        )
    });

    let x1 = x.as_ref().subcols(0, 1);
    cr.bench_function("online_step/direct n=10 (1 sample)", |b| {
        b.iter_batched_ref(
            || dnet.clone(),
            |net| net.online_step(black_box(x1), 0.01).unwrap(),
            BatchSize::SmallInput,
        )
    });
    cr.bench_function("online_step/interneuron n=10 k=20 (1 sample)", |b| {
        b.iter_batched_ref(
            || inet.clone(),
            |net| net.online_step(black_box(x1), 0.01).unwrap(),
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, bench_linear);
criterion_main!(benches);
