//! whiten's side of `cargo xtask bench-flows` (issue #10): the two gradient flows of paper 1
//! integrated until `||M - C^{1/2}||_op <= 1e-2`, timed per run, and the faer floor per
//! right-hand side. `scipy_flows.py` beside this file is scipy's side with the same interface;
//! the xtask runs both in turns on the same `C` and prints the table.
//!
//! ```text
//! side_by_side covariance N FILE      write C = Q diag(lambda) Q^T (Q Haar-random, seed 2023,
//!                                     lambda log-spaced in [1, 100]) as text
//! side_by_side run FLOW METHOD FILE SECONDS
//!                                     FLOW direct (M_0 = 100 I) or interneuron
//!                                     (W_0 = 10 [I | 0], k = n); METHOD dop853 or dopri5;
//!                                     rtol 1e-8, atol 1e-10; repeats for about SECONDS
//! side_by_side floor FILE SECONDS     one n x n inverse (Cholesky) plus two products in faer,
//!                                     preallocated: the dense cost of one rhs
//! side_by_side rhs FLOW FILE SECONDS  one rhs evaluation alone, at the state `10 I + C / 100`
//!                                     (M for the direct flow, W for the interneuron flow)
//! ```
//!
//! `run` sets the flow and its stopping measure up once (the Cholesky factor of `C`, `C^{1/2}`),
//! outside the timed runs, as scipy's side computes its `C^{1/2}` once outside its loop.
//! `run`, `floor` and `rhs` print one JSON line: per-run wall times and the mean thread CPU
//! time per run in seconds (`run` also the rhs evaluations and the event time).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::Instant;

use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use faer::linalg::cholesky::llt::{factor, inverse};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use whiten_ode::flows::{Below, DirectFlow, InterneuronFlow, Layout, SqrtDistance};
use whiten_ode::{EventResult, Method, Options, integrate_until_event};

const EPS: f64 = 1e-2;
const T_MAX: f64 = 1e4;

/// `C = Q diag(lambda) Q^T`, Q Haar-random orthogonal (QR of a Gaussian matrix, columns signed
/// by R's diagonal), lambda log-spaced in [1, 100].
fn covariance(n: usize, seed: u64) -> Mat<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let g = Mat::from_fn(n, n, |_, _| rng.sample::<f64, _>(StandardNormal));
    let qr = g.qr();
    let (q, r) = (qr.compute_Q(), qr.R());
    let q = Mat::from_fn(n, n, |i, j| q[(i, j)] * r[(j, j)].signum());
    let lambda: Vec<f64> = (0..n)
        .map(|i| 10f64.powf(2.0 * i as f64 / (n.max(2) - 1) as f64))
        .collect();
    let ql = Mat::from_fn(n, n, |i, j| q[(i, j)] * lambda[j]);
    let c = &ql * q.transpose();
    // Exactly symmetric.
    Mat::from_fn(n, n, |i, j| if i >= j { c[(i, j)] } else { c[(j, i)] })
}

fn read_c(path: &str) -> Mat<f64> {
    let text = std::fs::read_to_string(path).expect("cannot read C");
    let rows: Vec<Vec<f64>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(|x| x.parse().unwrap()).collect())
        .collect();
    let n = rows.len();
    Mat::from_fn(n, n, |i, j| rows[i][j])
}

/// CPU time of this thread in seconds (`/proc/thread-self/schedstat`), 0 where unavailable.
fn thread_cpu() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0.0, |ns| ns as f64 * 1e-9)
}

/// Runs `f` at least twice and until about `seconds` have passed: per-run wall times, and
/// the thread CPU time per run over the whole batch (the kernel updates a running thread's CPU
/// time only at scheduler ticks, too coarse for one short run).
fn repeat<T>(seconds: f64, mut f: impl FnMut() -> T) -> (Vec<f64>, f64, T) {
    let mut wall = Vec::new();
    let (start, cpu0) = (Instant::now(), thread_cpu());
    loop {
        let t0 = Instant::now();
        let r = std::hint::black_box(f());
        wall.push(t0.elapsed().as_secs_f64());
        if (wall.len() >= 2 && start.elapsed().as_secs_f64() >= seconds) || wall.len() >= 100_000 {
            return (wall.clone(), (thread_cpu() - cpu0) / wall.len() as f64, r);
        }
    }
}

/// One flow with its stopping measure, set up once (the Cholesky factor of `C`, the
/// eigendecomposition for `C^{1/2}`) and integrated many times, as scipy's side sets up its
/// `C^{1/2}` once outside its timed loop.
enum Setup {
    Direct(DirectFlow, SqrtDistance),
    Interneuron(InterneuronFlow, SqrtDistance),
}

impl Setup {
    fn new(c: &Mat<f64>, flow: &str) -> Self {
        let n = c.nrows();
        match flow {
            "direct" => Self::Direct(
                DirectFlow::new(c.as_ref()),
                SqrtDistance::new(c.as_ref(), Layout::M),
            ),
            "interneuron" => Self::Interneuron(
                InterneuronFlow::new(c.as_ref(), n),
                SqrtDistance::new(c.as_ref(), Layout::W { k: n }),
            ),
            other => panic!("unknown flow {other}"),
        }
    }

    /// Integrates from the flow's start (`M_0 = 100 I`, or `W_0 = 10 [I | 0]` with `k = n`)
    /// until `||M - C^{1/2}||_op <= EPS`.
    fn integrate(&mut self, method: Method) -> EventResult {
        let opts = Options::with_tolerances(1e-8, 1e-10);
        match self {
            Self::Direct(sys, measure) => {
                let n = sys.n();
                let m0: Vec<f64> = (0..n * n)
                    .map(|p| if p % (n + 1) == 0 { 100.0 } else { 0.0 })
                    .collect();
                let event = Below::new(measure, EPS);
                integrate_until_event(sys, method, 0.0, &m0, T_MAX, &opts, event)
            }
            Self::Interneuron(sys, measure) => {
                let (n, k) = (sys.n(), sys.k());
                let w0: Vec<f64> = (0..n * k)
                    .map(|p| if p % n == p / n { 10.0 } else { 0.0 })
                    .collect();
                let event = Below::new(measure, EPS);
                integrate_until_event(sys, method, 0.0, &w0, T_MAX, &opts, event)
            }
        }
        .expect("integration failed")
    }
}

/// One inverse of an `n x n` positive definite matrix by Cholesky and two products with
/// preallocated memory: `B = (M^{-1} C) M^{-1}`.
fn floor(c: &Mat<f64>, seconds: f64) -> (Vec<f64>, f64) {
    let n = c.nrows();
    let m = Mat::from_fn(n, n, |i, j| c[(i, j)] + if i == j { n as f64 } else { 0.0 });
    let (mut l, mut inv, mut a, mut b) = (
        Mat::<f64>::zeros(n, n),
        Mat::<f64>::zeros(n, n),
        Mat::<f64>::zeros(n, n),
        Mat::<f64>::zeros(n, n),
    );
    let mut mem = MemBuffer::new(StackReq::any_of(&[
        factor::cholesky_in_place_scratch::<f64>(n, Par::Seq, Default::default()),
        inverse::inverse_scratch::<f64>(n, Par::Seq),
    ]));
    let (wall, cpu, ()) = repeat(seconds, || {
        let stack = MemStack::new(&mut mem);
        l.copy_from(&m);
        factor::cholesky_in_place(
            l.as_mut(),
            Default::default(),
            Par::Seq,
            stack,
            Default::default(),
        )
        .expect("not positive definite");
        inverse::inverse(inv.as_mut(), l.as_ref(), Par::Seq, stack);
        matmul(
            a.as_mut(),
            Accum::Replace,
            inv.as_ref(),
            c.as_ref(),
            1.0,
            Par::Seq,
        );
        matmul(
            b.as_mut(),
            Accum::Replace,
            a.as_ref(),
            inv.as_ref(),
            1.0,
            Par::Seq,
        );
    });
    (wall, cpu)
}

/// One rhs evaluation of `flow` at the state `10 I + C / 100` (dense and generic, the same on
/// scipy's side), repeated for about `seconds`.
fn one_rhs(c: &Mat<f64>, flow: &str, seconds: f64) -> (Vec<f64>, f64) {
    use whiten_ode::System;
    let n = c.nrows();
    let y: Vec<f64> = (0..n * n)
        .map(|p| c[(p % n, p / n)] / 100.0 + if p % (n + 1) == 0 { 10.0 } else { 0.0 })
        .collect();
    let mut dy = vec![0.0; n * n];
    let mut sys: Box<dyn System> = match flow {
        "direct" => Box::new(DirectFlow::new(c.as_ref())),
        "interneuron" => Box::new(InterneuronFlow::new(c.as_ref(), n)),
        other => panic!("unknown flow {other}"),
    };
    let (wall, cpu, ()) = repeat(seconds, || sys.rhs(0.0, &y, &mut dy));
    assert!(dy.iter().all(|v| v.is_finite()), "rhs not finite");
    (wall, cpu)
}

fn list(v: &[f64]) -> String {
    let items: Vec<String> = v.iter().map(|x| format!("{x:e}")).collect();
    format!("[{}]", items.join(", "))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    match a.as_slice() {
        ["covariance", n, path] => {
            let c = covariance(n.parse().expect("N"), 2023);
            let mut text = String::new();
            for i in 0..c.nrows() {
                let row: Vec<String> = (0..c.ncols())
                    .map(|j| format!("{:.17e}", c[(i, j)]))
                    .collect();
                text.push_str(&row.join(" "));
                text.push('\n');
            }
            std::fs::write(path, text).expect("cannot write C");
        }
        ["run", flow, method, path, seconds] => {
            let method = match *method {
                "dop853" => Method::Dop853,
                "dopri5" => Method::Dopri5,
                other => panic!("unknown method {other}"),
            };
            let c = read_c(path);
            let mut setup = Setup::new(&c, flow);
            let (wall, cpu, r) = repeat(seconds.parse().expect("SECONDS"), || {
                setup.integrate(method)
            });
            println!(
                "{{\"wall\": {}, \"cpu\": {cpu:e}, \"rhs\": {}, \"t\": {:e}, \"event\": {}}}",
                list(&wall),
                r.stats.rhs_evals,
                r.t,
                r.event_time().is_some()
            );
        }
        ["floor", path, seconds] => {
            let c = read_c(path);
            let (wall, cpu) = floor(&c, seconds.parse().expect("SECONDS"));
            println!("{{\"wall\": {}, \"cpu\": {cpu:e}}}", list(&wall));
        }
        ["rhs", flow, path, seconds] => {
            let c = read_c(path);
            let (wall, cpu) = one_rhs(&c, flow, seconds.parse().expect("SECONDS"));
            println!("{{\"wall\": {}, \"cpu\": {cpu:e}}}", list(&wall));
        }
        _ => {
            eprintln!(
                "usage: side_by_side covariance N FILE | run FLOW METHOD FILE SECONDS | floor FILE SECONDS | rhs FLOW FILE SECONDS"
            );
            std::process::exit(2);
        }
    }
}
