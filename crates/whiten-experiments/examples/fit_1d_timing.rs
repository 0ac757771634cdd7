//! The Rust side of `cargo xtask bench-python` (issue #12): paper 2's 1D circuit fitted on
//! 262,144 samples exactly as `whiten.Circuit.fit(samples, seed=SEED)` fits it from Python
//! (the robust schedule, `theta: Auto`, one interneuron, `theta_init` 2.2, the default
//! solver), so that the two times differ only by what the Python layer adds.
//!
//! * `fit_1d_timing write OUT.npy`: writes the signal, the vertical pyramid band of the
//!   default generated dead-leaves image (512 x 512 coefficients, unit variance);
//! * `fit_1d_timing fit IN.npy SEED`: fits and prints one JSON line with the fit's wall time
//!   (seconds, reading the file excluded), the learned `g` and `theta` and the iterations.
//!
//! Build it with `cargo build --release -p whiten-experiments --example fit_1d_timing`.

// An example program prints its result.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use anyhow::{Context, Result, bail};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use whiten_experiments::RunContext;
use whiten_experiments::kinds::paper2::{
    BDerivativeRule, ImageSource, Learning, OneDCircuit, RobustSettings, SolverSettings, ThetaMode,
    learn_1d,
};
use whiten_experiments::npy;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["write", out] => {
            let ctx = RunContext::new("fit_1d_timing", 0).without_progress();
            let s = ImageSource::default()
                .signal(0, &ctx)
                .context("generating the signal")?;
            std::fs::write(out, npy::write(&[s.signal.len()], &s.signal))
                .with_context(|| format!("writing {out}"))?;
            Ok(())
        }
        ["fit", input, seed] => {
            let seed: u64 = seed.parse().context("SEED must be an integer")?;
            let bytes = std::fs::read(input).with_context(|| format!("reading {input}"))?;
            let x = npy::read(&bytes, input)?.data;
            // The same settings as `whiten.Circuit.fit(x, seed=seed)` (crates/whiten-py).
            let learning = Learning::Robust(RobustSettings::default());
            let settings = OneDCircuit {
                learning: &learning,
                b_derivative: BDerivativeRule::Reference,
                interneurons: 1,
                theta: &ThetaMode::Auto,
                theta_init: 2.2,
                solver: SolverSettings::default(),
            };
            let ctx = RunContext::new("whiten.Circuit.fit", seed).without_progress();
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let start = Instant::now();
            let run = learn_1d(&x, &settings, &mut rng, &ctx, "the samples")?;
            let wall = start.elapsed().as_secs_f64();
            let json = serde_json::json!({
                "wall": wall,
                "g": run.circuit.g(),
                "theta": run.circuit.theta(),
                "iterations": run.iterations,
                "samples": x.len(),
            });
            println!("{json}");
            Ok(())
        }
        _ => bail!("usage: fit_1d_timing write OUT.npy | fit_1d_timing fit IN.npy SEED"),
    }
}
