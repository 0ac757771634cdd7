//! whiten's side of `cargo xtask bench-gain`: the gain-modulation models' learning steps
//! (issue #15, item 5), timed on the cases of the spec's speed line, beside a numpy rewrite of
//! the authors' steps (`authors_gain.py`, in this folder) on the same work.
//!
//! ```text
//! gain_side_by_side cases DIR           # writes DIR/<case>.json: sizes, W, C, g0, rates, steps
//! gain_side_by_side run CASE.json REPS  # runs the case REPS times, prints one JSON line
//! ```
//!
//! Both sides read the same case file (frame or initial synapses, covariances, initial gains,
//! rates, steps, batch) and run the same loop: per step, draw the batch `x = C^{1/2} xi`
//! (online cases; each side with its own generator) and take one learning step. The offline
//! cases are deterministic, so both sides must end in the same state (the xtask compares it).
//! The printed JSON has the steps per second (thread CPU time and wall time) and the final
//! gains and synapses.

// A command-line program: its JSON lines on stdout are its output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::Instant;

use faer::Mat;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde_json::{Value, json};
use whiten_core::gain::{
    GainNetwork, MultiTimescaleNetwork, SeparateSynapsesNetwork, SyntheticContexts, frame,
};

/// One benchmark case, as written to its JSON file.
struct Case {
    name: &'static str,
    /// `a_online`, `a_offline`, `b_online`, `b_offline` or `b_alg3`.
    model: &'static str,
    /// The frame (A), the synapses `W` (B) or `W_nr` (Algorithm 3).
    w: Mat<f64>,
    /// `W_rn` (Algorithm 3 only).
    wrn: Option<Mat<f64>>,
    /// The contexts' covariances (one for paper A's cases).
    cs: Vec<Mat<f64>>,
    g0: Vec<f64>,
    eta_g: f64,
    eta_w: f64,
    steps: usize,
    batch: usize,
    /// Steps per context (B's cases cycle through `cs`).
    per_context: usize,
    /// The spec's measurement of the authors' code, steps per second.
    authors: f64,
}

fn mat_json(m: &Mat<f64>) -> Value {
    json!(
        (0..m.nrows())
            .map(|i| (0..m.ncols()).map(|j| m[(i, j)]).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    )
}

fn mat_of(v: &Value) -> Mat<f64> {
    let rows: Vec<Vec<f64>> = v
        .as_array()
        .expect("matrix")
        .iter()
        .map(|r| {
            r.as_array()
                .expect("row")
                .iter()
                .map(|x| x.as_f64().expect("number"))
                .collect()
        })
        .collect();
    Mat::from_fn(rows.len(), rows[0].len(), |i, j| rows[i][j])
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("list")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// `Q diag(exp(0.1 (linspace(-3, 3, n) + eps))) Q^T`, the spectrum of the spec's Fig 3/4.
fn spec_covariance(n: usize, rng: &mut ChaCha8Rng) -> Mat<f64> {
    let q = whiten_core::cov::haar_orthogonal(n, rng);
    let s: Vec<f64> = (0..n)
        .map(|i| {
            let l = if n == 1 {
                0.0
            } else {
                -3.0 + 6.0 * i as f64 / (n - 1) as f64
            };
            let eps: f64 = StandardNormal.sample(rng);
            (0.1 * (l + eps)).exp()
        })
        .collect();
    let qs = Mat::from_fn(n, n, |i, j| q[(i, j)] * s[j]);
    let c = &qs * q.transpose();
    Mat::from_fn(n, n, |i, j| 0.5 * (c[(i, j)] + c[(j, i)]))
}

/// Random covariances of spectral norm 10 with condition number below 20 (the spec's
/// image-patch contexts are kept when cond(C + 1e-3 I) < 20).
fn patch_like(n: usize, count: usize, rng: &mut ChaCha8Rng) -> Vec<Mat<f64>> {
    (0..count)
        .map(|_| {
            let q = whiten_core::cov::haar_orthogonal(n, rng);
            let s: Vec<f64> = (0..n)
                .map(|i| 10.0 * (-(i as f64) / (n as f64 - 1.0) * 19f64.ln()).exp())
                .collect();
            let qs = Mat::from_fn(n, n, |i, j| q[(i, j)] * s[j]);
            let c = &qs * q.transpose();
            Mat::from_fn(n, n, |i, j| 0.5 * (c[(i, j)] + c[(j, i)]))
        })
        .collect()
}

fn cases() -> Vec<Case> {
    let mut rng = ChaCha8Rng::seed_from_u64(20231);
    let mut out = Vec::new();
    // Spec test 1, online: Mercedes frame, C = diag(4, 1), g0 = 0, eta = 1e-2, batch 1.
    out.push(Case {
        name: "A online, N = 2, K = 3, batch 1",
        model: "a_online",
        w: frame::mercedes(),
        cs: vec![Mat::from_fn(2, 2, |i, j| match (i, j) {
            (0, 0) => 4.0,
            (1, 1) => 1.0,
            _ => 0.0,
        })],
        g0: vec![0.0; 3],
        eta_g: 1e-2,
        eta_w: 0.0,
        steps: 50_000,
        batch: 1,
        per_context: 50_000,
        authors: 17e3,
        wrn: None,
    });
    // Fig 4's size: N = 6, K = 21, offline, eta = 1e-3.
    let c6 = spec_covariance(6, &mut rng);
    out.push(Case {
        name: "A offline, N = 6, K = 21",
        model: "a_offline",
        w: frame::random_unit(6, 21, &mut rng).expect("frame"),
        cs: vec![c6],
        g0: vec![0.0; 21],
        eta_g: 1e-3,
        eta_w: 0.0,
        steps: 20_000,
        batch: 1,
        per_context: 20_000,
        authors: 26e3,
        wrn: None,
    });
    // The conv1d appendix: N = 10, K = 19, C = A A^T + 1e-4 I, eta = 3e-2, g0 = 0.
    let a = Mat::from_fn(10, 10, |_, _| -> f64 { StandardNormal.sample(&mut rng) });
    let aat = &a * a.transpose();
    let c10 = Mat::from_fn(10, 10, |i, j| {
        0.5 * (aat[(i, j)] + aat[(j, i)]) + if i == j { 1e-4 } else { 0.0 }
    });
    out.push(Case {
        name: "A offline conv1d, N = 10, K = 19",
        model: "a_offline",
        w: frame::conv_1d(10, 2).expect("conv frame"),
        cs: vec![c10],
        g0: vec![0.0; 19],
        eta_g: 3e-2,
        eta_w: 0.0,
        steps: 10_000,
        batch: 1,
        per_context: 10_000,
        authors: 10.5e3,
        wrn: None,
    });
    // B's synthetic online run: N = K = 2, eta_g = 5e-2, eta_w = 1e-5, batch 1.
    let ctx = SyntheticContexts::generate(2, 64, 4.0, &mut rng).expect("contexts");
    let w0 = frame::random_unit(2, 2, &mut rng).expect("W0");
    out.push(Case {
        name: "B online, N = K = 2, batch 1",
        model: "b_online",
        w: w0,
        cs: ctx.covariances.clone(),
        g0: vec![1.0; 2],
        eta_g: 5e-2,
        eta_w: 1e-5,
        steps: 65_536,
        batch: 1,
        per_context: 1024,
        authors: 18.5e3,
        wrn: None,
    });
    // B's images run, offline joint: N = K = 25, eta_g = 0.5, eta_w = 5e-2, 50 steps per context.
    let cs = patch_like(25, 44, &mut rng);
    let q = whiten_core::cov::haar_orthogonal(25, &mut rng);
    out.push(Case {
        name: "B offline joint, N = K = 25",
        model: "b_offline",
        w: q,
        cs,
        g0: vec![0.0; 25],
        eta_g: 0.5,
        eta_w: 5e-2,
        steps: 2_000,
        batch: 1,
        per_context: 50,
        authors: 8.5e3,
        wrn: None,
    });
    // Paper B's appendix Algorithm 3 (separate non-negative synapses W_rn, W_nr, rectified
    // gains, multiplier m) on B's synthetic contexts: N = K = 2, batch 1.
    let ctx = SyntheticContexts::generate(2, 64, 4.0, &mut rng).expect("contexts");
    let net = SeparateSynapsesNetwork::random(2, vec![0.5; 2], &mut rng).expect("network");
    out.push(Case {
        name: "B Algorithm 3, N = K = 2, batch 1",
        model: "b_alg3",
        w: net.wnr().to_owned(),
        wrn: Some(net.wrn().to_owned()),
        cs: ctx.covariances,
        g0: vec![0.5; 2],
        eta_g: 2e-2,
        eta_w: 1e-3,
        steps: 65_536,
        batch: 1,
        per_context: 1024,
        authors: 15e3,
    });
    out
}

fn write_cases(dir: &str) {
    for (i, c) in cases().iter().enumerate() {
        let v = json!({
            "name": c.name,
            "model": c.model,
            "W": mat_json(&c.w),
            "Wrn": c.wrn.as_ref().map(mat_json),
            "C": c.cs.iter().map(mat_json).collect::<Vec<_>>(),
            "g0": c.g0,
            "eta_g": c.eta_g,
            "eta_w": c.eta_w,
            "steps": c.steps,
            "batch": c.batch,
            "per_context": c.per_context,
            "authors": c.authors,
        });
        let path = std::path::Path::new(dir).join(format!("case{i}.json"));
        std::fs::write(&path, v.to_string()).expect("write case");
        println!("{}", path.display());
    }
}

/// CPU time of this thread in seconds (`/proc/thread-self/schedstat`), 0 where unavailable.
fn thread_cpu() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0.0, |ns| ns as f64 * 1e-9)
}

/// `C^{1/2}` of each context (symmetric square root), to draw `x = C^{1/2} xi`.
fn roots(cs: &[Mat<f64>]) -> Vec<Mat<f64>> {
    cs.iter()
        .map(|c| whiten_core::cov::sym_sqrt(c.as_ref()).expect("C^{1/2}"))
        .collect()
}

/// Runs one case once from its initial state: `(final W, final g)`.
fn run_once(v: &Value, rng: &mut ChaCha8Rng) -> (Mat<f64>, Vec<f64>) {
    let model = v["model"].as_str().expect("model");
    let w = mat_of(&v["W"]);
    let cs: Vec<Mat<f64>> = v["C"].as_array().expect("C").iter().map(mat_of).collect();
    let g0 = floats(&v["g0"]);
    let (eta_g, eta_w) = (
        v["eta_g"].as_f64().expect("eta_g"),
        v["eta_w"].as_f64().expect("eta_w"),
    );
    let steps = v["steps"].as_u64().expect("steps") as usize;
    let batch = v["batch"].as_u64().expect("batch") as usize;
    let per = v["per_context"].as_u64().expect("per_context") as usize;
    let n = w.nrows();
    let mut x = Mat::<f64>::zeros(n, batch);
    let mut xi = vec![0.0; n];
    // x = C^{1/2} xi, column by column, into the preallocated batch.
    let mut draw = |root: &Mat<f64>, x: &mut Mat<f64>, rng: &mut ChaCha8Rng| {
        for t in 0..batch {
            for v in xi.iter_mut() {
                *v = StandardNormal.sample(rng);
            }
            for i in 0..n {
                x[(i, t)] = (0..n).map(|j| root[(i, j)] * xi[j]).sum();
            }
        }
    };
    match model {
        "a_online" | "a_offline" => {
            let mut net = GainNetwork::new(w, g0).expect("network");
            let root = roots(&cs[..1]).remove(0);
            for _ in 0..steps {
                if model == "a_online" {
                    draw(&root, &mut x, rng);
                    net.online_step(x.as_ref(), eta_g).expect("step");
                } else {
                    net.offline_step(cs[0].as_ref(), eta_g).expect("step");
                }
            }
            (net.w().to_owned(), net.gains().to_vec())
        }
        "b_alg3" => {
            let mut net = SeparateSynapsesNetwork::new(mat_of(&v["Wrn"]), w, g0).expect("network");
            let rts = roots(&cs);
            for t in 0..steps {
                draw(&rts[(t / per) % cs.len()], &mut x, rng);
                net.online_step(x.as_ref(), eta_g, eta_w).expect("step");
            }
            (net.wnr().to_owned(), net.gains().to_vec())
        }
        _ => {
            let mut net = MultiTimescaleNetwork::new(w, g0).expect("network");
            let rts = if model == "b_online" {
                roots(&cs)
            } else {
                Vec::new()
            };
            for t in 0..steps {
                let c = (t / per) % cs.len();
                if model == "b_online" {
                    draw(&rts[c], &mut x, rng);
                    net.online_step(x.as_ref(), eta_g, eta_w).expect("step");
                } else {
                    net.offline_step(cs[c].as_ref(), eta_g, eta_w)
                        .expect("step");
                }
            }
            (net.w().to_owned(), net.gains().to_vec())
        }
    }
}

fn run(path: &str, reps: usize) {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("case file")).expect("JSON");
    let steps = v["steps"].as_u64().expect("steps") as f64;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut wall = Vec::new();
    let cpu0 = thread_cpu();
    let mut last = None;
    for _ in 0..reps.max(1) {
        let t0 = Instant::now();
        last = Some(std::hint::black_box(run_once(&v, &mut rng)));
        wall.push(t0.elapsed().as_secs_f64());
    }
    let cpu = (thread_cpu() - cpu0) / wall.len() as f64;
    let (w, g) = last.expect("one run");
    println!(
        "{}",
        json!({
            "steps_per_s_cpu": steps / cpu,
            "steps_per_s_wall": wall.iter().map(|t| steps / t).collect::<Vec<_>>(),
            "g": g,
            "W": mat_json(&w),
        })
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("cases") => write_cases(args.get(2).expect("DIR")),
        Some("run") => run(
            args.get(2).expect("CASE.json"),
            args.get(3).and_then(|r| r.parse().ok()).unwrap_or(1),
        ),
        _ => {
            eprintln!("usage: gain_side_by_side cases DIR | run CASE.json [REPS]");
            std::process::exit(2);
        }
    }
}
