//! Benchmark of the two gradient flows at n = k in {10, 50, 200, 500} (spec paper 1, section 5;
//! issue #10): Dopri5, Tsit5 and DOP853 (n = 10) or DOP853 and Dopri5 (larger n) until
//! `||M - C^{1/2}||_op < 1e-2`, rtol 1e-8, atol 1e-10, from `M_0 = 100 I` and
//! `W_0 = 10 [I | 0]`.
//!
//! Reference (scipy RK45 with the same event, n = 10): direct 82 ms / 710 rhs evaluations,
//! interneurons 49 ms / 464 rhs evaluations. `cargo xtask bench-flows` compares with scipy in
//! the same run at every size.
//!
//! Before the criterion groups, every case is also timed by hand, robust to a shared machine:
//! batches of repetitions timed with `Instant`, reporting the minimum and median per-run wall
//! time over the batches and the thread's CPU time per run (Linux `schedstat`).

#![allow(clippy::print_stdout)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use faer::Mat;
use rand::RngExt;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use whiten_ode::flows::{Below, DirectFlow, InterneuronFlow, Layout, SqrtDistance};
use whiten_ode::{EventResult, Method, Options, integrate_until_event};

const SIZES: [usize; 4] = [10, 50, 200, 500];
const EPS: f64 = 1e-2;
const T_MAX: f64 = 1e3;

/// Haar-random orthogonal matrix: QR of a Gaussian matrix, columns of Q multiplied by the
/// signs of R's diagonal.
fn haar_orthogonal(n: usize, rng: &mut ChaCha8Rng) -> Mat<f64> {
    let g = Mat::from_fn(n, n, |_, _| rng.sample::<f64, _>(StandardNormal));
    let qr = g.qr();
    let (q, r) = (qr.compute_Q(), qr.R());
    Mat::from_fn(n, n, |i, j| q[(i, j)] * r[(j, j)].signum())
}

/// `C = Q diag(lambda) Q^T` (`n x n`), lambda log-spaced in [1, 100].
fn covariance(n: usize, seed: u64) -> Mat<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let q = haar_orthogonal(n, &mut rng);
    let lambda: Vec<f64> = (0..n)
        .map(|i| 10f64.powf(2.0 * i as f64 / (n - 1) as f64))
        .collect();
    Mat::from_fn(n, n, |i, j| {
        (0..n).map(|p| q[(i, p)] * lambda[p] * q[(j, p)]).sum()
    })
}

fn opts() -> Options {
    Options::with_tolerances(1e-8, 1e-10)
}

fn run_direct(c: &Mat<f64>, method: Method) -> EventResult {
    let n = c.nrows();
    // M_0 = 100 I
    let m0: Vec<f64> = (0..n * n)
        .map(|p| if p % (n + 1) == 0 { 100.0 } else { 0.0 })
        .collect();
    let event = Below::new(SqrtDistance::new(c.as_ref(), Layout::M), EPS);
    integrate_until_event(
        DirectFlow::new(c.as_ref()),
        method,
        0.0,
        &m0,
        T_MAX,
        &opts(),
        event,
    )
    .expect("direct flow failed")
}

fn run_interneurons(c: &Mat<f64>, method: Method) -> EventResult {
    let (n, k) = (c.nrows(), c.nrows());
    // W_0 = 10 [I | 0], column-major n x k
    let w0: Vec<f64> = (0..n * k)
        .map(|p| if p % n == p / n { 10.0 } else { 0.0 })
        .collect();
    let event = Below::new(SqrtDistance::new(c.as_ref(), Layout::W { k }), EPS);
    integrate_until_event(
        InterneuronFlow::new(c.as_ref(), k),
        method,
        0.0,
        &w0,
        T_MAX,
        &opts(),
        event,
    )
    .expect("interneuron flow failed")
}

fn report(name: &str, r: &EventResult) {
    let s = &r.stats;
    println!(
        "{name}: rhs evaluations {}, accepted {}, rejected {}, event time {:?}",
        s.rhs_evals,
        s.accepted_steps,
        s.rejected_steps,
        r.event_time()
    );
}

/// Methods timed at size `n`: all three at n = 10, the two of the scipy comparison above.
fn methods(n: usize) -> &'static [Method] {
    if n <= 10 {
        &[Method::Dopri5, Method::Tsit5, Method::Dop853]
    } else {
        &[Method::Dopri5, Method::Dop853]
    }
}

/// CPU time of this thread so far in nanoseconds (first field of
/// `/proc/thread-self/schedstat`), if available.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Per-run times in microseconds: (min wall, median wall, CPU) over `batches` batches of
/// repetitions, each batch lasting about `batch_ms`.
fn robust_time(mut f: impl FnMut(), batches: usize, batch_ms: f64) -> (f64, f64, Option<f64>) {
    // Calibrate the repetitions per batch.
    let t0 = Instant::now();
    let mut calib = 0usize;
    while t0.elapsed().as_secs_f64() < 0.02 {
        f();
        calib += 1;
    }
    let per_run = t0.elapsed().as_secs_f64() / calib as f64;
    let reps = ((batch_ms * 1e-3 / per_run).ceil() as usize).max(1);
    let mut walls = Vec::with_capacity(batches);
    let cpu0 = thread_cpu_ns();
    for _ in 0..batches {
        let t = Instant::now();
        for _ in 0..reps {
            f();
        }
        walls.push(t.elapsed().as_secs_f64() * 1e6 / reps as f64);
    }
    let cpu = match (cpu0, thread_cpu_ns()) {
        (Some(a), Some(b)) => Some((b - a) as f64 * 1e-3 / (reps * batches) as f64),
        _ => None,
    };
    walls.sort_by(f64::total_cmp);
    (walls[0], walls[walls.len() / 2], cpu)
}

fn bench_flows(cr: &mut Criterion) {
    for n in SIZES {
        let c = covariance(n, 2023);
        for &method in methods(n) {
            report(&format!("n{n}/direct/{method}"), &run_direct(&c, method));
            report(
                &format!("n{n}/interneurons/{method}"),
                &run_interneurons(&c, method),
            );
        }
        // Batches long enough for a few runs at the large sizes.
        let (batches, batch_ms) = if n <= 50 { (15, 40.0) } else { (5, 1.0) };
        println!("n = {n}: per-run time, {batches} batches (us): min wall / median wall / CPU");
        for &method in methods(n) {
            let (lo, med, cpu) = robust_time(
                || drop(black_box(run_direct(&c, method))),
                batches,
                batch_ms,
            );
            println!("n{n}/direct/{method}: {lo:.1} / {med:.1} / {cpu:.1?}");
            let (lo, med, cpu) = robust_time(
                || drop(black_box(run_interneurons(&c, method))),
                batches,
                batch_ms,
            );
            println!("n{n}/interneurons/{method}: {lo:.1} / {med:.1} / {cpu:.1?}");
        }
        let mut group = cr.benchmark_group(format!("flows_n{n}"));
        if n > 50 {
            group.sample_size(10);
        }
        for &method in methods(n) {
            group.bench_function(format!("direct/{method}"), |b| {
                b.iter(|| run_direct(black_box(&c), method))
            });
            group.bench_function(format!("interneurons/{method}"), |b| {
                b.iter(|| run_interneurons(black_box(&c), method))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench_flows);
criterion_main!(benches);
