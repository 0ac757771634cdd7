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

use whiten_core::cov::GaussianSource;
use whiten_core::linear::WhiteningNetwork;
use whiten_core::metrics::{SlidingCovariance, whitening_error_from_cyy};

use crate::context::RunContext;
use crate::error::Result;

/// Settings of a streaming run.
pub(crate) struct Stream<'a> {
    /// Covariances, in the order they are in force.
    pub sources: &'a [GaussianSource],
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
#[derive(Debug, Clone, Default)]
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
    pub fn source_at(&self, t: usize) -> &GaussianSource {
        &self.sources[(t / self.period) % self.sources.len()]
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
        let [d, w] = nets;
        let mut nets: [&mut dyn WhiteningNetwork; 2] = [d, w];
        let notes: Vec<String> = nets
            .iter()
            .map(|net| {
                super::common::stability_note(net.label(), self.eta, self.sources[0].covariance())
            })
            .collect();
        let mut t = 0;
        let mut next_record = 0;
        loop {
            if t >= next_record {
                let c = self.source_at(t).covariance();
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
            let x = self.source_at(t).sample(b, rng);
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
