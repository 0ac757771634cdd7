//! `online_learning`: paper 1's Algorithms 1 and 2 on streamed samples, error against samples
//! for several initial scales `c`. Both networks see the same samples. See [`super::online`].
//!
//! Converged means the exact error is below `max(threshold, floor_factor x noise floor)`, the
//! floor being the larger of the two networks' floors measured by [`NoiseFloor`] (one threshold
//! for both, so the comparison of the two networks is fair).

use faer::Mat;
use serde::{Deserialize, Serialize};
use whiten_core::cov::GaussianSource;
use whiten_core::linear::WhiteningNetwork;

use super::online::{
    MEDIAN_RECORDS, NoiseFloor, Source, Stream, Trace, median_error, running_median,
    samples_to_threshold,
};
use super::setup::{
    Basis, DATA_DOC, Init, Spectrum, acceleration_claim, check_sizes, covariance, data_inputs,
    initial_networks, load_data, resolve_data, scale_key,
};
use crate::context::RunContext;
use crate::error::{ParamError, Result};
use crate::experiment::{Experiment, ParamDoc, param};
use crate::kinds::common::{at_least_one, ensure, ensure_positive, ensure_positive_grid};
use crate::output::{Cell, Outputs, Table, json_float};
use crate::paths::PathParam;
use crate::plot::{Axis, BLACK_INDEX, Figure, Legend, Panel, Series, Style};
use crate::resources::MemoryEstimate;
use crate::stored::Exact;

/// Parameters of `online_learning`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OnlineLearning {
    /// Primary neurons.
    pub n: usize,
    /// Interneurons.
    pub k: usize,
    /// Eigenvalues of C.
    pub spectrum: Spectrum,
    /// Eigenbasis of C.
    pub basis: Basis,
    /// A data matrix (samples x n, `.npy` or `.csv`) whose covariance replaces `spectrum` and
    /// `basis`; relative to the experiment file's folder.
    pub data: Option<PathParam>,
    /// Learning rate.
    pub eta: f64,
    /// Target error on the exact `||C_yy - I||_op`; raised to `floor_factor` x the noise floor
    /// when the floor makes it unreachable.
    pub threshold: f64,
    /// Converged: error below `floor_factor` x the measured noise floor (or `threshold`).
    pub floor_factor: f64,
    /// Initial scales c.
    pub scales: Vec<f64>,
    /// Initialisations.
    pub inits: Vec<Init>,
    /// Samples streamed.
    pub samples: usize,
    /// Samples per update.
    pub batch: usize,
    /// Sliding window for the output covariance estimate.
    pub window: usize,
    /// Samples between records.
    pub record_every: usize,
}

impl Default for OnlineLearning {
    fn default() -> Self {
        Self {
            n: 5,
            k: 10,
            spectrum: Spectrum::Linspace(0.5, 2.0),
            basis: Basis::Haar,
            data: None,
            eta: ETA,
            threshold: 0.1,
            floor_factor: FLOOR_FACTOR,
            scales: vec![1.0, 10.0, 100.0],
            inits: vec![Init::Commuting, Init::Generic],
            samples: 150_000,
            batch: 1,
            window: 1_000,
            record_every: 100,
        }
    }
}

const NETWORKS: [&str; 2] = ["direct", "interneuron"];

/// Default learning rate: small enough that twice the interneuron network's noise floor (0.18
/// for the default spectrum) is far below the error of an unconverged network (1 from `M_0 = cI`).
pub(crate) const ETA: f64 = 0.001;
/// Default factor on the noise floor that counts as converged.
pub(crate) const FLOOR_FACTOR: f64 = 2.0;
/// Documentation of `threshold` and `floor_factor`, shared with `adaptation`.
pub(crate) const THRESHOLD_DOC: &str = "target error ||C_yy - I||_op (> 0); converged means below max(threshold, floor_factor x noise floor)";
pub(crate) const FLOOR_FACTOR_DOC: &str = "converged means the exact error is below floor_factor x the noise floor (> 1): the median error of the network started at C^{1/2} and learning online at the same eta, over flow times 5 to 50 (eta x updates)";

/// Checks shared by the streaming experiments.
#[allow(clippy::too_many_arguments)] // the shared fields of two parameter structs
pub(crate) fn check_stream(
    n: usize,
    k: usize,
    eta: f64,
    threshold: f64,
    floor_factor: f64,
    batch: usize,
    window: usize,
    record_every: usize,
) -> Result<(), ParamError> {
    check_sizes(n, k)?;
    ensure_positive(eta, "eta")?;
    ensure_positive(threshold, "threshold")?;
    ensure(floor_factor > 1.0, "floor_factor", || {
        format!(
            "must be above 1 (the floor is a median: half the settled errors are above it), got {floor_factor}"
        )
    })?;
    at_least_one(batch, "batch")?;
    at_least_one(window, "window")?;
    ensure(record_every >= 1, "record_every", || {
        "must be at least 1".into()
    })
}

impl Experiment for OnlineLearning {
    const KIND: &'static str = "online_learning";
    const DESCRIPTION: &'static str = "Paper 1, Algorithms 1 and 2 (online): error against streamed samples for several initial scales c";
    const PARAMS: &'static [ParamDoc] = &[
        param("n", "number of primary neurons (>= 1)"),
        param("k", "number of interneurons (>= n)"),
        param(
            "spectrum",
            "eigenvalues of C: Linspace(lo, hi), Logspace(lo, hi) or Values([..])",
        ),
        param("basis", "eigenbasis of C: Identity or Haar"),
        param(
            "eta",
            "learning rate (> 0); the noise floor grows like sqrt(eta)",
        ),
        param("threshold", THRESHOLD_DOC),
        param("floor_factor", FLOOR_FACTOR_DOC),
        param("scales", "initial scales c, all > 0"),
        param("data", DATA_DOC),
        param("inits", "initialisations: Commuting and/or Generic"),
        param(
            "samples",
            "samples streamed through each network (direct learning from c = 100 needs flow time ~100, i.e. 100 / eta samples)",
        ),
        param(
            "batch",
            "samples per update (1: the paper's single-sample rule)",
        ),
        param(
            "window",
            "sliding window (samples) of the output covariance estimate",
        ),
        param("record_every", "samples between recorded errors"),
    ];

    fn memory(&self, threads: usize) -> Option<MemoryEstimate> {
        Some(MemoryEstimate::dense(
            self.n,
            self.k,
            3.0,
            self.scales.len() * self.inits.len(),
            threads,
        ))
    }

    fn check(&self) -> Result<(), ParamError> {
        check_stream(
            self.n,
            self.k,
            self.eta,
            self.threshold,
            self.floor_factor,
            self.batch,
            self.window,
            self.record_every,
        )?;
        self.spectrum.check("spectrum", self.n)?;
        ensure_positive_grid(&self.scales, "scales")?;
        ensure(!self.inits.is_empty(), "inits", || {
            "must not be empty".into()
        })?;
        at_least_one(self.samples, "samples")?;
        // Last: reading the data is the only check that costs anything.
        match &self.data {
            Some(p) => load_data(p, self.n, "data").map(|_| ()),
            None => Ok(()),
        }
    }

    fn inputs(&self) -> Vec<std::path::PathBuf> {
        data_inputs(&self.data)
    }

    fn resolve_paths(&mut self, base: &std::path::Path) -> Result<(), ParamError> {
        resolve_data(&mut self.data, base)
    }

    fn run(&self, ctx: &RunContext) -> Result<Outputs> {
        let r = self.measure(ctx)?;
        Ok(self.report(&r))
    }
}

/// What `online_learning` measured.
struct Measured {
    /// (initialisation, scale) of each trace.
    combos: Vec<(Init, f64)>,
    /// One trace per combination.
    traces: Vec<Trace>,
    /// The noise floors of both networks.
    floor: NoiseFloor,
    /// The error counted as converged, for both networks.
    threshold: f64,
    /// The input covariance.
    c: Mat<f64>,
    /// The learned `M` (direct) and `W` (interneurons) at the end of each trace.
    learned: Vec<[Mat<f64>; 2]>,
}

impl OnlineLearning {
    /// The streamed runs, one per (initialisation, scale), and the noise-floor run.
    fn measure(&self, ctx: &RunContext) -> Result<Measured> {
        let source = match &self.data {
            Some(p) => {
                let d = load_data(p, self.n, "data").map_err(|e| ctx.failure(e.to_string()))?;
                Source::data(d.samples, d.covariance)
            }
            None => {
                let c = covariance(self.n, &self.spectrum, self.basis, &mut ctx.setup_rng());
                GaussianSource::new(c.as_ref()).map(Source::Gaussian)
            }
        }
        .map_err(|e| ctx.numerical("set-up of C", e))?;
        let sources = [source];
        let stream = Stream {
            sources: &sources,
            period: usize::MAX,
            total: self.samples,
            batch: self.batch,
            eta: self.eta,
            window: self.window,
            record_every: self.record_every,
        };
        let combos: Vec<(Init, f64)> = self
            .inits
            .iter()
            .flat_map(|&i| self.scales.iter().map(move |&s| (i, s)))
            .collect();
        // Task `combos.len()` is the noise-floor run (the last task: the others keep their
        // random streams whatever the floor needs).
        // Per task: the errors and the learned `[M, W]` (none for the floor task).
        type Learned = Exact<Option<[Mat<f64>; 2]>>;
        let mut runs: Vec<(Trace, Learned)> =
            ctx.par_tasks(combos.len() + 1, "online", |t, rng| {
                let Some(&(init, scale)) = combos.get(t) else {
                    let what = "noise floor, start at C^{1/2}";
                    return NoiseFloor::stream(&sources[0], self.k, &stream, rng, ctx, what)
                        .map(|trace| (trace, Exact(None)));
                };
                let what = format!("{} init, c = {scale}", init.label());
                let (mut d, mut w) = initial_networks(init, self.n, self.k, scale, rng)
                    .map_err(|e| ctx.numerical(&what, e))?;
                let trace = stream.run([&mut d, &mut w], rng, ctx, &what)?;
                let learned = [d.state().to_owned(), w.state().to_owned()];
                Ok((trace, Exact(Some(learned))))
            })?;
        let (floor_trace, _) = runs.pop().expect("the floor task");
        let (traces, learned): (Vec<Trace>, Vec<_>) = runs.into_iter().unzip();
        let learned: Vec<[Mat<f64>; 2]> = learned.into_iter().filter_map(|e| e.0).collect();
        let floor = NoiseFloor::from_trace(&floor_trace, self.eta, self.batch);
        let threshold = floor
            .thresholds(self.threshold, self.floor_factor)
            .into_iter()
            .fold(f64::MIN, f64::max);
        tracing::debug!(?floor, threshold, "online_learning: noise floor");
        Ok(Measured {
            combos,
            traces,
            floor,
            threshold,
            c: sources[0].covariance().to_owned(),
            learned,
        })
    }

    /// Summaries, tables, the figure and the claims.
    fn report(&self, r: &Measured) -> Outputs {
        let mut out = Outputs::default();
        let tail = self.samples - self.samples / 4;
        let mut to_thr = serde_json::Map::new();
        let mut tail_error = serde_json::Map::new();
        let mut table = Table::new(
            "samples_to_threshold",
            &["init", "network", "c", "samples", "tail_error"],
        );
        let mut traj = Table::new(
            "trajectories",
            &["init", "network", "c", "samples", "error", "windowed_error"],
        );
        for (&(init, scale), tr) in r.combos.iter().zip(&r.traces) {
            for (ni, net) in NETWORKS.iter().enumerate() {
                let reached = samples_to_threshold(tr, ni, 0, self.samples, r.threshold);
                let te = median_error(tr, ni, tail, self.samples);
                let key = format!("{}/{net}/c={}", init.label(), scale_key(scale));
                to_thr.insert(key.clone(), serde_json::json!(reached));
                tail_error.insert(key, json_float(te));
                table.push(vec![
                    init.label().into(),
                    (*net).into(),
                    scale.into(),
                    Cell::from(reached),
                    te.into(),
                ]);
                for (i, &s) in tr.samples.iter().enumerate() {
                    traj.push(vec![
                        init.label().into(),
                        (*net).into(),
                        scale.into(),
                        s.into(),
                        tr.exact[ni][i].into(),
                        tr.windowed[ni][i].into(),
                    ]);
                }
            }
        }
        out.summarize("samples_to_threshold", to_thr);
        out.summarize("tail_error", tail_error);
        out.summarize(
            "noise_floor",
            serde_json::json!({
                "direct": json_float(r.floor.errors[0]),
                "interneuron": json_float(r.floor.errors[1]),
            }),
        );
        out.summarize("eta", self.eta);
        out.summarize("threshold", json_float(r.threshold));
        out.table(table);
        out.table(traj);
        super::offline_learning::save_learned(
            &mut out,
            r.c.as_ref(),
            self.n,
            self.k,
            &r.learned,
            |m| m,
        );
        out.figure(self.figure(r));

        let cmax = self.scales.iter().copied().fold(f64::MIN, f64::max);
        let how_set = format!(
            "below {:.3} = max(threshold {}, {} x the larger noise floor; floors {:.3} direct, {:.3} interneurons: median error started at C^{{1/2}}, samples {}..{} at eta = {})",
            r.threshold,
            self.threshold,
            self.floor_factor,
            r.floor.errors[0],
            r.floor.errors[1],
            r.floor.burn_in,
            r.floor.samples,
            self.eta,
        );
        for &init in &self.inits {
            let t = r
                .combos
                .iter()
                .position(|&x| x == (init, cmax))
                .expect("combo");
            let d = samples_to_threshold(&r.traces[t], 0, 0, self.samples, r.threshold);
            let w = samples_to_threshold(&r.traces[t], 1, 0, self.samples, r.threshold);
            let mut claim =
                acceleration_claim("online", init, cmax, d, w, "samples", "online_error");
            claim.expected = format!("{} to bring the error {how_set}", claim.expected);
            out.claim(claim);
        }
        out
    }

    /// Error against samples, one panel per initialisation, the convergence threshold drawn.
    fn figure(&self, r: &Measured) -> Figure {
        // Small multiples: a row per initialisation, a column per scale c, both networks in
        // each panel as running medians (the raw traces are noise around the floor), with
        // the threshold and the sample where each first went below it. One shared log-log
        // frame, so that panels compare and the early convergence is visible.
        let mut lo = r.threshold;
        let mut hi = r.threshold;
        for tr in &r.traces {
            for e in tr.exact.iter().flatten().copied() {
                if e > 0.0 && e.is_finite() {
                    lo = lo.min(e);
                    hi = hi.max(e);
                }
            }
        }
        // The first record after sample 0 (a log axis cannot show 0).
        let first = r
            .traces
            .iter()
            .filter_map(|t| t.samples.iter().copied().find(|&s| s > 0))
            .min()
            .unwrap_or(1) as f64;
        let mut panels = Vec::new();
        for &init in &self.inits {
            for (ci, &scale) in self.scales.iter().enumerate() {
                let Some(t) = r.combos.iter().position(|&x| x == (init, scale)) else {
                    continue;
                };
                let tr = &r.traces[t];
                let mut p = Panel::new(
                    format!("{} init, c = {}", init.label(), scale_key(scale)),
                    Axis::log("samples").with_range(first, self.samples as f64),
                    Axis::log("error ||C_yy - I||_op").with_range(lo / 1.2, hi * 1.2),
                );
                for (ni, net) in NETWORKS.iter().enumerate() {
                    p = p.with(Series::line(*net, running_median(tr, ni, None)).colored(ni));
                }
                p = p.with(
                    Series::line(
                        format!(
                            "threshold {:.2} ({} x noise floor)",
                            r.threshold, self.floor_factor
                        ),
                        vec![(first, r.threshold), (self.samples as f64, r.threshold)],
                    )
                    .styled(Style::Dashed)
                    .colored(BLACK_INDEX),
                );
                for (ni, net) in NETWORKS.iter().enumerate() {
                    let hit = samples_to_threshold(tr, ni, 0, self.samples, r.threshold)
                        .map(|s| vec![(s.max(1) as f64, r.threshold)])
                        .unwrap_or_default();
                    p = p.with(
                        Series::line(format!("{net} first below"), hit)
                            .styled(Style::Markers)
                            .colored(ni),
                    );
                }
                // One legend per row, on its last panel.
                if ci + 1 < self.scales.len() {
                    p = p.legend_at(Legend::Hidden);
                }
                panels.push(p);
            }
        }
        Figure::grid(
            "online_error",
            format!(
                "Online learning, eta = {}: running median of {MEDIAN_RECORDS} recorded errors",
                self.eta
            ),
            panels,
            self.scales.len().max(1),
        )
        .with_panel_size(if self.scales.len() > 2 { 520 } else { 640 }, 360)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(e: &OnlineLearning) -> Outputs {
        e.check().unwrap();
        e.run(&RunContext::new("t", 7).without_progress()).unwrap()
    }

    fn floors(out: &Outputs) -> [f64; 2] {
        let f = &out.summary["noise_floor"];
        [
            f["direct"].as_f64().unwrap(),
            f["interneuron"].as_f64().unwrap(),
        ]
    }

    /// A short run from c = 1 and 10, both networks: `samples` at rate `eta`.
    fn short(eta: f64, samples: usize) -> OnlineLearning {
        OnlineLearning {
            eta,
            scales: vec![1.0, 10.0],
            inits: vec![Init::Commuting],
            samples,
            window: 200,
            ..OnlineLearning::default()
        }
    }

    /// The floor of a constant rate grows like sqrt(eta) (spec 1, section 4.3): a quarter of the
    /// rate, half the floor.
    #[test]
    fn the_noise_floor_grows_like_the_square_root_of_eta() {
        let hi = floors(&run(&short(0.004, 100)));
        let lo = floors(&run(&short(0.001, 100)));
        for net in 0..2 {
            let ratio = hi[net] / lo[net];
            assert!((ratio - 2.0).abs() < 0.25, "{net}: {hi:?} / {lo:?}");
        }
    }

    /// A network that converged settles at the floor measured from the optimum, and the claim
    /// passes with the floor-based level.
    #[test]
    fn converged_runs_settle_at_the_measured_floor_and_the_claim_passes() {
        let out = run(&short(0.004, 12_000));
        let f = floors(&out);
        for (key, tail) in out.summary["tail_error"].as_object().unwrap() {
            let net = usize::from(key.contains("interneuron"));
            let tail = tail.as_f64().unwrap();
            assert!((tail / f[net] - 1.0).abs() < 0.25, "{key}: {tail} vs {f:?}");
        }
        assert!(out.claims.iter().all(|c| c.pass), "{:?}", out.claims);
    }

    /// Too small a rate: neither network gets near the optimum within the run, so neither
    /// reaches the level and the claim fails (n = 2 keeps the long floor run cheap).
    #[test]
    fn a_rate_too_small_to_converge_fails_the_claim() {
        let e = OnlineLearning {
            n: 2,
            k: 2,
            scales: vec![100.0],
            ..short(1e-4, 3_000)
        };
        let out = run(&e);
        let reached = &out.summary["samples_to_threshold"];
        assert!(
            reached.as_object().unwrap().values().all(|v| v.is_null()),
            "{reached}"
        );
        assert!(out.claims.iter().all(|c| !c.pass), "{:?}", out.claims);
    }

    /// Too large a rate: twice the floor exceeds the error of an unconverged network (1 from
    /// `M_0 = cI`), so the level says nothing and the claim fails instead of passing at once.
    #[test]
    fn a_floor_above_the_unconverged_error_fails_the_claim() {
        let e = OnlineLearning {
            scales: vec![100.0],
            ..short(0.01, 2_000)
        };
        let out = run(&e);
        assert!(out.summary["threshold"].as_f64().unwrap() > 1.0);
        assert!(out.claims.iter().all(|c| !c.pass), "{:?}", out.claims);
    }
}
