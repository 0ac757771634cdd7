//! `patch_contexts` (paper B, NeurIPS 2023, images): contexts are the covariances of 5 x 5
//! image patches (`N = 25`) from different image regions; synapses `W` (`K = 25`) learned
//! across training contexts in the fast-gain limit let adapted gains whiten **unseen** test
//! contexts.
//!
//! Contexts (spec B2): in each image, a random walk of patch positions (steps `N(0, sigma^2)`
//! per coordinate, reflected at the borders, the authors' `sigma = 0.5`) collects `walk_steps`
//! patches; their centred covariance `C` is scaled to spectral norm 10 and kept if
//! `cond(C + 1e-3 I) < max_condition` (authors: 20). The images are first centre-surround
//! filtered (each pixel minus `surround` times the mean of its 3 x 3 neighbourhood), a crude stand-in for the
//! authors' filtered van Hateren images, which makes the patch covariances well enough
//! conditioned to pass the test; the number kept is reported.
//!
//! Learning (variant (i), the poster's): each step a random training context `c`,
//! `g = g_opt(W, C_c)`, `W <- W + eta_w (C_rr - I) W G` (`eta_w = 5e-2`), from a random
//! orthogonal `W_0`. On the test contexts the error `||C_rr - I||_2` is reported with adapted
//! gains (`g_opt` of that context, learned `W`), with fixed gains (the median of the training
//! contexts' optimal gains), with a random orthogonal `W` (adapted gains), and without
//! interneurons (`K = 0`: `||C - I||_2`, which is 9 for every context scaled to norm 10).

use faer::Mat;
use rand::RngExt;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};
use whiten_core::cov::{haar_orthogonal, sym_eigen};
use whiten_core::gain::{MultiTimescaleNetwork, spectral_norm_error};
use whiten_core::signal::Image;

use super::contexts_setup::{
    adapted_error, error_with_gains, learn_fast_gains, mean, median, median_optimal_gains,
};
use crate::context::RunContext;
use crate::error::{ParamError, Result};
use crate::experiment::{Experiment, ParamDoc, param};
use crate::kinds::common::{at_least_one, bounded, ensure, ensure_positive};
use crate::kinds::paper2::ImageSource;
use crate::output::{Claim, Outputs, Table};
use crate::plot::{Axis, BLACK_INDEX, Figure, Legend, Panel, Series, Style};

/// Side of the patches (5 x 5, `N = 25`).
const SIDE: usize = 5;
const N: usize = SIDE * SIDE;
/// Spectral norm the contexts are scaled to (authors: 10).
const NORM: f64 = 10.0;
/// Ridge of the condition test (authors: 1e-3).
const RIDGE: f64 = 1e-3;

/// Parameters of `patch_contexts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PatchContexts {
    /// The images: generated dead-leaves images by default, or a file or folder
    /// (`orientation` and `signal` do not apply).
    pub source: ImageSource,
    /// Weight `s` of the surround in the pre-filter `x - s mean_3x3(x)` (0: raw pixels,
    /// 1: full centre-surround).
    pub surround: f64,
    /// Random walks (candidate contexts) per image.
    pub walks_per_image: usize,
    /// Patches per walk (authors: 20000).
    pub walk_steps: usize,
    /// Standard deviation of a walk's step per coordinate, pixels (authors: 0.5).
    pub walk_sigma: f64,
    /// Contexts are kept if `cond(C + 1e-3 I)` is below this (authors: 20).
    pub max_condition: f64,
    /// Share of the kept contexts held out for testing (authors' poster: 0.1; notebook 0.2).
    pub test_fraction: f64,
    /// Fast-gain steps (authors' poster: 20000).
    pub steps: usize,
    /// Synaptic learning rate `eta_w` (authors: 5e-2).
    pub eta_w: f64,
    /// Record the training error every this many steps.
    pub record_every: usize,
    /// Seeds: each its own split, `W_0`, context order and random `W`.
    pub seeds: usize,
}

impl Default for PatchContexts {
    fn default() -> Self {
        Self {
            source: ImageSource {
                generated: 8,
                crop: 256,
                ..ImageSource::default()
            },
            surround: 0.8,
            walks_per_image: 16,
            walk_steps: 20_000,
            walk_sigma: 0.5,
            max_condition: 20.0,
            test_fraction: 0.2,
            steps: 20_000,
            eta_w: 5e-2,
            record_every: 50,
            seeds: 2,
        }
    }
}

const MAX_SEEDS: usize = 16;
/// Test errors below this count as rounding error in the summary.
const FLOOR: f64 = 1e-12;

impl Experiment for PatchContexts {
    const KIND: &'static str = "patch_contexts";
    const DESCRIPTION: &'static str = "Paper B (NeurIPS 2023), images: W learned across 5x5 patch-covariance contexts lets adapted gains whiten unseen contexts";
    const PARAMS: &'static [ParamDoc] = &[
        param(
            "source",
            "images: (images: Some(\"file or folder\"), relative to the experiment file's folder; or generated dead-leaves images: generated, image_seed), crop (even, >= 16)",
        ),
        param(
            "walks_per_image",
            "random walks (candidate contexts) per image (>= 1)",
        ),
        param("walk_steps", "patches per walk (>= 100; authors 20000)"),
        param(
            "walk_sigma",
            "step s.d. of a walk per coordinate, pixels (> 0; authors 0.5)",
        ),
        param(
            "max_condition",
            "keep a context if cond(C + 1e-3 I) is below this (> 1; authors 20)",
        ),
        param(
            "test_fraction",
            "share of kept contexts held out for testing (0 < f < 1; at least one of each)",
        ),
        param("steps", "fast-gain learning steps (>= 1; authors 20000)"),
        param("eta_w", "synaptic learning rate (> 0; authors 5e-2)"),
        param(
            "record_every",
            "record the training error every this many steps (>= 1)",
        ),
        param("seeds", "seeds, each its own split, W_0 and order (1..=16)"),
    ];

    fn inputs(&self) -> Vec<std::path::PathBuf> {
        self.source.files(None)
    }

    fn resolve_paths(&mut self, base: &std::path::Path) -> Result<(), ParamError> {
        self.source.resolve_paths(base)
    }

    fn check(&self) -> Result<(), ParamError> {
        self.source.refuse_signal(
            "patch_contexts takes patch covariances from images; give `images` or leave it out for generated images",
        )?;
        self.source.check()?;
        ensure(self.source.crop >= 16, "source.crop", || {
            format!(
                "must be at least 16 for 5 x 5 patches (got {})",
                self.source.crop
            )
        })?;
        ensure((0.0..=1.0).contains(&self.surround), "surround", || {
            format!("must be in [0, 1] (got {})", self.surround)
        })?;
        at_least_one(self.walks_per_image, "walks_per_image")?;
        ensure(self.walk_steps >= 100, "walk_steps", || {
            format!("must be at least 100 (got {})", self.walk_steps)
        })?;
        ensure_positive(self.walk_sigma, "walk_sigma")?;
        ensure(
            self.max_condition.is_finite() && self.max_condition > 1.0,
            "max_condition",
            || format!("must be finite and above 1 (got {})", self.max_condition),
        )?;
        ensure(
            self.test_fraction > 0.0 && self.test_fraction < 1.0,
            "test_fraction",
            || format!("must be in (0, 1) (got {})", self.test_fraction),
        )?;
        at_least_one(self.steps, "steps")?;
        ensure_positive(self.eta_w, "eta_w")?;
        at_least_one(self.record_every, "record_every")?;
        ensure((1..=MAX_SEEDS).contains(&self.seeds), "seeds", || {
            format!("must be in 1..={MAX_SEEDS} (got {})", self.seeds)
        })?;
        self.source.check_files(None)
    }

    fn run(&self, ctx: &RunContext) -> Result<Outputs> {
        let (contexts, candidates) = self.contexts(ctx)?;
        if contexts.len() < 2 {
            return Err(ctx.failure(format!(
                "only {} of {candidates} candidate contexts have cond(C + 1e-3 I) < {}: need at least 2 (raise max_condition, walks_per_image or the number of images)",
                contexts.len(),
                self.max_condition
            )));
        }
        let runs = ctx.par_tasks(self.seeds, "patch contexts", |seed, rng| {
            self.seed_run(&contexts, seed, rng, ctx)
        })?;
        let mut out = Outputs::default();
        self.report(&mut out, &runs, contexts.len(), candidates);
        out.figure(self.figure(&runs));
        self.claims(&mut out, &runs);
        Ok(out)
    }
}

/// Centre-surround filter: each interior pixel minus `surround` times the mean of its 3 x 3
/// neighbourhood (itself included); the result is `(w - 2) x (h - 2)`, row-major.
fn centre_surround(img: &Image, surround: f64) -> (usize, usize, Vec<f64>) {
    let (w, h) = (img.width, img.height);
    let px = |r: usize, c: usize| img.pixels[r * w + c];
    let mut out = Vec::with_capacity((w - 2) * (h - 2));
    for r in 1..h - 1 {
        for c in 1..w - 1 {
            let m: f64 = (r - 1..=r + 1)
                .flat_map(|rr| (c - 1..=c + 1).map(move |cc| (rr, cc)))
                .map(|(rr, cc)| px(rr, cc))
                .sum::<f64>()
                / 9.0;
            out.push(px(r, c) - surround * m);
        }
    }
    (w - 2, h - 2, out)
}

/// Reflects `x` into `[0, hi]`.
fn reflect(mut x: f64, hi: f64) -> f64 {
    for _ in 0..4 {
        if x < 0.0 {
            x = -x;
        } else if x > hi {
            x = 2.0 * hi - x;
        } else {
            break;
        }
    }
    x.clamp(0.0, hi)
}

/// The centred covariance (`25 x 25`) of the 5 x 5 patches along one random walk of `steps`
/// positions in the `w x h` image `px` (top-left corners, reflected at the borders).
fn walk_covariance<R: rand::Rng + ?Sized>(
    (w, h, px): (usize, usize, &[f64]),
    steps: usize,
    sigma: f64,
    rng: &mut R,
) -> Mat<f64> {
    let (xmax, ymax) = ((w - SIDE) as f64, (h - SIDE) as f64);
    let mut x = rng.random_range(0.0..=xmax);
    let mut y = rng.random_range(0.0..=ymax);
    let mut sum = [0.0; N];
    let mut prod = Mat::<f64>::zeros(N, N);
    let mut p = [0.0; N];
    for _ in 0..steps {
        let (c0, r0) = (x.round() as usize, y.round() as usize);
        for (k, v) in p.iter_mut().enumerate() {
            *v = px[(r0 + k / SIDE) * w + c0 + k % SIDE];
        }
        for i in 0..N {
            sum[i] += p[i];
            for j in 0..=i {
                prod[(i, j)] += p[i] * p[j];
            }
        }
        let dx: f64 = rng.sample(StandardNormal);
        let dy: f64 = rng.sample(StandardNormal);
        x = reflect(x + sigma * dx, xmax);
        y = reflect(y + sigma * dy, ymax);
    }
    let t = steps as f64;
    Mat::from_fn(N, N, |i, j| {
        let (a, b) = if j <= i { (i, j) } else { (j, i) };
        prod[(a, b)] / t - sum[a] * sum[b] / (t * t)
    })
}

/// `C` scaled to spectral norm 10, if `cond(C + 1e-3 I) < max_condition` (and `C` is
/// positive definite); `None` otherwise.
fn scaled_if_conditioned(c: &Mat<f64>, max_condition: f64) -> Option<Mat<f64>> {
    let e = sym_eigen(c.as_ref()).ok()?;
    let (lo, hi) = (*e.values.first()?, *e.values.last()?);
    if !(lo > 0.0 && hi.is_finite()) {
        return None;
    }
    let s = NORM / hi;
    // cond of the scaled matrix plus the ridge (the authors test after scaling).
    let cond = (NORM + RIDGE) / (s * lo + RIDGE);
    (cond < max_condition).then(|| Mat::from_fn(N, N, |i, j| s * c[(i, j)]))
}

/// One seed's learned `W` evaluated on its test contexts.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SeedRun {
    /// Training contexts and test contexts (indices into the kept contexts).
    train: Vec<usize>,
    test: Vec<usize>,
    /// `(step, error of that step's C_rr)` on the training contexts.
    train_errors: Vec<(usize, f64)>,
    /// Per test context: adapted gains, fixed gains, random W, K = 0.
    test_errors: Vec<[f64; 4]>,
}

const CONDITIONS: [&str; 4] = ["adapted gains", "fixed gains", "random W", "K = 0"];

impl SeedRun {
    /// Mean over the test contexts of condition `i`.
    fn mean_test(&self, i: usize) -> f64 {
        mean(&self.test_errors.iter().map(|e| e[i]).collect::<Vec<_>>())
    }
}

impl PatchContexts {
    /// The kept contexts (every image's walks, in order) and the number of candidates.
    fn contexts(&self, ctx: &RunContext) -> Result<(Vec<Mat<f64>>, usize)> {
        let images = self.source.count(ctx)?;
        let per_image = ctx.par_tasks(images, "patch covariances", |i, rng| {
            let (_, img) = self.source.image(i, ctx)?;
            let (w, h, px) = centre_surround(&img, self.surround);
            let mut kept = Vec::new();
            for _ in 0..self.walks_per_image {
                ctx.stop_point()?;
                let c = walk_covariance((w, h, &px), self.walk_steps, self.walk_sigma, rng);
                if let Some(s) = scaled_if_conditioned(&c, self.max_condition) {
                    kept.push(crate::output::row_major(s.as_ref()));
                }
            }
            Ok(kept)
        })?;
        let contexts = per_image
            .into_iter()
            .flatten()
            .map(|v| Mat::from_fn(N, N, |i, j| v[i * N + j]))
            .collect();
        Ok((contexts, images * self.walks_per_image))
    }

    /// Splits the contexts, learns `W` in the fast-gain limit and measures the test errors.
    fn seed_run(
        &self,
        contexts: &[Mat<f64>],
        seed: usize,
        rng: &mut rand_chacha::ChaCha8Rng,
        ctx: &RunContext,
    ) -> Result<SeedRun> {
        let what = format!("seed {seed}");
        let mut order: Vec<usize> = (0..contexts.len()).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.random_range(0..=i));
        }
        let n_test = ((self.test_fraction * contexts.len() as f64).round() as usize)
            .clamp(1, contexts.len() - 1);
        let (test, train) = order.split_at(n_test);
        let train_c: Vec<Mat<f64>> = train.iter().map(|&i| contexts[i].clone()).collect();
        let mut net = MultiTimescaleNetwork::new(haar_orthogonal(N, rng), vec![0.0; N])
            .map_err(|e| ctx.numerical(&what, e))?;
        let run = learn_fast_gains(
            &mut net,
            &train_c,
            self.steps,
            self.eta_w,
            self.record_every,
            |_| 0.0,
            rng,
            ctx,
            &what,
        )?;
        let w = net.w().to_owned();
        let fixed = median_optimal_gains(w.as_ref(), &train_c)
            .map_err(|e| ctx.numerical(format!("{what}, fixed gains"), e))?;
        let random_w = haar_orthogonal(N, rng);
        let test_errors = test
            .iter()
            .map(|&i| {
                let c = contexts[i].as_ref();
                let num = |at: &str, e| ctx.numerical(format!("{what}, test context {i}, {at}"), e);
                Ok([
                    adapted_error(w.as_ref(), c).map_err(|e| num("adapted gains", e))?,
                    error_with_gains(w.as_ref(), &fixed, c).map_err(|e| num("fixed gains", e))?,
                    adapted_error(random_w.as_ref(), c).map_err(|e| num("random W", e))?,
                    spectral_norm_error(c).map_err(|e| num("K = 0", e))?,
                ])
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(SeedRun {
            train: train.to_vec(),
            test: test.to_vec(),
            train_errors: run.errors,
            test_errors,
        })
    }

    /// Table (one row per seed and test context) and summary (means per seed).
    fn report(&self, out: &mut Outputs, runs: &[SeedRun], kept: usize, candidates: usize) {
        let mut table = Table::new(
            "patch_contexts",
            &[
                "seed",
                "test_context",
                "adapted_gains",
                "fixed_gains",
                "random_w",
                "k0",
            ],
        );
        let mut per_seed = Vec::new();
        for (seed, r) in runs.iter().enumerate() {
            for (&c, e) in r.test.iter().zip(&r.test_errors) {
                table.push(vec![
                    seed.into(),
                    c.into(),
                    e[0].into(),
                    e[1].into(),
                    e[2].into(),
                    e[3].into(),
                ]);
            }
            let first: Vec<f64> = r.train_errors.iter().take(10).map(|p| p.1).collect();
            let last: Vec<f64> = r.train_errors.iter().rev().take(10).map(|p| p.1).collect();
            per_seed.push(serde_json::json!({
                "train_contexts": r.train.len(),
                "test_contexts": r.test.len(),
                "train_error_first_records": mean(&first),
                "train_error_last_records": mean(&last).max(FLOOR),
                "test_adapted_gains": r.mean_test(0).max(FLOOR),
                "test_fixed_gains": r.mean_test(1),
                "test_random_w": r.mean_test(2),
                "test_k0": r.mean_test(3),
            }));
        }
        out.summarize("contexts_kept", kept);
        out.summarize("contexts_candidates", candidates);
        out.summarize("seeds", per_seed);
        out.table(table);
    }

    /// Training error over steps (block means per seed) and the four test errors per test
    /// context (first seed).
    fn figure(&self, runs: &[SeedRun]) -> Figure {
        let mut train = Panel::new(
            "Training (fast-gain limit), block means",
            Axis::linear("step"),
            Axis::log("||C_rr - I||_2 of the step's context"),
        );
        for (seed, r) in runs.iter().enumerate() {
            let width = r.train_errors.len().div_ceil(40).max(1);
            let pts = r
                .train_errors
                .chunks_exact(width)
                .map(|c| {
                    (
                        c[0].0 as f64,
                        mean(&c.iter().map(|p| p.1.max(FLOOR)).collect::<Vec<_>>()),
                    )
                })
                .collect();
            train = train.with(Series::line(format!("seed {seed}"), pts).colored(seed));
        }
        let mut test = Panel::new(
            "Test contexts (seed 0)",
            Axis::linear("test context"),
            Axis::log("||C_rr - I||_2"),
        );
        if let Some(r) = runs.first() {
            for (i, label) in CONDITIONS.iter().enumerate() {
                let pts = r
                    .test_errors
                    .iter()
                    .enumerate()
                    .map(|(k, e)| (k as f64 + 1.0, e[i].max(FLOOR)))
                    .collect();
                let color = if i == 3 { BLACK_INDEX } else { i };
                test = test.with(
                    Series::line(format!("{label} (mean {:.3})", r.mean_test(i)), pts)
                        .styled(Style::LineMarkers)
                        .colored(color),
                );
            }
        }
        Figure::grid(
            "patch_contexts",
            "Synapses learned across patch contexts let adapted gains whiten unseen contexts",
            vec![
                train.legend_at(Legend::UpperRight),
                test.legend_at(Legend::UpperRight),
            ],
            2,
        )
    }

    /// The ordering on the test contexts (every seed), the K = 0 closed form, and the authors'
    /// van Hateren numbers.
    fn claims(&self, out: &mut Outputs, runs: &[SeedRun]) {
        let means: Vec<[f64; 4]> = runs
            .iter()
            .map(|r| [0, 1, 2, 3].map(|i| r.mean_test(i)))
            .collect();
        let show = |m: &[f64; 4]| format!("{:.3} < {:.3} < {:.3} < {:.3}", m[0], m[1], m[2], m[3]);
        let ordered = means
            .iter()
            .all(|m| m[0] < m[1] && m[1] < m[2] && m[2] < m[3]);
        let measured: Vec<String> = means
            .iter()
            .enumerate()
            .map(|(s, m)| format!("seed {s}: {}", show(m)))
            .collect();
        out.claim(Claim {
            id: "p3.patch_contexts.ordering".into(),
            paper: 3,
            statement: "On unseen patch contexts, W learned across contexts with adapted gains whitens better than with fixed gains, which beats a random W with adapted gains, which beats no interneurons".into(),
            expected: "mean test error: adapted gains < fixed gains < random W < K = 0, in every seed".into(),
            measured: measured.join("; "),
            pass: ordered,
            figure: Some("patch_contexts".into()),
            informative: false,
        });
        let k0_dev = runs
            .iter()
            .flat_map(|r| r.test_errors.iter().map(|e| (e[3] - (NORM - 1.0)).abs()))
            .fold(0.0f64, f64::max);
        out.claim(Claim {
            id: "p3.patch_contexts.k0_error".into(),
            paper: 3,
            statement: "Without interneurons the error of a context scaled to spectral norm 10 is ||C - I||_2 = 9 (the authors' saved K = 0 error 9.0)".into(),
            expected: "|error - 9| < 1e-9 on every test context".into(),
            measured: format!("largest deviation {}", bounded(k0_dev, 1e-12)),
            pass: k0_dev < 1e-9,
            figure: Some("patch_contexts".into()),
            informative: false,
        });
        let med = [0, 1, 2].map(|i| median(&means.iter().map(|m| m[i]).collect::<Vec<_>>()));
        let authors = [0.40, 1.07, 4.4];
        let agrees = med
            .iter()
            .zip(authors)
            .all(|(m, a)| (a / 2.0..=a * 2.0).contains(m));
        out.claim(Claim {
            id: "p3.patch_contexts.authors_van_hateren".into(),
            paper: 3,
            statement: "The authors' test errors on van Hateren patch contexts (variant (i), seeds 0/1/18): adapted gains 0.40, fixed gains 1.07, random W 4.4".into(),
            expected: "medians over seeds within a factor 2 of 0.40 / 1.07 / 4.4 (our contexts come from other images)".into(),
            measured: format!("{:.3} / {:.3} / {:.3}", med[0], med[1], med[2]),
            pass: agrees,
            figure: Some("patch_contexts".into()),
            informative: true,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn refuses_impossible_parameters() {
        let bad = [
            PatchContexts {
                walks_per_image: 0,
                ..Default::default()
            },
            PatchContexts {
                walk_steps: 10,
                ..Default::default()
            },
            PatchContexts {
                walk_sigma: 0.0,
                ..Default::default()
            },
            PatchContexts {
                max_condition: 1.0,
                ..Default::default()
            },
            PatchContexts {
                test_fraction: 1.0,
                ..Default::default()
            },
            PatchContexts {
                test_fraction: 0.0,
                ..Default::default()
            },
            PatchContexts {
                steps: 0,
                ..Default::default()
            },
            PatchContexts {
                eta_w: -1.0,
                ..Default::default()
            },
            PatchContexts {
                seeds: 0,
                ..Default::default()
            },
            PatchContexts {
                source: ImageSource {
                    crop: 8,
                    ..ImageSource::default()
                },
                ..Default::default()
            },
        ];
        for p in bad {
            assert!(p.check().is_err(), "{p:?}");
        }
        assert!(PatchContexts::default().check().is_ok());
    }

    /// On white noise the walk covariance is about the pixel variance times I, and the
    /// scaled context has spectral norm 10 (so K = 0 gives error 9).
    #[test]
    fn white_noise_contexts_are_near_identity_and_scaled() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let (w, h) = (64, 64);
        let px: Vec<f64> = (0..w * h).map(|_| rng.sample(StandardNormal)).collect();
        let c = walk_covariance((w, h, &px), 20_000, 20.0, &mut rng);
        for i in 0..N {
            for j in 0..N {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((c[(i, j)] - want).abs() < 0.1, "{i},{j}: {}", c[(i, j)]);
            }
        }
        let s = scaled_if_conditioned(&c, 20.0).unwrap();
        let e = sym_eigen(s.as_ref()).unwrap();
        assert!((e.values[N - 1] - NORM).abs() < 1e-9);
        assert!((spectral_norm_error(s.as_ref()).unwrap() - 9.0).abs() < 1e-9);
        // A rank-deficient covariance fails the condition test.
        let v = Mat::from_fn(N, 1, |i, _| i as f64);
        assert!(scaled_if_conditioned(&(&v * v.transpose()), 20.0).is_none());
    }

    #[test]
    fn centre_surround_removes_constants_and_reflect_stays_inside() {
        let img = Image {
            width: 6,
            height: 5,
            pixels: vec![3.0; 30],
        };
        let (w, h, px) = centre_surround(&img, 1.0);
        assert_eq!((w, h), (4, 3));
        assert!(px.iter().all(|v| v.abs() < 1e-15));
        for x in [-3.0, 0.0, 2.5, 11.0, 25.0] {
            let r = reflect(x, 10.0);
            assert!((0.0..=10.0).contains(&r), "{x} -> {r}");
        }
        assert_eq!(reflect(-3.0, 10.0), 3.0);
        assert_eq!(reflect(11.0, 10.0), 9.0);
    }
}
