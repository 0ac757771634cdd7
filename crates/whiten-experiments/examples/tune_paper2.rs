//! Scratch: compare paper-2 circuit settings over a set of images.
#![allow(clippy::print_stdout, missing_docs)]

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::path::Path;
use whiten_core::circuit::{Circuit, RobustSchedule, Schedule, Trainer};
use whiten_core::signal::{DeadLeavesParams, Image, Pyramid, dead_leaves, pairs_2d, signal_1d};
use whiten_core::stats::{
    MI_BIN_WIDTH, excess_kurtosis, ks_distance_normal, mutual_information, zca_pairs,
};
use whiten_experiments::images::{list_images, read_image};
use whiten_experiments::kinds::paper2::train_on;

struct Data {
    name: String,
    signal: Vec<f64>,
    pairs: Vec<[f64; 2]>,
    mi_zca: f64,
}

fn load(name: String, img: Image) -> Data {
    let img = img.centre_crop(512, 512).unwrap();
    let pyr = Pyramid::new(512, 512).unwrap();
    let mut band = pyr.band(&img, 0).unwrap();
    if let Some((_, p)) = name.split_once('^') {
        let p: f64 = p.parse().unwrap();
        band.iter_mut()
            .for_each(|v| *v = v.signum() * v.abs().powf(p));
    }
    let signal = signal_1d(&band);
    let pairs = pairs_2d(&band, 512, 512, 2).unwrap();
    let zca = zca_pairs(&pairs, false).unwrap();
    let mi_zca = mutual_information(&zca, MI_BIN_WIDTH, 10).unwrap();
    Data {
        name,
        signal,
        pairs,
        mi_zca,
    }
}

fn robust(eta_theta: f64, eta_w: f64) -> Trainer {
    Trainer {
        batch_size: 100,
        schedule: Schedule::Robust(RobustSchedule {
            eta_theta,
            eta_w,
            tolerance: std::env::var("TOL").map_or(0.005, |v| v.parse().unwrap()),
            max_iterations: 300_000,
            ..Default::default()
        }),
    }
}

fn fit_1d(d: &Data, cand: &str, seed: u64) -> (f64, f64, String) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut c, tr) = match cand {
        "learned" => (
            Circuit::reference_init(1, 1, 2.2, &mut rng).unwrap(),
            robust(0.01, 0.0),
        ),
        g if g.starts_with("gl:") => {
            let grid: Vec<f64> = g[3..].split(',').map(|v| v.parse().unwrap()).collect();
            let c = Circuit::reference_init(1, 1, 2.2, &mut rng).unwrap();
            (c.with_components(&grid).unwrap(), robust(0.01, 0.0))
        }
        g => {
            let grid: Vec<f64> = g.split(',').map(|v| v.parse().unwrap()).collect();
            let mut c = Circuit::reference_init(1, grid.len(), 2.2, &mut rng).unwrap();
            c.set_theta(&grid).unwrap();
            (c, robust(0.0, 0.0))
        }
    };
    let rep = train_on(&mut c, &tr, &d.signal, &mut rng, || false).unwrap();
    let mut r = vec![0.0; d.signal.len()];
    c.respond_batch(&d.signal, &mut r).unwrap();
    (
        excess_kurtosis(&r),
        ks_distance_normal(&r).unwrap(),
        format!(
            "it {} conv {} g {:?} th {:?}",
            rep.iterations,
            rep.converged,
            c.g(),
            c.theta()
        ),
    )
}

fn fit_2d(d: &Data, cand: &str, seed: u64) -> (f64, String) {
    if cand == "auto" {
        let mut best: Option<(f64, f64, String)> = None;
        for c in ["learned", "initial", "grid:1,3"] {
            let (mi, info, score) = fit_2d_inner(d, c, seed);
            if best.as_ref().is_none_or(|b| score < b.1) {
                best = Some((mi, score, format!("{c} score {score:.4} {info}")));
            }
        }
        let b = best.unwrap();
        return (b.0, b.2);
    }
    let (mi, info, _) = fit_2d_inner(d, cand, seed);
    (mi, info)
}

fn fit_2d_inner(d: &Data, cand: &str, seed: u64) -> (f64, String, f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let th0: f64 = std::env::var("THINIT").map_or(2.3, |v| v.parse().unwrap());
    let mut c = Circuit::reference_init(2, 3, th0, &mut rng).unwrap();
    let eq = std::env::var("EQUI").is_ok();
    let cand = cand.trim_start_matches("eq");
    if eq {
        let a0 = 0.3f64;
        let w: Vec<f64> = (0..3)
            .flat_map(|i| {
                let a = a0 + i as f64 * std::f64::consts::PI / 3.0;
                [a.cos(), a.sin()]
            })
            .collect();
        c = Circuit::new(
            2,
            3,
            w,
            c.g().to_vec(),
            c.theta().to_vec(),
            Default::default(),
        )
        .unwrap();
    }
    let etaw = if eq { 0.0 } else { 0.1 };
    if let Some(g) = cand.strip_prefix("gl:") {
        let grid: Vec<f64> = g.split(',').map(|v| v.parse().unwrap()).collect();
        let c = c.with_components(&grid).unwrap();
        return finish_2d(d, c, robust(0.01, etaw), &mut rng);
    }
    if let Some(g) = cand.strip_prefix("grid:") {
        let grid: Vec<f64> = g.split(',').map(|v| v.parse().unwrap()).collect();
        let c = c.with_components(&grid).unwrap();
        return finish_2d(d, c, robust(0.0, etaw), &mut rng);
    }
    let tr = match cand {
        "exact" => {
            let mut o = *c.options();
            o.b_derivative = whiten_core::circuit::BDerivative::Exact;
            c.set_options(o).unwrap();
            robust(0.01, 0.1)
        }
        "learned" => robust(
            0.01,
            if eq {
                0.0
            } else {
                std::env::var("ETAW").map_or(0.1, |v| v.parse().unwrap())
            },
        ),
        "initial" => robust(0.0, etaw),
        t => {
            let v: f64 = t.parse().unwrap();
            c.set_theta(&[v; 3]).unwrap();
            robust(0.0, etaw)
        }
    };
    finish_2d(d, c, tr, &mut rng)
}

fn finish_2d(d: &Data, mut c: Circuit, tr: Trainer, rng: &mut ChaCha8Rng) -> (f64, String, f64) {
    let flat: Vec<f64> = d.pairs.iter().flat_map(|p| [p[0], p[1]]).collect();
    let rep = train_on(&mut c, &tr, &flat, rng, || false).unwrap();
    let mut out = vec![0.0; flat.len()];
    c.respond_batch(&flat, &mut out).unwrap();
    let resp: Vec<[f64; 2]> = out.chunks_exact(2).map(|p| [p[0], p[1]]).collect();
    let mi = mutual_information(&resp, MI_BIN_WIDTH, 10).unwrap();
    let z = whiten_core::stats::gaussianise_marginals(&resp).unwrap();
    let score = mutual_information(&z, MI_BIN_WIDTH, 1).unwrap();
    let cv = whiten_core::stats::pair_covariance(&resp, true);
    (
        mi,
        format!(
            "cov {:.3?} it {} conv {} th {:.3?} g {:.4?} w {:.3?}",
            cv,
            rep.iterations,
            rep.converged,
            c.theta(),
            c.g(),
            c.w()
        ),
        score,
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args[1].clone();
    let cands: Vec<String> = args[2].split(';').map(String::from).collect();
    let seeds: Vec<u64> = args[3].split(',').map(|v| v.parse().unwrap()).collect();
    let mut data = vec![];
    for dir in ["../shared/data/images", "../shared/data/images-dev"] {
        for f in list_images(Path::new(dir)).unwrap() {
            let name = f.file_stem().unwrap().to_string_lossy().into_owned();
            data.push((name, read_image(&f).unwrap()));
        }
    }
    if std::env::var("SPARSE").is_ok() {
        let extra: Vec<_> = data
            .iter()
            .filter(|(n, _)| n == "camera" || n == "kodak-23")
            .map(|(n, i)| (format!("{n}^1.45"), i.clone()))
            .collect();
        data.extend(extra);
    }
    for s in [0u64, 1] {
        let mut rng = ChaCha8Rng::seed_from_u64(100 + s);
        data.push((
            format!("dl-{s}"),
            dead_leaves(&DeadLeavesParams::default(), &mut rng).unwrap(),
        ));
    }
    let filter = std::env::var("ONLY").ok();
    let data: Vec<Data> = data
        .into_par_iter()
        .filter(|(n, _)| filter.as_ref().is_none_or(|f| f.split(',').any(|x| x == n)))
        .map(|(n, i)| load(n, i))
        .collect();
    let mut jobs: Vec<(usize, String, u64)> = vec![];
    for i in 0..data.len() {
        for c in &cands {
            for &s in &seeds {
                jobs.push((i, c.clone(), s));
            }
        }
    }
    let res: Vec<String> = jobs
        .par_iter()
        .map(|(i, c, s)| {
            let d = &data[*i];
            if mode == "1d" {
                let (k, ks, info) = fit_1d(d, c, *s);
                let flag = if k.abs() < 0.15 && ks < 0.06 {
                    " "
                } else {
                    "X"
                };
                format!(
                    "{flag} {:10} {:14} s{} kurt {:+.3} ks {:.4}  {}",
                    d.name, c, s, k, ks, info
                )
            } else {
                let (mi, info) = fit_2d(d, c, *s);
                let ratio = mi / d.mi_zca;
                let ok = mi < d.mi_zca && (d.mi_zca < 0.1 || ratio <= 0.25);
                format!(
                    "{} {:10} {:10} s{} zca {:.4} mi {:.4} ratio {:.3}  {}",
                    if ok { " " } else { "X" },
                    d.name,
                    c,
                    s,
                    d.mi_zca,
                    mi,
                    ratio,
                    info
                )
            }
        })
        .collect();
    for r in res {
        println!("{r}");
    }
}
