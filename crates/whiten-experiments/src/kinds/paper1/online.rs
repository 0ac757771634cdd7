//! The streaming loop shared by `online_learning` and `adaptation`: both networks learn from
//! the same stream of samples, drawn from a covariance that may switch over time, and their
//! errors are recorded at a fixed cadence.
//!
//! Online updates, one sample `x` (or the mean over a mini-batch):
//!
//! * direct (Algorithm 1): `y = M^{-1} x`, `M <- M + eta (y y^T - I)`;
//! * interneurons (Algorithm 2): `y = (W W^T)^{-1} x`, `n = W^T y`, `W <- W + eta (y n^T - W)`.
//!
//! Two errors are recorded: the exact `||C_yy - I||_op` with `C_yy = M^{-1} C M^{-1}` for the
//! covariance in force, and the estimate from the sliding-window covariance of the outputs
//! actually produced (what an observer of the circuit could measure).
//!
//! With a constant rate the exact error never settles: each update moves `M` by a random
//! `O(eta)` step, so `M` fluctuates around `C^{1/2}` with a variance proportional to `eta` and the
//! error has a stochastic floor growing like `sqrt(eta)` (spec 1, section 4.3). "Converged" is
//! therefore judged against that floor, measured by [`NoiseFloor`]: the same networks, rate and
//! stream statistics, started at the optimum.
//!
//! Samples come from a [`Source`]: Gaussian with a given covariance, or the rows of a user's
//! data matrix (centred), streamed in epochs, each a fresh permutation drawn from the task's
//! seeded stream, so every row is seen once per epoch and the order is reproducible.

use faer::Mat;
use whiten_core::CoreError;
use whiten_core::cov::{GaussianSource, sym_sqrt};
use whiten_core::linear::{DirectNetwork, InterneuronNetwork, WhiteningNetwork};
use whiten_core::metrics::{SlidingCovariance, whitening_error_from_cyy};

use crate::context::RunContext;
use crate::error::Result;

/// Samples between two polls of the cancellation flag (an atomic load; a sample costs ~5 us).
const CANCEL_POLL: usize = 256;

/// Where the samples of a stream come from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// Zero-mean Gaussian samples of a covariance.
    Gaussian(GaussianSource),
    /// The columns of a data matrix (centred samples), in shuffled epochs.
    Data {
        /// The samples, `n x N`.
        samples: Mat<f64>,
        /// Their covariance.
        c: Mat<f64>,
        /// Its symmetric square root.
        c_sqrt: Mat<f64>,
    },
}

impl Source {
    /// Samples of a data matrix (`n x N`, centred) with covariance `c`.
    pub fn data(samples: Mat<f64>, c: Mat<f64>) -> Result<Self, CoreError> {
        let c_sqrt = sym_sqrt(c.as_ref())?;
        Ok(Source::Data { samples, c, c_sqrt })
    }

    /// Dimension `n` of the samples.
    pub fn dim(&self) -> usize {
        self.covariance().nrows()
    }

    /// The covariance `C` of the samples.
    pub fn covariance(&self) -> faer::MatRef<'_, f64> {
        match self {
            Source::Gaussian(g) => g.covariance(),
            Source::Data { c, .. } => c.as_ref(),
        }
    }

    /// `C^{1/2}`, the optimum `M*`.
    pub fn covariance_sqrt(&self) -> faer::MatRef<'_, f64> {
        match self {
            Source::Gaussian(g) => g.covariance_sqrt(),
            Source::Data { c_sqrt, .. } => c_sqrt.as_ref(),
        }
    }

    /// `t` samples as the columns of an `n x t` matrix; `epoch` is the data order state of
    /// this source in the current run.
    fn sample(&self, t: usize, epoch: &mut Epoch, rng: &mut rand_chacha::ChaCha8Rng) -> Mat<f64> {
        match self {
            Source::Gaussian(g) => g.sample(t, rng),
            Source::Data { samples, .. } => {
                let cols: Vec<usize> = (0..t).map(|_| epoch.next(samples.ncols(), rng)).collect();
                Mat::from_fn(samples.nrows(), t, |i, j| samples[(i, cols[j])])
            }
        }
    }
}

/// The order in which a data source's rows are streamed: a permutation per epoch.
#[derive(Debug, Default)]
struct Epoch {
    order: Vec<usize>,
    next: usize,
}

impl Epoch {
    /// The next row of `len`, reshuffling (Fisher-Yates, from `rng`) at the start of each epoch.
    fn next(&mut self, len: usize, rng: &mut rand_chacha::ChaCha8Rng) -> usize {
        use rand::RngExt;
        if self.next >= self.order.len() {
            self.order = (0..len).collect();
            for i in (1..len).rev() {
                let j = rng.random_range(0..=i);
                self.order.swap(i, j);
            }
            self.next = 0;
        }
        self.next += 1;
        self.order[self.next - 1]
    }
}

/// Settings of a streaming run.
pub(crate) struct Stream<'a> {
    /// Sample sources (covariances), in the order they are in force.
    pub sources: &'a [Source],
    /// Samples between switches (`usize::MAX`: never).
    pub period: usize,
    /// Samples in all.
    pub total: usize,
    /// Samples per update.
    pub batch: usize,
    /// Learning rate.
    pub eta: f64,
    /// Sliding-window length of the output covariance estimate.
    pub window: usize,
    /// Samples between records.
    pub record_every: usize,
}

/// Errors recorded for the two networks (index 0 direct, 1 interneuron).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Trace {
    /// Samples seen at each record.
    pub samples: Vec<usize>,
    /// Exact errors.
    pub exact: [Vec<f64>; 2],
    /// Sliding-window estimates (NaN until the window is full).
    pub windowed: [Vec<f64>; 2],
}

impl Stream<'_> {
    /// The covariance in force after `t` samples.
    pub fn source_at(&self, t: usize) -> &Source {
        &self.sources[self.source_index(t)]
    }

    /// The index of the source in force after `t` samples.
    fn source_index(&self, t: usize) -> usize {
        (t / self.period) % self.sources.len()
    }

    /// Streams samples from `rng` through both networks.
    pub fn run(
        &self,
        nets: [&mut dyn WhiteningNetwork; 2],
        rng: &mut rand_chacha::ChaCha8Rng,
        ctx: &RunContext,
        what: &str,
    ) -> Result<Trace> {
        let n = self.sources[0].dim();
        let mut windows = [
            SlidingCovariance::new(n, self.window),
            SlidingCovariance::new(n, self.window),
        ];
        let mut trace = Trace::default();
        let mut epochs: Vec<Epoch> = self.sources.iter().map(|_| Epoch::default()).collect();
        let [d, w] = nets;
        let mut nets: [&mut dyn WhiteningNetwork; 2] = [d, w];
        let notes: Vec<String> = nets
            .iter()
            .map(|net| {
                super::setup::stability_note(net.label(), self.eta, self.sources[0].covariance())
            })
            .collect();
        let mut t = 0;
        let mut next_record = 0;
        let mut next_poll = 0;
        loop {
            if t >= next_poll {
                if ctx.cancelled() {
                    return Err(ctx.cancellation());
                }
                next_poll += CANCEL_POLL;
            }
            if t >= next_record {
                // At a switch, the covariance just switched to (the error before adapting);
                // at the end, the one the last samples came from.
                let c = self.source_at(if t == self.total { t.max(1) - 1 } else { t });
                let c = c.covariance();
                trace.samples.push(t);
                for (i, net) in nets.iter().enumerate() {
                    let cyy = net.output_covariance(c).map_err(|e| {
                        ctx.numerical(format!("{} network, {what}, sample {t}", net.label()), e)
                    })?;
                    trace.exact[i].push(whitening_error_from_cyy(cyy.as_ref()));
                    trace.windowed[i].push(if windows[i].is_full() {
                        whitening_error_from_cyy(windows[i].estimate().as_ref())
                    } else {
                        f64::NAN
                    });
                }
                next_record += self.record_every;
            }
            if t >= self.total {
                break;
            }
            // A batch never straddles a switch of the covariance.
            let to_switch = self.period.saturating_sub(t % self.period).max(1);
            let b = self.batch.min(self.total - t).min(to_switch);
            let s = self.source_index(t);
            let x = self.sources[s].sample(b, &mut epochs[s], rng);
            for (i, net) in nets.iter_mut().enumerate() {
                let label = net.label();
                let at = |e| {
                    ctx.numerical(
                        format!("{label} network, {what}, sample {t}{}", notes[i]),
                        e,
                    )
                };
                let y = net.respond(x.as_ref()).map_err(at)?;
                windows[i].push_columns(y.as_ref());
                net.online_step(x.as_ref(), self.eta).map_err(at)?;
            }
            t += b;
        }
        Ok(trace)
    }
}

/// First recorded sample count from `from` (inclusive) at which `errors` drops below
/// `threshold`, as samples after `from`.
pub(crate) fn samples_to_threshold(
    trace: &Trace,
    net: usize,
    from: usize,
    until: usize,
    threshold: f64,
) -> Option<usize> {
    trace
        .samples
        .iter()
        .zip(&trace.exact[net])
        .find(|&(&s, &e)| s >= from && s <= until && e < threshold)
        .map(|(&s, _)| s - from)
}

/// Records in the figures' running median of an exact-error trace (odd: centred).
pub(crate) const MEDIAN_RECORDS: usize = 21;

/// The running median of `trace`'s exact errors of network `net`, over [`MEDIAN_RECORDS`]
/// records centred on each, for a figure. With `period`, the window never reaches across a
/// multiple of `period` samples (a switch of the input), and the line breaks there, so that
/// the median does not lag behind a switch.
pub(crate) fn running_median(trace: &Trace, net: usize, period: Option<usize>) -> Vec<(f64, f64)> {
    let period_of = |s: usize| period.map_or(0, |p| s.saturating_sub(1) / p.max(1));
    let (samples, errors) = (&trace.samples, &trace.exact[net]);
    let half = MEDIAN_RECORDS / 2;
    let mut out = Vec::with_capacity(samples.len() + 8);
    for i in 0..samples.len() {
        let here = period_of(samples[i]);
        let mut w: Vec<f64> = (i.saturating_sub(half)..(i + half + 1).min(samples.len()))
            .filter(|&j| period_of(samples[j]) == here)
            .map(|j| errors[j])
            .filter(|e| e.is_finite())
            .collect();
        w.sort_by(f64::total_cmp);
        let m = if w.is_empty() {
            f64::NAN
        } else {
            w[w.len() / 2]
        };
        out.push((samples[i] as f64, m));
        if i + 1 < samples.len() && period_of(samples[i + 1]) != here {
            out.push((f64::NAN, f64::NAN));
        }
    }
    out
}

/// Median of the exact errors recorded in `[from, until]` (the noise floor once converged).
pub(crate) fn median_error(trace: &Trace, net: usize, from: usize, until: usize) -> f64 {
    let mut v: Vec<f64> = trace
        .samples
        .iter()
        .zip(&trace.exact[net])
        .filter(|&(&s, _)| s >= from && s <= until)
        .map(|(_, &e)| e)
        .collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Flow time (`eta` x updates) of a noise-floor run: the slowest linearised mode at the optimum
/// relaxes at rate `2 / sqrt(lambda_max(C))` (direct, spec 1 section 4.3), i.e. within flow time
/// 1.6 for eigenvalues up to 10, so 50 spans some 30 relaxation times.
pub(crate) const FLOOR_TIME: f64 = 50.0;
/// Flow time discarded at the start of a noise-floor run (the error grows from 0 to its
/// stationary level in a few relaxation times).
pub(crate) const FLOOR_BURN_IN: f64 = 5.0;

/// Both networks at the optimum `M* = C^{1/2}` of `source`: `W* = [C^{1/4} | 0]` (`n x k`), so
/// that `W* W*^T = M*`.
pub(crate) fn optimum_networks(
    source: &Source,
    k: usize,
) -> Result<(DirectNetwork, InterneuronNetwork), CoreError> {
    let m = source.covariance_sqrt();
    let n = m.nrows();
    let quarter = sym_sqrt(m)?;
    let w = Mat::from_fn(n, k, |i, j| if j < n { quarter[(i, j)] } else { 0.0 });
    Ok((
        DirectNetwork::new(m.to_owned())?,
        InterneuronNetwork::new(w)?,
    ))
}

/// The stochastic noise floor of online learning at a constant rate: the median exact error
/// `||C_yy - I||_op` of each network started at the optimum and learning online from the same
/// kind of stream, over flow times [`FLOOR_BURN_IN`] to [`FLOOR_TIME`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NoiseFloor {
    /// Floors of the direct (0) and interneuron (1) networks.
    pub errors: [f64; 2],
    /// Samples streamed.
    pub samples: usize,
    /// Samples discarded before the median.
    pub burn_in: usize,
}

impl NoiseFloor {
    /// Samples of a floor run at rate `eta` with `batch` samples per update, and its burn-in.
    pub fn lengths(eta: f64, batch: usize) -> (usize, usize) {
        let samples = |time: f64| (time / eta).ceil() as usize * batch;
        (samples(FLOOR_TIME), samples(FLOOR_BURN_IN))
    }

    /// Streams samples of `source` through both networks started at the optimum: `stream`
    /// gives the rate, batch, window and cadence (its sources, period and length are replaced).
    /// [`Self::from_trace`] turns the result into the floor.
    pub fn stream(
        source: &Source,
        k: usize,
        stream: &Stream<'_>,
        rng: &mut rand_chacha::ChaCha8Rng,
        ctx: &RunContext,
        what: &str,
    ) -> Result<Trace> {
        let (samples, _) = Self::lengths(stream.eta, stream.batch);
        let (mut d, mut w) =
            optimum_networks(source, k).map_err(|e| ctx.numerical(what.to_owned(), e))?;
        let run = Stream {
            sources: std::slice::from_ref(source),
            period: usize::MAX,
            total: samples,
            ..*stream
        };
        run.run([&mut d, &mut w], rng, ctx, what)
    }

    /// The floor from a trace of [`Self::stream`] at rate `eta` and `batch` samples per update.
    pub fn from_trace(trace: &Trace, eta: f64, batch: usize) -> Self {
        let (samples, burn_in) = Self::lengths(eta, batch);
        Self {
            errors: [0, 1].map(|i| median_error(trace, i, burn_in, samples)),
            samples,
            burn_in,
        }
    }

    /// The error counted as converged: `max(threshold, factor x floor)` for each network.
    pub fn thresholds(&self, threshold: f64, factor: f64) -> [f64; 2] {
        self.errors.map(|f| threshold.max(factor * f))
    }
}
