//! Benchmarks of paper 2's signal pipeline at its real size (512 x 512): steerable-pyramid
//! band, dead-leaves generation, mutual information of all pairs at d = 2, and the
//! generalised Gaussian fit of 262,144 samples.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use whiten_core::signal::{DeadLeavesParams, Pyramid, dead_leaves, pairs_2d, signal_1d};
use whiten_core::stats::{MI_BIN_WIDTH, fit_generalized_gaussian, mutual_information, zca_pairs};

fn signal_benches(c: &mut Criterion) {
    let params = DeadLeavesParams::default();
    let image = dead_leaves(&params, &mut ChaCha8Rng::seed_from_u64(0)).expect("dead leaves");
    let pyramid = Pyramid::new(512, 512).expect("pyramid");
    let band = pyramid.band(&image, 0).expect("band");
    let signal = signal_1d(&band);
    let pairs = pairs_2d(&band, 512, 512, 2).expect("pairs");

    c.bench_function("pyramid_plan_512", |b| {
        b.iter(|| Pyramid::new(512, 512).expect("pyramid"))
    });
    c.bench_function("pyramid_band_512", |b| {
        b.iter(|| pyramid.band(black_box(&image), 0).expect("band"))
    });
    c.bench_function("pyramid_3_bands_512", |b| {
        b.iter(|| pyramid.bands(black_box(&image)).expect("bands"))
    });
    c.bench_function("dead_leaves_512", |b| {
        let mut seed = 0;
        b.iter(|| {
            seed += 1;
            dead_leaves(&params, &mut ChaCha8Rng::seed_from_u64(seed)).expect("dead leaves")
        })
    });
    c.bench_function("pairs_2d_d2_512", |b| {
        b.iter(|| pairs_2d(black_box(&band), 512, 512, 2).expect("pairs"))
    });
    c.bench_function("mi_all_pairs_d2", |b| {
        b.iter(|| mutual_information(black_box(&pairs), MI_BIN_WIDTH, 1).expect("mi"))
    });
    c.bench_function("zca_pairs_d2", |b| {
        b.iter(|| zca_pairs(black_box(&pairs), true).expect("zca"))
    });
    c.bench_function("gg_fit_262144", |b| {
        b.iter(|| fit_generalized_gaussian(black_box(&signal)).expect("fit"))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = signal_benches
}
criterion_main!(benches);
