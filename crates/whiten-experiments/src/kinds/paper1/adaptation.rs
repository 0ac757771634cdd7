//! `adaptation`: the input covariance switches between two matrices every `period` samples;
//! both networks learn online and re-whiten after each switch. Error against samples; the
//! summary gives the samples needed to re-converge after a switch. See [`super::online`].
//!
//! Re-converged means the exact error is back below `max(threshold, floor_factor x noise
//! floor)`, the floor measured by [`NoiseFloor`] for each network and each covariance (the
//! floor of the direct network depends on the spectrum, that of the interneurons hardly). A
//! switch counts only if it is visible: the error just after it must exceed that level.

use serde::{Deserialize, Serialize};
use whiten_core::cov::GaussianSource;

use super::online::{
    MEDIAN_RECORDS, NoiseFloor, Source, Stream, Trace, running_median, samples_to_threshold,
};
use super::online_learning::{FLOOR_FACTOR, FLOOR_FACTOR_DOC, THRESHOLD_DOC, check_stream};
use super::setup::{Basis, Init, Spectrum, covariance, initial_networks};
use crate::context::RunContext;
use crate::error::{ParamError, Result};
use crate::experiment::{Experiment, ParamDoc, param};
use crate::kinds::common::{at_least_one, ensure, ensure_positive};
use crate::output::{Cell, Claim, Outputs, Table, json_float};
use crate::plot::{Axis, BLACK_INDEX, Figure, GREY, Panel, Series, Style};
use crate::resources::MemoryEstimate;

/// Parameters of `adaptation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Adaptation {
    /// Primary neurons.
    pub n: usize,
    /// Interneurons.
    pub k: usize,
    /// Eigenvalues of the first covariance C_A.
    pub spectrum_a: Spectrum,
    /// Eigenvalues of the second covariance C_B.
    pub spectrum_b: Spectrum,
    /// Eigenbases of C_A and C_B (Haar: independent random rotations).
    pub basis: Basis,
    /// Learning rate.
    pub eta: f64,
    /// Target error on the exact `||C_yy - I||_op`; raised to `floor_factor` x the noise floor
    /// when the floor makes it unreachable.
    pub threshold: f64,
    /// Re-converged: error below `floor_factor` x the measured noise floor (or `threshold`).
    pub floor_factor: f64,
    /// Samples between switches.
    pub period: usize,
    /// Number of switches (the run lasts `(switches + 1) * period` samples).
    pub switches: usize,
    /// Initial scale c.
    pub scale: f64,
    /// Initialisation.
    pub init: Init,
    /// Samples per update.
    pub batch: usize,
    /// Sliding window of the output covariance estimate.
    pub window: usize,
    /// Samples between records.
    pub record_every: usize,
}

impl Default for Adaptation {
    fn default() -> Self {
        Self {
            n: 5,
            k: 10,
            spectrum_a: Spectrum::Linspace(0.5, 2.0),
            spectrum_b: Spectrum::Logspace(1.0, 10.0),
            basis: Basis::Haar,
            eta: super::online_learning::ETA,
            threshold: 0.1,
            floor_factor: FLOOR_FACTOR,
            period: 10_000,
            switches: 5,
            scale: 1.0,
            init: Init::Commuting,
            batch: 1,
            window: 1_000,
            record_every: 25,
        }
    }
}

const NETWORKS: [&str; 2] = ["direct", "interneuron"];

impl Experiment for Adaptation {
    const KIND: &'static str = "adaptation";
    const DESCRIPTION: &'static str = "Paper 1, adaptation: the input covariance switches every N samples; error against samples and samples to re-converge";
    const PARAMS: &'static [ParamDoc] = &[
        param("n", "number of primary neurons (>= 1)"),
        param("k", "number of interneurons (>= n)"),
        param("spectrum_a", "eigenvalues of the first covariance C_A"),
        param("spectrum_b", "eigenvalues of the second covariance C_B"),
        param(
            "basis",
            "eigenbases of C_A and C_B: Identity or Haar (independent rotations)",
        ),
        param(
            "eta",
            "learning rate (> 0); the noise floor grows like sqrt(eta)",
        ),
        param("threshold", THRESHOLD_DOC),
        param("floor_factor", FLOOR_FACTOR_DOC),
        param("period", "samples between switches of the covariance"),
        param("switches", "number of switches"),
        param("scale", "initial scale c (> 0)"),
        param("init", "initialisation: Commuting or Generic"),
        param("batch", "samples per update"),
        param(
            "window",
            "sliding window (samples) of the output covariance estimate",
        ),
        param("record_every", "samples between recorded errors"),
    ];

    fn memory(&self, threads: usize) -> Option<MemoryEstimate> {
        Some(MemoryEstimate::dense(self.n, self.k, 3.0, 1, threads))
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
        self.spectrum_a.check("spectrum_a", self.n)?;
        self.spectrum_b.check("spectrum_b", self.n)?;
        ensure_positive(self.scale, "scale")?;
        at_least_one(self.period, "period")?;
        ensure(self.switches >= 1, "switches", || {
            "must be at least 1".into()
        })
    }

    fn run(&self, ctx: &RunContext) -> Result<Outputs> {
        let r = self.measure(ctx)?;
        Ok(self.report(&r))
    }
}

/// Names of the two covariances.
const SOURCES: [&str; 2] = ["C_A", "C_B"];

/// What `adaptation` measured.
struct Measured {
    /// The switching run.
    trace: Trace,
    /// Noise floors for C_A and C_B.
    floors: [NoiseFloor; 2],
    /// `[source][network]`: the error counted as re-converged.
    thresholds: [[f64; 2]; 2],
    /// `[network][switch - 1]`: samples after the switch to re-converge, if within the period.
    reconverge: [Vec<Option<usize>>; 2],
    /// `[network][switch - 1]`: the exact error recorded just after the switch.
    at_switch: [Vec<f64>; 2],
}

impl Measured {
    /// Whether every switch was visible (error above the level) and re-converged.
    fn tracked(&self, net: usize) -> bool {
        self.reconverge[net]
            .iter()
            .zip(&self.at_switch[net])
            .enumerate()
            .all(|(s, (r, &e))| r.is_some() && e >= self.thresholds[source_after(s + 1)][net])
    }
}

/// Index of the covariance in force after switch `s` (C_A before the first switch).
fn source_after(s: usize) -> usize {
    s % 2
}

impl Adaptation {
    /// The switching run and the two noise-floor runs.
    fn measure(&self, ctx: &RunContext) -> Result<Measured> {
        let mut setup = ctx.setup_rng();
        let ca = covariance(self.n, &self.spectrum_a, self.basis, &mut setup);
        let cb = covariance(self.n, &self.spectrum_b, self.basis, &mut setup);
        let sources = [
            GaussianSource::new(ca.as_ref())
                .map(Source::Gaussian)
                .map_err(|e| ctx.numerical("set-up of C_A", e))?,
            GaussianSource::new(cb.as_ref())
                .map(Source::Gaussian)
                .map_err(|e| ctx.numerical("set-up of C_B", e))?,
        ];
        let total = (self.switches + 1) * self.period;
        let stream = Stream {
            sources: &sources,
            period: self.period,
            total,
            batch: self.batch,
            eta: self.eta,
            window: self.window,
            record_every: self.record_every,
        };
        // Task 0 is the switching run; tasks 1 and 2 the floors for C_A and C_B.
        let mut traces = ctx.par_tasks(3, "adaptation", |t, rng| {
            if t > 0 {
                let what = format!("noise floor of {}, start at its C^{{1/2}}", SOURCES[t - 1]);
                return NoiseFloor::stream(&sources[t - 1], self.k, &stream, rng, ctx, &what);
            }
            let what = "adaptation run";
            let (mut d, mut w) = initial_networks(self.init, self.n, self.k, self.scale, rng)
                .map_err(|e| ctx.numerical(what, e))?;
            stream.run([&mut d, &mut w], rng, ctx, what)
        })?;
        let floors = [1, 2].map(|i| NoiseFloor::from_trace(&traces[i], self.eta, self.batch));
        let thresholds = floors.map(|f| f.thresholds(self.threshold, self.floor_factor));
        let trace = traces.swap_remove(0);
        let mut reconverge = [Vec::new(), Vec::new()];
        let mut at_switch = [Vec::new(), Vec::new()];
        for s in 1..=self.switches {
            let from = s * self.period;
            let thr = thresholds[source_after(s)];
            for net in 0..2 {
                reconverge[net].push(samples_to_threshold(
                    &trace,
                    net,
                    from,
                    from + self.period,
                    thr[net],
                ));
                at_switch[net].push(error_at(&trace, net, from));
            }
        }
        tracing::debug!(?floors, ?thresholds, "adaptation: noise floors");
        Ok(Measured {
            trace,
            floors,
            thresholds,
            reconverge,
            at_switch,
        })
    }

    /// Summaries, tables, the figure and the claim.
    fn report(&self, r: &Measured) -> Outputs {
        let mut out = Outputs::default();
        let mut table = Table::new(
            "reconvergence",
            &[
                "switch",
                "at_sample",
                "network",
                "error_at_switch",
                "threshold",
                "samples_to_reconverge",
            ],
        );
        for s in 1..=self.switches {
            let from = s * self.period;
            let src = source_after(s);
            for (ni, net) in NETWORKS.iter().enumerate() {
                table.push(vec![
                    s.into(),
                    from.into(),
                    (*net).into(),
                    r.at_switch[ni][s - 1].into(),
                    r.thresholds[src][ni].into(),
                    Cell::from(r.reconverge[ni][s - 1]),
                ]);
            }
        }
        let mut mean = serde_json::Map::new();
        let mut floors = serde_json::Map::new();
        let mut thresholds = serde_json::Map::new();
        for (si, src) in SOURCES.iter().enumerate() {
            let per = |v: [f64; 2]| serde_json::json!({"direct": json_float(v[0]), "interneuron": json_float(v[1])});
            floors.insert((*src).into(), per(r.floors[si].errors));
            thresholds.insert((*src).into(), per(r.thresholds[si]));
        }
        for (ni, net) in NETWORKS.iter().enumerate() {
            let reached: Vec<usize> = r.reconverge[ni].iter().flatten().copied().collect();
            let m = if reached.is_empty() {
                f64::NAN
            } else {
                reached.iter().sum::<usize>() as f64 / reached.len() as f64
            };
            mean.insert((*net).into(), json_float(m));
            out.summarize(format!("reconverged_switches/{net}"), reached.len());
        }
        out.summarize("mean_samples_to_reconverge", mean);
        out.summarize(
            "samples_to_reconverge",
            serde_json::json!({"direct": r.reconverge[0], "interneuron": r.reconverge[1]}),
        );
        out.summarize("noise_floor", floors);
        out.summarize("threshold", thresholds);
        out.summarize("switches", self.switches);
        out.summarize("period", self.period);
        out.table(table);
        let mut traj = Table::new(
            "trajectories",
            &[
                "samples",
                "direct_error",
                "interneuron_error",
                "direct_windowed",
                "interneuron_windowed",
            ],
        );
        let tr = &r.trace;
        for (i, &s) in tr.samples.iter().enumerate() {
            traj.push(vec![
                s.into(),
                tr.exact[0][i].into(),
                tr.exact[1][i].into(),
                tr.windowed[0][i].into(),
                tr.windowed[1][i].into(),
            ]);
        }
        out.table(traj);
        out.figure(self.figure(r));
        out.claim(self.claim(r));
        out
    }

    /// One panel per network: the exact error as recorded (grey), its running median within
    /// each period (never across a switch, so it does not lag behind one), the re-convergence
    /// level of the covariance in force (dashed), the switches (grey dashed verticals) and
    /// the point where the error first came back to the level after each switch (markers).
    fn figure(&self, r: &Measured) -> Figure {
        let total = (self.switches + 1) * self.period;
        let tr = &r.trace;
        // One y range for both panels, from the data, so the panels compare.
        let (mut lo, mut hi) = (f64::INFINITY, 0.0_f64);
        for e in tr.exact.iter().flatten().copied() {
            if e > 0.0 && e.is_finite() {
                lo = lo.min(e);
                hi = hi.max(e);
            }
        }
        for t in r.thresholds.iter().flatten() {
            lo = lo.min(*t);
            hi = hi.max(*t);
        }
        if !(lo.is_finite() && hi > lo) {
            (lo, hi) = (1e-3, 1.0);
        }
        let (lo, hi) = (lo / 1.2, hi * 1.2);
        let mut panels = Vec::new();
        for (ni, net) in NETWORKS.iter().enumerate() {
            let mut p = Panel::new(
                format!("{net} network"),
                Axis::linear("samples").with_range(0.0, total as f64),
                Axis::log("error ||C_yy - I||_op").with_range(lo, hi),
            );
            let raw: Vec<(f64, f64)> = tr
                .samples
                .iter()
                .zip(&tr.exact[ni])
                .map(|(&s, &e)| (s as f64, e))
                .collect();
            p = p.with(
                Series::line(format!("error (every {} samples)", self.record_every), raw)
                    .colored(GREY),
            );
            let med = running_median(tr, ni, Some(self.period));
            p = p.with(
                Series::line(format!("running median of {MEDIAN_RECORDS} records"), med)
                    .colored(ni),
            );
            // A step line: the level of the covariance in force in each period.
            let mut pts = Vec::new();
            for s in 0..=self.switches {
                let level = r.thresholds[source_after(s)][ni];
                pts.push(((s * self.period) as f64, level));
                pts.push((((s + 1) * self.period).min(total) as f64, level));
                pts.push((f64::NAN, f64::NAN));
            }
            p = p.with(
                Series::line(format!("{} x noise floor", self.floor_factor), pts)
                    .styled(Style::Dashed)
                    .colored(BLACK_INDEX),
            );
            let mut verticals = Vec::new();
            for s in 1..=self.switches {
                let x = (s * self.period) as f64;
                verticals.extend([(x, lo), (x, hi), (f64::NAN, f64::NAN)]);
            }
            p = p.with(
                Series::line("switch of C", verticals)
                    .styled(Style::Dashed)
                    .colored(GREY),
            );
            let back: Vec<(f64, f64)> = r.reconverge[ni]
                .iter()
                .enumerate()
                .filter_map(|(s, after)| {
                    let at = (s + 1) * self.period + (*after)?;
                    Some((at as f64, r.thresholds[source_after(s + 1)][ni]))
                })
                .collect();
            p = p.with(
                Series::line("back under the level", back)
                    .styled(Style::Markers)
                    .colored(ni),
            );
            panels.push(p);
        }
        Figure::grid(
            "adaptation_error",
            format!(
                "Re-adaptation after switches of the input covariance, eta = {}",
                self.eta
            ),
            panels,
            1,
        )
        .with_panel_size(1100, 330)
    }

    /// The paper's claim: both networks re-whiten after every switch.
    fn claim(&self, r: &Measured) -> Claim {
        let lowest = |net: usize| {
            r.at_switch[net]
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min)
        };
        Claim {
            id: "p1.adaptation.tracks".into(),
            paper: 1,
            statement: "Both networks re-whiten after every switch of the input covariance".into(),
            expected: format!(
                "after each of {} switches the error, above the level just after the switch, falls below it within {} samples; level = max(threshold {}, {} x noise floor): direct {:.3} (C_A) / {:.3} (C_B), interneurons {:.3} / {:.3}; floors {:.3} / {:.3} and {:.3} / {:.3}, median error started at C^{{1/2}}, samples {}..{} at eta = {}",
                self.switches,
                self.period,
                self.threshold,
                self.floor_factor,
                r.thresholds[0][0],
                r.thresholds[1][0],
                r.thresholds[0][1],
                r.thresholds[1][1],
                r.floors[0].errors[0],
                r.floors[1].errors[0],
                r.floors[0].errors[1],
                r.floors[1].errors[1],
                r.floors[0].burn_in,
                r.floors[0].samples,
                self.eta,
            ),
            measured: format!(
                "re-converged after {} (direct) and {} (interneurons) of {} switches, mean {} and {} samples; lowest error just after a switch {:.3} (direct), {:.3} (interneurons)",
                r.reconverge[0].iter().flatten().count(),
                r.reconverge[1].iter().flatten().count(),
                self.switches,
                mean_text(&r.reconverge[0]),
                mean_text(&r.reconverge[1]),
                lowest(0),
                lowest(1),
            ),
            pass: r.tracked(0) && r.tracked(1),
            figure: Some("adaptation_error".into()),
            informative: false,
        }
    }
}

/// The exact error of network `net` at the first record at or after sample `from`.
fn error_at(trace: &Trace, net: usize, from: usize) -> f64 {
    trace
        .samples
        .iter()
        .position(|&s| s >= from)
        .map_or(f64::NAN, |i| trace.exact[net][i])
}

/// The mean of the re-convergence times that were reached, as text.
fn mean_text(times: &[Option<usize>]) -> String {
    let reached: Vec<usize> = times.iter().flatten().copied().collect();
    if reached.is_empty() {
        "-".into()
    } else {
        format!(
            "{:.0}",
            reached.iter().sum::<usize>() as f64 / reached.len() as f64
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(e: &Adaptation) -> Outputs {
        e.check().unwrap();
        e.run(&RunContext::new("t", 7).without_progress()).unwrap()
    }

    fn short(eta: f64, period: usize) -> Adaptation {
        Adaptation {
            eta,
            period,
            switches: 2,
            window: 200,
            record_every: 25,
            ..Adaptation::default()
        }
    }

    #[test]
    fn both_networks_re_whiten_to_twice_their_floor() {
        let out = run(&short(0.004, 3_000));
        let claim = &out.claims[0];
        assert!(claim.pass, "{claim:?}");
        assert_eq!(out.summary["reconverged_switches/interneuron"], 2);
    }

    /// Too small a rate: the networks barely move within a period and never get back to the
    /// level (n = 2 keeps the long floor runs cheap).
    #[test]
    fn a_rate_too_small_to_adapt_fails() {
        let e = Adaptation {
            n: 2,
            k: 2,
            ..short(1e-4, 2_000)
        };
        let out = run(&e);
        assert_eq!(out.summary["reconverged_switches/direct"], 0);
        assert_eq!(out.summary["reconverged_switches/interneuron"], 0);
        assert!(!out.claims[0].pass);
    }

    /// Too large a rate: the interneurons' level (twice a floor of ~0.7) exceeds the error
    /// just after a switch back to C_A (~0.87), so that switch is invisible and the claim fails
    /// although every "re-convergence" is immediate.
    #[test]
    fn a_switch_hidden_in_the_noise_floor_fails() {
        let out = run(&short(0.01, 1_000));
        let claim = &out.claims[0];
        assert_eq!(out.summary["reconverged_switches/interneuron"], 2);
        assert!(!claim.pass, "{claim:?}");
    }
}
