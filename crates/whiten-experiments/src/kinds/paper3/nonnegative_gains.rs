//! `nonnegative_gains`: paper A's Fig 5 and its appendix on non-negative gains.
//!
//! * Fig 5: an ill-conditioned input `C = Q diag(6, 0.01) Q^T` (= `2 Q diag(3, 5e-3) Q^T`,
//!   `Q` Haar-random), the Mercedes frame, offline gain steps from `g_0 = 0` with and without
//!   the projection `g <- max(g, 0)` after every step (`clamp`). Whitening needs
//!   `W diag(g) W^T = C^{1/2} - I`, which has a negative eigenvalue (`sqrt(0.01) - 1`), so
//!   some gain must be negative: free gains whiten exactly, clamped ones stop at a boundary
//!   point of `g >= 0`, a fixed point of projected ascent, where the KKT conditions hold:
//!   the gradient `diag(W^T C_yy W) - 1` is 0 where `g_i > 0` and at most 0 where `g_i = 0`.
//!   The error is the authors' `'spectral'` measure `(1/N) sum (lambda_i - 1)^2`, which with
//!   clamped gains counts only eigenvalues above 1 (an output variance below 1 is what
//!   non-negative gains cannot raise).
//! * The appendix: `C_1 = [[1, .7], [.7, 1.4]]`, its rotation by 90 degrees and `4 C_1`, the
//!   Mercedes frame, `eta = 1e-2`, clamped, and the dynamics panel (`2 C_1` with its smaller
//!   eigenvalue divided by 10, free and clamped), run with the authors' early stop
//!   (`allclose(g_prev, g)`, rtol 1e-5, atol 1e-8): the numbers of steps are deterministic and
//!   the spec lists them (472, 673, 1167; 643 and 606).

use faer::Mat;
use serde::{Deserialize, Serialize};
use whiten_core::cov::{covariance_with_spectrum, haar_orthogonal, sym_eigen};
use whiten_core::gain::{ErrorMeasure, GainNetwork, OfflineRun, StopReason, run_offline};

use super::frames_setup::{Frame, claim, comparison, fmt_vec, fmt3, log_thinned_steps, rotation};
use crate::context::RunContext;
use crate::error::{ParamError, Result};
use crate::experiment::{Experiment, ParamDoc, param};
use crate::kinds::common::{at_least_one, bounded, ensure, ensure_positive, zero_below};
use crate::output::{Outputs, Table, indexed_cells, indexed_columns, row_major};
use crate::plot::{Axis, BLACK_INDEX, Figure, GREY, Legend, Panel, Series, Style};

/// Parameters of `nonnegative_gains`. The defaults are the authors' Fig 5.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NonnegativeGains {
    /// Eigenvalues of `C` (`n = 2`), in a Haar-random basis.
    pub eigenvalues: Vec<f64>,
    /// The frame.
    pub frame: Frame,
    /// Gain learning rate.
    pub eta: f64,
    /// Offline steps (no early stop).
    pub steps: usize,
    /// Tolerance of the KKT conditions at the clamped end point.
    pub kkt_tol: f64,
    /// Also run the appendix's deterministic cases.
    pub appendix: bool,
}

impl Default for NonnegativeGains {
    fn default() -> Self {
        Self {
            eigenvalues: vec![6.0, 0.01],
            frame: Frame::Mercedes,
            eta: 2e-2,
            steps: 5_000,
            kkt_tol: 1e-6,
            appendix: true,
        }
    }
}

impl Experiment for NonnegativeGains {
    const KIND: &'static str = "nonnegative_gains";
    const DESCRIPTION: &'static str = "Paper 3 (ICML 2023) Fig 5 and appendix: an ill-conditioned input needs a negative gain; clamped (non-negative) gains stop at a KKT point; the appendix's step counts";
    const PARAMS: &'static [ParamDoc] = &[
        param(
            "eigenvalues",
            "eigenvalues of C (n = 2, positive), in a Haar-random basis; Fig 5: 2 x (3, 5e-3)",
        ),
        param(
            "frame",
            "frame W (n = 2): Mercedes, RotatedMercedes, Random(K), Rows([..]), Spectral(extra)",
        ),
        param("eta", "gain learning rate (> 0)"),
        param("steps", "offline steps of the free and clamped runs"),
        param(
            "kkt_tol",
            "tolerance of the KKT conditions at the clamped end point (> 0)",
        ),
        param(
            "appendix",
            "also run the appendix's deterministic cases (Mercedes, eta = 1e-2, the authors' early stop)",
        ),
    ];

    fn check(&self) -> Result<(), ParamError> {
        ensure(
            self.eigenvalues.len() == 2
                && self.eigenvalues.iter().all(|v| v.is_finite() && *v > 0.0),
            "eigenvalues",
            || {
                format!(
                    "needs two positive eigenvalues (got {:?})",
                    self.eigenvalues
                )
            },
        )?;
        self.frame.check("frame", 2)?;
        ensure_positive(self.eta, "eta")?;
        ensure_positive(self.kkt_tol, "kkt_tol")?;
        at_least_one(self.steps, "steps")
    }

    fn run(&self, ctx: &RunContext) -> Result<Outputs> {
        let m = self.measure(ctx)?;
        Ok(self.report(&m))
    }
}

/// One free or clamped run of Fig 5.
struct Run {
    clamp: bool,
    /// `errors[t]`: the error after `t` steps.
    errors: Vec<f64>,
    /// The state at the thinned steps.
    records: Vec<Record>,
    /// Final gains.
    g: Vec<f64>,
    /// Final `diag(W^T C_yy W) - 1`.
    gradient: Vec<f64>,
    /// Final eigenvalues of `C_yy`, ascending.
    eig: Vec<f64>,
    /// The error of the final gains.
    error: f64,
}

/// The gains and the eigenvalues of `C_yy` after `step` steps.
struct Record {
    step: usize,
    g: Vec<f64>,
    eig: Vec<f64>,
}

/// One of the appendix's cases.
struct AppendixCase {
    name: &'static str,
    clamp: bool,
    /// The spec's step count.
    expected: usize,
    steps: usize,
    stop: StopReason,
    errors: Vec<f64>,
}

struct Measured {
    c: Mat<f64>,
    w: Mat<f64>,
    runs: [Run; 2],
    appendix: Vec<AppendixCase>,
}

/// `C_yy` and its eigenvalues, the gradient `diag(W^T C_yy W) - 1` and the error of `net`.
fn state(
    net: &GainNetwork,
    c: &Mat<f64>,
) -> std::result::Result<(Vec<f64>, Vec<f64>, f64), whiten_core::CoreError> {
    let (gradient, cyy) = net.gain_gradient(c.as_ref())?;
    let eig = sym_eigen(cyy.as_ref())?.values;
    let error = ErrorMeasure::Spectral.eval(cyy.as_ref(), net.clamp())?;
    Ok((eig, gradient, error))
}

/// The appendix's five cases: `(name, C, clamp, spec's steps)`.
fn appendix_cases() -> Vec<(&'static str, Mat<f64>, bool, usize)> {
    let c1 = Mat::from_fn(2, 2, |i, j| [[1.0, 0.7], [0.7, 1.4]][i][j]);
    let q = rotation(90.0);
    let c2 = &q * &c1 * q.transpose();
    let c3 = Mat::from_fn(2, 2, |i, j| 4.0 * c1[(i, j)]);
    // The dynamics panel: 2 C_1 with its smaller eigenvalue divided by 10.
    let e = sym_eigen(Mat::from_fn(2, 2, |i, j| 2.0 * c1[(i, j)]).as_ref())
        .expect("a fixed symmetric 2 x 2 matrix");
    let cd = covariance_with_spectrum(e.vectors.as_ref(), &[0.1 * e.values[0], e.values[1]]);
    vec![
        ("C_1, clamped", c1, true, 472),
        ("C_1 rotated 90 deg, clamped", c2, true, 673),
        ("4 C_1, clamped", c3, true, 1167),
        ("dynamics, free", cd.clone(), false, 643),
        ("dynamics, clamped", cd, true, 606),
    ]
}

impl NonnegativeGains {
    fn measure(&self, ctx: &RunContext) -> Result<Measured> {
        let mut rng = ctx.setup_rng();
        let q = haar_orthogonal(2, &mut rng);
        let c = covariance_with_spectrum(q.as_ref(), &self.eigenvalues);
        let w = self
            .frame
            .build(&[c.as_ref()], &mut rng)
            .map_err(|e| ctx.numerical("building the frame", e))?;
        let run = OfflineRun::new(self.eta, self.steps)
            .with_measure(ErrorMeasure::Spectral)
            .without_early_stop();
        let runs = [false, true].map(|clamp| -> Result<Run> {
            let what = if clamp { "clamped gains" } else { "free gains" };
            let at = |e| ctx.numerical(what, e);
            ctx.stop_point()?;
            let mut net = GainNetwork::new(w.clone(), vec![0.0; w.ncols()])
                .map_err(at)?
                .with_clamp(clamp);
            let trace = run_offline(&mut net, c.as_ref(), &run).map_err(at)?;
            let mut probe = net.clone();
            let mut records = Vec::new();
            for t in log_thinned_steps(trace.g_history.len()) {
                probe.set_gains(trace.g_history[t].clone()).map_err(at)?;
                records.push(Record {
                    step: t,
                    g: trace.g_history[t].clone(),
                    eig: state(&probe, &c).map_err(at)?.0,
                });
            }
            let (eig, gradient, error) = state(&net, &c).map_err(at)?;
            Ok(Run {
                clamp,
                errors: trace.errors,
                records,
                g: net.gains().to_vec(),
                gradient,
                eig,
                error,
            })
        });
        let [free, clamped] = runs;
        let runs = [free?, clamped?];
        let mut appendix = Vec::new();
        if self.appendix {
            let run = OfflineRun::new(1e-2, 100_000).with_measure(ErrorMeasure::Spectral);
            for (name, ca, clamp, expected) in appendix_cases() {
                ctx.stop_point()?;
                let at = |e| ctx.numerical(format!("appendix, {name}"), e);
                let mut net = GainNetwork::new(whiten_core::gain::frame::mercedes(), vec![0.0; 3])
                    .map_err(at)?
                    .with_clamp(clamp);
                let t = run_offline(&mut net, ca.as_ref(), &run).map_err(at)?;
                appendix.push(AppendixCase {
                    name,
                    clamp,
                    expected,
                    steps: t.steps,
                    stop: t.stop,
                    errors: t.errors,
                });
            }
        }
        Ok(Measured {
            c,
            w,
            runs,
            appendix,
        })
    }

    fn report(&self, m: &Measured) -> Outputs {
        let mut out = Outputs::default();
        let k = m.w.ncols();
        for r in &m.runs {
            let key = if r.clamp { "clamped" } else { "free" };
            out.summarize(
                key,
                serde_json::json!({
                    "g": r.g,
                    // Entries at rounding level are kept as 0 (`zero_below`).
                    "gradient": r.gradient.iter().map(|&d| zero_below(d, 1e-12)).collect::<Vec<_>>(),
                    "eigenvalues_cyy": r.eig,
                    "error": zero_below(r.error, 1e-12),
                }),
            );
        }
        if !m.appendix.is_empty() {
            let steps: serde_json::Map<String, serde_json::Value> = m
                .appendix
                .iter()
                .map(|a| (a.name.to_string(), serde_json::json!(a.steps)))
                .collect();
            out.summarize("appendix_steps", steps);
        }
        let mut columns: Vec<String> = ["run", "step", "error"].map(String::from).to_vec();
        columns.extend(indexed_columns("g", k));
        columns.extend(indexed_columns("eig_cyy", 2));
        let mut table = Table::with_columns("trajectories", columns);
        for r in &m.runs {
            for rec in &r.records {
                let mut row = vec![
                    (if r.clamp { "clamped" } else { "free" }).into(),
                    rec.step.into(),
                    r.errors.get(rec.step).copied().unwrap_or(r.error).into(),
                ];
                row.extend(indexed_cells(&rec.g, k));
                row.extend(indexed_cells(&rec.eig, 2));
                table.push(row);
            }
        }
        out.table(table);
        let mut table = Table::new(
            "appendix",
            &["case", "clamp", "steps", "expected_steps", "stop"],
        );
        for a in &m.appendix {
            table.push(vec![
                a.name.into(),
                (if a.clamp { "yes" } else { "no" }).into(),
                a.steps.into(),
                a.expected.into(),
                format!("{:?}", a.stop).into(),
            ]);
        }
        out.table(table);
        out.array("C", &[2, 2], row_major(m.c.as_ref()));
        out.array("W", &[2, k], row_major(m.w.as_ref()));
        out.figure(self.figure(m));
        for c in self.claims(m) {
            out.claim(c);
        }
        out
    }

    /// Gains, eigenvalues of `C_yy` and the error against steps, free (solid) and clamped
    /// (dashed); the appendix's error trajectories up to their early stop.
    fn figure(&self, m: &Measured) -> Figure {
        let x = || Axis::log("step");
        let mut gains = Panel::new(
            "gains g_i (solid: free, dashed: clamped g >= 0)",
            x(),
            Axis::linear("gain g_i"),
        );
        let mut eig = Panel::new(
            "eigenvalues of C_yy (target 1)",
            x(),
            Axis::log("eigenvalue of C_yy"),
        );
        let mut err = Panel::new(
            "error, (1/N) sum (lambda_i - 1)^2 (clamped: lambda_i > 1 only)",
            x(),
            Axis::log("spectral error"),
        );
        let last = self.steps as f64;
        gains = gains.with(
            Series::line("g = 0", vec![(1.0, 0.0), (last, 0.0)])
                .styled(Style::Dashed)
                .colored(GREY),
        );
        for r in &m.runs {
            let (style, name) = if r.clamp {
                (Style::Dashed, "clamped")
            } else {
                (Style::Line, "free")
            };
            let pts = |f: &dyn Fn(&Record) -> f64| -> Vec<(f64, f64)> {
                r.records
                    .iter()
                    .filter(|rec| rec.step > 0)
                    .map(|rec| (rec.step as f64, f(rec)))
                    .collect()
            };
            for i in 0..m.w.ncols() {
                gains = gains.with(
                    Series::line(format!("g_{}, {name}", i + 1), pts(&|rec| rec.g[i]))
                        .styled(style)
                        .colored(i),
                );
            }
            for i in 0..2 {
                eig = eig.with(
                    Series::line(format!("lambda_{}, {name}", i + 1), pts(&|rec| rec.eig[i]))
                        .styled(style)
                        .colored(i),
                );
            }
            let e: Vec<(f64, f64)> = r
                .errors
                .iter()
                .enumerate()
                .skip(1)
                .filter(|(t, _)| *t < 100 || t % 10 == 0)
                .map(|(t, &e)| (t as f64, e))
                .collect();
            err = err.with(Series::line(name, e).styled(style).colored(BLACK_INDEX));
        }
        eig = eig.with(
            Series::line("target 1", vec![(1.0, 1.0), (last, 1.0)])
                .styled(Style::Dashed)
                .colored(BLACK_INDEX),
        );
        gains.legend = Legend::UpperRight;
        let mut panels = vec![gains, eig, err];
        if !m.appendix.is_empty() {
            let mut app = Panel::new(
                "appendix: Mercedes frame, eta = 0.01, until the authors' early stop",
                x(),
                Axis::log("spectral error"),
            );
            for (i, a) in m.appendix.iter().enumerate() {
                let e: Vec<(f64, f64)> = a
                    .errors
                    .iter()
                    .enumerate()
                    .skip(1)
                    .map(|(t, &e)| (t as f64, e))
                    .collect();
                app = app.with(
                    Series::line(format!("{} ({} steps)", a.name, a.steps), e)
                        .styled(if a.clamp { Style::Dashed } else { Style::Line })
                        .colored(i),
                );
            }
            panels.push(app);
        }
        Figure::grid(
            "nonnegative_gains",
            format!(
                "Free and non-negative gains: C with eigenvalues {}, eta = {}",
                fmt_vec(&self.eigenvalues),
                self.eta
            ),
            panels,
            2,
        )
    }

    fn claims(&self, m: &Measured) -> Vec<crate::output::Claim> {
        let [free, clamped] = &m.runs;
        let negatives = free.g.iter().filter(|&&g| g < 0.0).count();
        // Whitening needs W diag(g) W^T = C^{1/2} - I; an eigenvalue of C below 1 makes it
        // indefinite, and a sum of g_i w_i w_i^T with g >= 0 is positive semi-definite.
        let needs_negative = self.eigenvalues.iter().any(|&l| l < 1.0);
        let mut claims = vec![claim(
            "p3.nonnegative_gains.free_whitens",
            "Free gains whiten the ill-conditioned input exactly, with a negative gain (C^{1/2} - I is indefinite)",
            format!(
                "spectral error < 1e-20 after {} steps; at least one gain < 0",
                self.steps
            ),
            format!(
                "error {}; g = {} ({negatives} negative)",
                bounded(free.error, 1e-20),
                fmt_vec(&free.g)
            ),
            free.error < 1e-20 && negatives >= 1 && needs_negative,
            "nonnegative_gains",
        )];
        let zeros = clamped.g.iter().filter(|&&g| g == 0.0).count();
        let kkt = clamped.g.iter().zip(&clamped.gradient).all(|(&g, &d)| {
            if g > 0.0 {
                d.abs() <= self.kkt_tol
            } else {
                g == 0.0 && d <= self.kkt_tol
            }
        });
        claims.push(claim(
            "p3.nonnegative_gains.clamped_kkt",
            "Clamped gains (projected ascent on g >= 0) stop at a boundary KKT point that does not whiten",
            format!(
                "a gain exactly 0; spectral error > 0; gradient diag(W^T C_yy W) - 1 within {:e} of 0 where g > 0 and <= {:e} where g = 0",
                self.kkt_tol, self.kkt_tol
            ),
            format!(
                "g = {} ({zeros} at 0), gradient {}, eig(C_yy) {}, error {}",
                fmt_vec(&clamped.g),
                clamped
                    .gradient
                    .iter()
                    .map(|&d| if d.abs() < 1e-12 {
                        "0 (below 1e-12)".to_owned()
                    } else {
                        format!("{d:.1e}")
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                fmt_vec(&clamped.eig),
                fmt3(clamped.error)
            ),
            zeros >= 1 && clamped.error > 0.0 && kkt,
            "nonnegative_gains",
        ));
        if !m.appendix.is_empty() {
            let show = |f: &dyn Fn(&AppendixCase) -> usize| {
                m.appendix
                    .iter()
                    .map(|a| f(a).to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            claims.push(claim(
                "p3.nonnegative_gains.appendix_steps",
                "Steps to the authors' early stop (allclose(g_prev, g)) in the appendix's deterministic runs: clamped C_1, C_1 rotated by 90 degrees, 4 C_1; the dynamics panel free and clamped",
                format!("exactly {}", show(&|a| a.expected)),
                format!("{} (every run stopped on convergence: {})", show(&|a| a.steps), m.appendix.iter().all(|a| a.stop == StopReason::Converged)),
                m.appendix.iter().all(|a| a.steps == a.expected && a.stop == StopReason::Converged),
                "nonnegative_gains",
            ));
        }
        if *self == Self::default() {
            let zeros_free = free.g.iter().filter(|&&g| g == 0.0).count();
            claims.push(comparison(
                "p3.nonnegative_gains.authors_fig5",
                "The authors' Fig 5 run by the spec (Q from numpy's seed 42069, so the gains differ with the orientation of C)",
                "free g (0.672, 1.227, -1.350), error 2.6e-29; clamped g (0.490, 0.992, 0), eig(C_yy) (0.0056, 1.331), error 0.0549 (agree: one negative free gain, one zero clamped gain, free error < 1e-20)",
                format!(
                    "free g {}, error {}; clamped g {}, eig(C_yy) {}, error {}",
                    fmt_vec(&free.g),
                    bounded(free.error, 1e-20),
                    fmt_vec(&clamped.g),
                    fmt_vec(&clamped.eig),
                    fmt3(clamped.error)
                ),
                negatives == 1 && zeros == 1 && zeros_free == 0 && free.error < 1e-20,
                "nonnegative_gains",
            ));
        }
        claims
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_claim_holds_on_a_few_seeds() {
        let e = NonnegativeGains::default();
        e.check().unwrap();
        for seed in [1, 2, 3] {
            let out = e
                .run(&RunContext::new("t", seed).without_progress())
                .unwrap();
            for c in out.claims.iter().filter(|c| !c.informative) {
                assert!(c.pass, "seed {seed}: {c:?}");
            }
        }
    }

    /// With every eigenvalue above 1, C^{1/2} - I is positive definite and the clamp never
    /// binds: no gain at 0, so the clamped claim fails, as it should.
    #[test]
    fn a_well_conditioned_input_leaves_the_clamp_idle() {
        let e = NonnegativeGains {
            eigenvalues: vec![4.0, 2.0],
            appendix: false,
            ..NonnegativeGains::default()
        };
        let out = e.run(&RunContext::new("t", 1).without_progress()).unwrap();
        let get = |id: &str| out.claims.iter().find(|c| c.id == id).unwrap();
        assert!(!get("p3.nonnegative_gains.clamped_kkt").pass);
        assert!(!get("p3.nonnegative_gains.free_whitens").pass);
    }

    #[test]
    fn bad_parameters_are_refused() {
        for e in [
            NonnegativeGains {
                eigenvalues: vec![1.0],
                ..NonnegativeGains::default()
            },
            NonnegativeGains {
                eigenvalues: vec![1.0, 0.0],
                ..NonnegativeGains::default()
            },
            NonnegativeGains {
                frame: Frame::Equiangular3d,
                ..NonnegativeGains::default()
            },
            NonnegativeGains {
                kkt_tol: 0.0,
                ..NonnegativeGains::default()
            },
        ] {
            assert!(e.check().is_err(), "{e:?}");
        }
    }
}
