//! A complete custom experiment, as in the README's "Adding an experiment": offline
//! iterations to threshold against the learning rate `eta`, for both networks.
//!
//! Run it with `cargo run --release -p whiten-experiments --example eta_sweep`.

// An example program prints what it did.
#![allow(clippy::print_stdout)]

use serde::{Deserialize, Serialize};
use whiten_core::cov::linspace;
use whiten_core::linear::{DirectNetwork, InterneuronNetwork, WhiteningNetwork};
use whiten_core::metrics::whitening_error;
use whiten_experiments::{
    Axis, Experiment, Figure, Outputs, Panel, ParamDoc, ParamError, Result, RunContext, RunOptions,
    Series, Table, builtin_registry, load_str, param, run_one,
};

/// The parameters are the experiment: deny unknown fields, default the missing ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct EtaSweep {
    n: usize,
    scale: f64,
    etas: Vec<f64>,
    threshold: f64,
    max_iterations: usize,
}

impl Default for EtaSweep {
    fn default() -> Self {
        Self {
            n: 5,
            scale: 10.0,
            etas: vec![0.02, 0.05, 0.1, 0.2],
            threshold: 1e-2,
            max_iterations: 100_000,
        }
    }
}

/// Offline updates until `||C_yy - I||_op < threshold`; the number of updates.
fn iterations(
    net: &mut dyn WhiteningNetwork,
    c: faer::MatRef<'_, f64>,
    p: &EtaSweep,
    eta: f64,
) -> Option<usize> {
    (0..=p.max_iterations).find(|_| {
        let done = whitening_error(net, c).is_ok_and(|e| e < p.threshold);
        done || net.offline_step(c, eta).is_err()
    })
}

impl Experiment for EtaSweep {
    const KIND: &'static str = "eta_sweep";
    const DESCRIPTION: &'static str = "Offline iterations to threshold against the learning rate";
    const PARAMS: &'static [ParamDoc] = &[
        param("n", "primary neurons (= interneurons)"),
        param("scale", "initial scale c: M_0 = c I, W_0 = sqrt(c) I"),
        param("etas", "learning rates to try, each in (0, 0.5)"),
        param("threshold", "error ||C_yy - I||_op counted as converged"),
        param("max_iterations", "updates before giving up"),
    ];

    fn check(&self) -> Result<(), ParamError> {
        if self.etas.is_empty() || self.etas.iter().any(|&e| !(e > 0.0 && e < 0.5)) {
            return Err(ParamError::new(
                "etas",
                "needs at least one rate, each in (0, 0.5)",
            ));
        }
        Ok(())
    }

    fn run(&self, ctx: &RunContext) -> Result<Outputs> {
        let lambda = linspace(0.5, 2.0, self.n);
        let c = faer::Mat::from_fn(self.n, self.n, |i, j| if i == j { lambda[i] } else { 0.0 });
        // One task per learning rate, run in parallel; results come back in order.
        let counts = ctx.par_tasks(self.etas.len(), "eta", |i, _rng| {
            let eta = self.etas[i];
            let mut d = DirectNetwork::scaled_identity(self.n, self.scale)
                .map_err(|e| ctx.numerical("init", e))?;
            let mut w = InterneuronNetwork::commuting(self.n, self.n, self.scale)
                .map_err(|e| ctx.numerical("init", e))?;
            Ok([
                iterations(&mut d, c.as_ref(), self, eta),
                iterations(&mut w, c.as_ref(), self, eta),
            ])
        })?;

        let mut out = Outputs::default();
        let mut table = Table::new("iterations", &["eta", "direct", "interneuron"]);
        for (eta, [d, w]) in self.etas.iter().zip(&counts) {
            table.push(vec![(*eta).into(), (*d).into(), (*w).into()]);
        }
        out.table(table);
        out.summarize("iterations", &counts);
        let curve = |k: usize| {
            self.etas
                .iter()
                .zip(&counts)
                .map(|(&e, c)| (e, c[k].map_or(f64::NAN, |v| v as f64)))
                .collect()
        };
        let panel = Panel::new(
            "iterations to threshold",
            Axis::log("learning rate eta"),
            Axis::log("iterations"),
        )
        .with(Series::line("direct", curve(0)))
        .with(Series::line("interneurons", curve(1)));
        out.figure(Figure::single(
            "eta_sweep",
            "Offline learning against the learning rate",
            panel,
        ));
        Ok(out)
    }
}

fn main() -> anyhow::Result<()> {
    let mut registry = builtin_registry();
    registry.register::<EtaSweep>();
    let ron = r#"(kind: "eta_sweep", name: "eta_sweep", seed: 1, params: (scale: 10.0))"#;
    let loaded = load_str(ron, "eta_sweep.ron".as_ref(), &registry)?;
    let opts = RunOptions::new("results");
    let done = run_one(&loaded, &opts)?;
    println!("wrote {} files to {}", done.files.len(), done.dir.display());
    Ok(())
}
