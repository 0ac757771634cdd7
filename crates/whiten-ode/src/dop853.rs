//! Dormand-Prince 8(5,3) ("DOP853"): an explicit Runge-Kutta method of order 8 with 12 stages,
//! error estimators of orders 5 and 3, FSAL, and a continuous extension of order 7 that costs
//! three extra stages, evaluated only for steps in which dense output is requested.
//!
//! Method: P. J. Prince & J. R. Dormand, "High order embedded Runge-Kutta formulae", J. Comput.
//! Appl. Math. 7 (1981) 67-75; E. Hairer, S. P. Norsett & G. Wanner, Solving Ordinary
//! Differential Equations I, 2nd ed., Springer 1993, Sec. II.5 and II.10. The coefficients are
//! the double-precision values of Hairer's code `dop853.f` (version of 2004, the `CONTD8`
//! dense output included); the same numbers are in SciPy's `dop853_coefficients.py`. They are
//! checked by the tests below against the order conditions of all rooted trees up to order 8.
//!
//! Error estimate (as in `dop853.f`): with `err5 = h sum_i e5_i k_i`,
//! `err3 = h sum_i (b_i - bhh_i) k_i` scaled component-wise by `atol + rtol max(|y|, |y_new|)`,
//! `err = ||err5||^2 / sqrt(n (||err5||^2 + 0.01 ||err3||^2))`, which behaves like `O(h^8)`.

use crate::stats::Stats;
use crate::system::System;

/// Stages of one step (without the FSAL stage and the dense-output stages).
const STEP_STAGES: usize = 12;
/// Index of the FSAL stage `f(t + h, y_new)`.
const FSAL: usize = 12;
/// All stages including the three of the dense output.
const ALL_STAGES: usize = 16;
/// Components per block of the stage sums (16 KiB of f64: a block of the sum and of each
/// stage it reads stay in the L1 cache).
const CHUNK: usize = 512;

const C: [f64; 16] = [
    0.0,
    0.05260015195876773,
    0.0789002279381516,
    0.1183503419072274,
    0.2816496580927726,
    0.3333333333333333,
    0.25,
    0.3076923076923077,
    0.6512820512820513,
    0.6,
    0.8571428571428571,
    1.0,
    1.0,
    0.1,
    0.2,
    0.7777777777777778,
];

const A: [&[f64]; 16] = [
    &[],
    &[0.05260015195876773],
    &[0.0197250569845379, 0.0591751709536137],
    &[0.02958758547680685, 0.0, 0.08876275643042054],
    &[
        0.2413651341592667,
        0.0,
        -0.8845494793282861,
        0.924834003261792,
    ],
    &[
        0.037037037037037035,
        0.0,
        0.0,
        0.17082860872947386,
        0.12546768756682242,
    ],
    &[
        0.037109375,
        0.0,
        0.0,
        0.17025221101954405,
        0.06021653898045596,
        -0.017578125,
    ],
    &[
        0.03709200011850479,
        0.0,
        0.0,
        0.17038392571223998,
        0.10726203044637328,
        -0.015319437748624402,
        0.008273789163814023,
    ],
    &[
        0.6241109587160757,
        0.0,
        0.0,
        -3.3608926294469414,
        -0.868219346841726,
        27.59209969944671,
        20.154067550477894,
        -43.48988418106996,
    ],
    &[
        0.47766253643826434,
        0.0,
        0.0,
        -2.4881146199716677,
        -0.590290826836843,
        21.230051448181193,
        15.279233632882423,
        -33.28821096898486,
        -0.020331201708508627,
    ],
    &[
        -0.9371424300859873,
        0.0,
        0.0,
        5.186372428844064,
        1.0914373489967295,
        -8.149787010746927,
        -18.52006565999696,
        22.739487099350505,
        2.4936055526796523,
        -3.0467644718982196,
    ],
    &[
        2.273310147516538,
        0.0,
        0.0,
        -10.53449546673725,
        -2.0008720582248625,
        -17.9589318631188,
        27.94888452941996,
        -2.8589982771350235,
        -8.87285693353063,
        12.360567175794303,
        0.6433927460157636,
    ],
    &[
        0.054293734116568765,
        0.0,
        0.0,
        0.0,
        0.0,
        4.450312892752409,
        1.8915178993145003,
        -5.801203960010585,
        0.3111643669578199,
        -0.1521609496625161,
        0.20136540080403034,
        0.04471061572777259,
    ],
    &[
        0.056167502283047954,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.25350021021662483,
        -0.2462390374708025,
        -0.12419142326381637,
        0.15329179827876568,
        0.00820105229563469,
        0.007567897660545699,
        -0.008298,
    ],
    &[
        0.03183464816350214,
        0.0,
        0.0,
        0.0,
        0.0,
        0.028300909672366776,
        0.053541988307438566,
        -0.05492374857139099,
        0.0,
        0.0,
        -0.00010834732869724932,
        0.0003825710908356584,
        -0.00034046500868740456,
        0.1413124436746325,
    ],
    &[
        -0.42889630158379194,
        0.0,
        0.0,
        0.0,
        0.0,
        -4.697621415361164,
        7.683421196062599,
        4.06898981839711,
        0.3567271874552811,
        0.0,
        0.0,
        0.0,
        -0.0013990241651590145,
        2.9475147891527724,
        -9.15095847217987,
    ],
];
const BHH: [(usize, f64); 3] = [
    (0, 0.2440944881889764),
    (8, 0.7338466882816118),
    (11, 0.022058823529411766),
];
const E5: [f64; 12] = [
    0.01312004499419488,
    0.0,
    0.0,
    0.0,
    0.0,
    -1.2251564463762044,
    -0.4957589496572502,
    1.6643771824549864,
    -0.35032884874997366,
    0.3341791187130175,
    0.08192320648511571,
    -0.022355307863886294,
];
const D: [[f64; 16]; 4] = [
    [
        -8.428938276109013,
        0.0,
        0.0,
        0.0,
        0.0,
        0.5667149535193777,
        -3.0689499459498917,
        2.38466765651207,
        2.117034582445028,
        -0.871391583777973,
        2.2404374302607883,
        0.6315787787694688,
        -0.08899033645133331,
        18.148505520854727,
        -9.194632392478356,
        -4.436036387594894,
    ],
    [
        10.427508642579134,
        0.0,
        0.0,
        0.0,
        0.0,
        242.28349177525817,
        165.20045171727028,
        -374.5467547226902,
        -22.113666853125306,
        7.733432668472264,
        -30.674084731089398,
        -9.332130526430229,
        15.697238121770845,
        -31.139403219565178,
        -9.35292435884448,
        35.81684148639408,
    ],
    [
        19.985053242002433,
        0.0,
        0.0,
        0.0,
        0.0,
        -387.0373087493518,
        -189.17813819516758,
        527.8081592054236,
        -11.57390253995963,
        6.8812326946963,
        -1.0006050966910838,
        0.7777137798053443,
        -2.778205752353508,
        -60.19669523126412,
        84.32040550667716,
        11.99229113618279,
    ],
    [
        -25.69393346270375,
        0.0,
        0.0,
        0.0,
        0.0,
        -154.18974869023643,
        -231.5293791760455,
        357.6391179106141,
        93.40532418362432,
        -37.45832313645163,
        104.0996495089623,
        29.8402934266605,
        -43.53345659001114,
        96.32455395918828,
        -39.17726167561544,
        -149.72683625798564,
    ],
];

/// Workspace and last-step data of DOP853.
///
/// Used like [`crate::explicit::ExplicitRk`]: [`Dop853::attempt`] computes the 12 stages and
/// `y_new`, [`Dop853::error_norm`] the scaled error, [`Dop853::finish`] evaluates the FSAL
/// stage `f(t + h, y_new)` (only for steps about to be accepted, so a rejected step costs 11
/// evaluations), [`Dop853::accept`] commits the step, and [`Dop853::dense`] interpolates inside
/// it.
#[derive(Clone, Debug)]
pub struct Dop853 {
    dim: usize,
    /// Stage derivatives, stage `i` at `k[i*dim..(i+1)*dim]` (16 stages).
    k: Vec<f64>,
    stage_y: Vec<f64>,
    y_new: Vec<f64>,
    /// Coefficients `F_0 .. F_6` of the dense-output polynomial, `7 * dim`.
    cont: Vec<f64>,
    /// Start and size of the last attempt.
    t: f64,
    h: f64,
    f0_valid: bool,
    pending_fsal: bool,
    /// Whether stage 12 holds `f(t + h, y_new)` of the last attempt.
    finished: bool,
    /// Whether `cont` belongs to the last accepted step.
    dense_ready: bool,
}

impl Dop853 {
    /// Order of the propagated solution.
    pub const ORDER: u32 = 8;
    /// Order `q` of the error estimate (`err = O(h^q)`), for the step-size controller.
    pub const ERROR_ORDER: u32 = 8;
    /// Order of the dense output.
    pub const DENSE_ORDER: u32 = 7;

    /// Workspace for a state of dimension `dim`.
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            k: vec![0.0; ALL_STAGES * dim],
            stage_y: vec![0.0; dim],
            y_new: vec![0.0; dim],
            cont: vec![0.0; 7 * dim],
            t: 0.0,
            h: 0.0,
            f0_valid: false,
            pending_fsal: false,
            finished: false,
            dense_ready: false,
        }
    }

    /// Sets the first stage to `f0 = f(t, y)` of the current state.
    pub fn set_f0(&mut self, f0: &[f64]) {
        self.k[..self.dim].copy_from_slice(f0);
        self.f0_valid = true;
        self.pending_fsal = false;
    }

    /// The trial solution of the last [`attempt`](Self::attempt).
    pub fn y_new(&self) -> &[f64] {
        &self.y_new
    }

    /// `stage_y <- y + h sum_{j<i} a_ij k_j`.
    ///
    /// Computed in blocks of [`CHUNK`] components, each finished over all stages while it is in
    /// the L1 cache (one pass over memory instead of one per stage); every component sees the
    /// same operations in the same order as a stage-by-stage sum.
    fn stage_state(&mut self, i: usize, y: &[f64], h: f64) {
        let n = self.dim;
        let mut coef = [(0usize, 0.0f64); ALL_STAGES];
        let mut m = 0;
        for (j, &aij) in A[i].iter().enumerate() {
            if aij != 0.0 {
                coef[m] = (j, h * aij);
                m += 1;
            }
        }
        for (c, (s, y)) in self
            .stage_y
            .chunks_mut(CHUNK)
            .zip(y.chunks(CHUNK))
            .enumerate()
        {
            s.copy_from_slice(y);
            let at = c * CHUNK;
            for &(j, ha) in &coef[..m] {
                let kv = &self.k[j * n + at..j * n + at + s.len()];
                for (s, kv) in s.iter_mut().zip(kv) {
                    *s += ha * kv;
                }
            }
        }
    }

    /// Computes a trial step of size `h` from `(t, y)`: stages 1..11 and `y_new` (the FSAL
    /// stage is left to [`finish`](Self::finish)). Returns `false` if `y_new` is not finite.
    pub fn attempt<S: System>(
        &mut self,
        system: &mut S,
        t: f64,
        y: &[f64],
        h: f64,
        stats: &mut Stats,
    ) -> bool {
        let n = self.dim;
        if self.pending_fsal {
            // FSAL: f(t+h, y_new) of the accepted step is f(t, y) of the new current state.
            self.k.copy_within(FSAL * n..(FSAL + 1) * n, 0);
            self.pending_fsal = false;
            self.f0_valid = true;
        }
        self.finished = false;
        self.dense_ready = false;
        if !self.f0_valid {
            system.rhs(t, y, &mut self.k[..n]);
            stats.rhs_evals += 1;
            self.f0_valid = true;
        }
        self.t = t;
        self.h = h;
        for i in 1..STEP_STAGES {
            self.stage_state(i, y, h);
            let (_, rest) = self.k.split_at_mut(i * n);
            system.rhs(t + C[i] * h, &self.stage_y, &mut rest[..n]);
            stats.rhs_evals += 1;
        }
        // y_new = y + h sum_i b_i k_i (b is row 12 of A)
        self.stage_state(FSAL, y, h);
        std::mem::swap(&mut self.y_new, &mut self.stage_y);
        self.y_new.iter().all(|v| v.is_finite())
    }

    /// Scaled error norm of the last attempt (Hairer's combined 5th/3rd-order estimator), with
    /// the scale `atol + rtol max(|y_i|, |y_new_i|)`.
    pub fn error_norm(&mut self, y: &[f64], rtol: f64, atol: f64) -> f64 {
        let n = self.dim;
        // (stage, e5_j, e3_j = b_j - bhh_j) for the stages that enter either estimate
        let mut coef = [(0usize, 0.0f64, 0.0f64); STEP_STAGES];
        let mut m = 0;
        for (j, &e5) in E5.iter().enumerate().take(STEP_STAGES) {
            let bhh = BHH.iter().find(|(i, _)| *i == j).map_or(0.0, |(_, v)| *v);
            let e3 = A[FSAL][j] - bhh;
            if e5 != 0.0 || e3 != 0.0 {
                coef[m] = (j, e5, e3);
                m += 1;
            }
        }
        // Blocks of CHUNK components, as in stage_state; the sums run over i in order.
        let (mut e5, mut e3) = ([0.0f64; CHUNK], [0.0f64; CHUNK]);
        let (mut s5, mut s3) = (0.0, 0.0);
        let mut at = 0;
        while at < n {
            let len = CHUNK.min(n - at);
            let (e5, e3) = (&mut e5[..len], &mut e3[..len]);
            e5.fill(0.0);
            e3.fill(0.0);
            for &(j, c5, c3) in &coef[..m] {
                let kj = &self.k[j * n + at..j * n + at + len];
                for ((a5, a3), kv) in e5.iter_mut().zip(e3.iter_mut()).zip(kj) {
                    *a5 += c5 * kv;
                    *a3 += c3 * kv;
                }
            }
            for (i, (a5, a3)) in e5.iter().zip(e3.iter()).enumerate() {
                let sc = atol + rtol * y[at + i].abs().max(self.y_new[at + i].abs());
                s5 += (a5 / sc).powi(2);
                s3 += (a3 / sc).powi(2);
            }
            at += len;
        }
        if s5 == 0.0 && s3 == 0.0 {
            return 0.0;
        }
        // err = |h| ||e5||^2 / sqrt(n (||e5||^2 + 0.01 ||e3||^2))
        self.h.abs() * s5 / (n.max(1) as f64 * (s5 + 0.01 * s3)).sqrt()
    }

    /// Evaluates the FSAL stage `f(t + h, y_new)` of the last attempt; `false` if it is not
    /// finite (the step should then be rejected).
    pub fn finish<S: System>(&mut self, system: &mut S, stats: &mut Stats) -> bool {
        let n = self.dim;
        if !self.finished {
            let t_new = self.t + self.h;
            system.rhs(t_new, &self.y_new, &mut self.k[FSAL * n..(FSAL + 1) * n]);
            stats.rhs_evals += 1;
            self.finished = true;
        }
        self.k[FSAL * n..(FSAL + 1) * n]
            .iter()
            .all(|v| v.is_finite())
    }

    /// Marks the last attempt as accepted (evaluating the FSAL stage if
    /// [`finish`](Self::finish) was not called): the dense output now refers to that step and
    /// the next attempt starts from its FSAL stage.
    pub fn accept<S: System>(&mut self, system: &mut S, stats: &mut Stats) {
        self.finish(system, stats);
        self.pending_fsal = true;
    }

    /// Dense output of the last accepted step from `y_old` (the state at its start), at
    /// `t_old + theta h`. The first call for a step evaluates the three extra stages (counted
    /// in `stats`):
    /// `y(theta) = y_old + theta (F0 + (1-theta) (F1 + theta (F2 + (1-theta) (F3 + theta (F4
    /// + (1-theta) (F5 + theta F6))))))`, `F0 = y_new - y_old`, `F1 = h k_1 - F0`,
    /// `F2 = 2 F0 - h (k_1 + k_13)`, `F_{3+r} = h sum_i d_ri k_i` (Hairer's `CONTD8`).
    pub fn dense<S: System>(
        &mut self,
        system: &mut S,
        y_old: &[f64],
        theta: f64,
        out: &mut [f64],
        stats: &mut Stats,
    ) {
        let n = self.dim;
        let h = self.h;
        if !self.dense_ready {
            for s in FSAL + 1..ALL_STAGES {
                self.stage_state(s, y_old, h);
                let (_, rest) = self.k.split_at_mut(s * n);
                system.rhs(self.t + C[s] * h, &self.stage_y, &mut rest[..n]);
                stats.rhs_evals += 1;
            }
            let (f012, f3456) = self.cont.split_at_mut(3 * n);
            for i in 0..n {
                let delta = self.y_new[i] - y_old[i];
                let (k1, k13) = (self.k[i], self.k[FSAL * n + i]);
                f012[i] = delta;
                f012[n + i] = h * k1 - delta;
                f012[2 * n + i] = 2.0 * delta - h * (k1 + k13);
            }
            f3456.fill(0.0);
            for (r, d) in D.iter().enumerate() {
                let fr = &mut f3456[r * n..(r + 1) * n];
                for (j, &dj) in d.iter().enumerate() {
                    if dj != 0.0 {
                        let hd = h * dj;
                        for (f, kv) in fr.iter_mut().zip(&self.k[j * n..(j + 1) * n]) {
                            *f += hd * kv;
                        }
                    }
                }
            }
            self.dense_ready = true;
        }
        let s1 = 1.0 - theta;
        for i in 0..n {
            let f = |r: usize| self.cont[r * n + i];
            let v = f(5) + theta * f(6);
            let v = f(4) + s1 * v;
            let v = f(3) + theta * v;
            let v = f(2) + s1 * v;
            let v = f(1) + theta * v;
            let v = f(0) + s1 * v;
            out[i] = y_old[i] + theta * v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::FnSystem;
    use crate::tableau::order_residual;

    fn weights_b() -> Vec<f64> {
        A[FSAL].to_vec()
    }

    /// Dense weights `b_i(theta)` (coefficients of `h k_i` in the interpolant), from the same
    /// formula as [`Dop853::dense`].
    fn dense_weights(theta: f64) -> Vec<f64> {
        let b = weights_b();
        let delta = |i: usize| f64::from(u8::from(i == 0));
        (0..ALL_STAGES)
            .map(|i| {
                let bi = b.get(i).copied().unwrap_or(0.0);
                let f = [
                    bi,
                    delta(i) - bi,
                    2.0 * bi - delta(i) - f64::from(u8::from(i == FSAL)),
                    D[0][i],
                    D[1][i],
                    D[2][i],
                    D[3][i],
                ];
                let s1 = 1.0 - theta;
                theta
                    * (f[0]
                        + s1 * (f[1]
                            + theta
                                * (f[2]
                                    + s1 * (f[3] + theta * (f[4] + s1 * (f[5] + theta * f[6]))))))
            })
            .collect()
    }

    #[test]
    fn nodes_are_row_sums() {
        for (i, row) in A.iter().enumerate() {
            assert_eq!(row.len(), i);
            let s: f64 = row.iter().sum();
            assert!((s - C[i]).abs() < 1e-14, "row {i}: {s} vs {}", C[i]);
        }
    }

    #[test]
    fn order_conditions_up_to_eight() {
        let b = weights_b();
        let r = order_residual(&A, &b, 8, 1.0);
        assert!(r < 1e-13, "order 8 residual {r}");
        assert!(order_residual(&A, &b, 9, 1.0) > 1e-8, "order 9 should fail");
        // Embedded 5th-order solution b - e5 and 3rd-order solution bhh.
        let b5: Vec<f64> = b.iter().zip(E5).map(|(x, e)| x - e).collect();
        let r = order_residual(&A, &b5, 5, 1.0);
        assert!(r < 1e-13, "embedded 5th order residual {r}");
        assert!(order_residual(&A, &b5, 6, 1.0) > 1e-8);
        let mut bhh = vec![0.0; STEP_STAGES];
        for (i, v) in BHH {
            bhh[i] = v;
        }
        let r = order_residual(&A, &bhh, 3, 1.0);
        assert!(r < 1e-14, "embedded 3rd order residual {r}");
        assert!(order_residual(&A, &bhh, 4, 1.0) > 1e-8);
    }

    #[test]
    fn dense_output_satisfies_order_seven_conditions() {
        for theta in [0.0, 0.13, 0.5, 0.77, 1.0] {
            let w = dense_weights(theta);
            let r = order_residual(&A, &w, 7, theta);
            assert!(r < 1e-12, "theta {theta}: residual {r}");
        }
        // At theta = 1 the interpolant is the step's solution.
        let w = dense_weights(1.0);
        for (i, wi) in w.iter().enumerate() {
            let bi = weights_b().get(i).copied().unwrap_or(0.0);
            assert!((wi - bi).abs() < 1e-13, "stage {i}");
        }
    }

    /// Fixed-step integration of `y1' = y2, y2' = -y1` from `(1, 0)` to `t = 10`.
    fn oscillator_error(steps: usize) -> f64 {
        let mut sys = FnSystem::new(2, |_t, y: &[f64], dy: &mut [f64]| {
            dy[0] = y[1];
            dy[1] = -y[0];
        });
        let mut rk = Dop853::new(2);
        let mut stats = Stats::default();
        let h = 10.0 / steps as f64;
        let mut y = vec![1.0, 0.0];
        for i in 0..steps {
            assert!(rk.attempt(&mut sys, i as f64 * h, &y, h, &mut stats));
            y.copy_from_slice(rk.y_new());
            rk.accept(&mut sys, &mut stats);
        }
        // 11 new stages per step plus the FSAL stage and the very first f0.
        assert_eq!(stats.rhs_evals, 12 * steps + 1);
        (y[0] - 10f64.cos()).abs().max((y[1] + 10f64.sin()).abs())
    }

    #[test]
    fn fixed_step_convergence_slope_is_eight() {
        let steps = [12usize, 16, 24, 32];
        let errs: Vec<f64> = steps.iter().map(|&s| oscillator_error(s)).collect();
        let lx: Vec<f64> = steps.iter().map(|&s| (10.0 / s as f64).ln()).collect();
        let ly: Vec<f64> = errs.iter().map(|e| e.ln()).collect();
        let n = lx.len() as f64;
        let (mx, my) = (lx.iter().sum::<f64>() / n, ly.iter().sum::<f64>() / n);
        let sxy: f64 = lx.iter().zip(&ly).map(|(a, b)| (a - mx) * (b - my)).sum();
        let sxx: f64 = lx.iter().map(|a| (a - mx) * (a - mx)).sum();
        let slope = sxy / sxx;
        assert!((slope - 8.0).abs() < 0.3, "slope {slope}, errors {errs:?}");
    }

    #[test]
    fn dense_output_on_exponential_and_extra_stage_count() {
        // y' = y: one step of size h; the interpolant against e^(theta h), error O(h^8).
        let mut sys = FnSystem::new(1, |_t, y: &[f64], dy: &mut [f64]| dy[0] = y[0]);
        let mut errs = Vec::new();
        for h in [0.8, 0.4, 0.2] {
            let mut rk = Dop853::new(1);
            let mut stats = Stats::default();
            assert!(rk.attempt(&mut sys, 0.0, &[1.0], h, &mut stats));
            rk.accept(&mut sys, &mut stats);
            assert_eq!(stats.rhs_evals, 13);
            let mut worst: f64 = 0.0;
            let mut out = [0.0];
            for theta in [0.1, 0.35, 0.6, 0.95] {
                rk.dense(&mut sys, &[1.0], theta, &mut out, &mut stats);
                worst = worst.max((out[0] - (theta * h).exp()).abs());
            }
            // The three dense stages are evaluated once per step.
            assert_eq!(stats.rhs_evals, 16);
            rk.dense(&mut sys, &[1.0], 1.0, &mut out, &mut stats);
            assert!((out[0] - rk.y_new()[0]).abs() < 1e-15);
            errs.push(worst);
        }
        // Halving h divides the local error by about 2^8 (at least 2^7 here).
        assert!(
            errs[1] < errs[0] / 128.0 && errs[2] < errs[1] / 128.0,
            "{errs:?}"
        );
        assert!(errs[2] < 1e-11, "{errs:?}");
    }
}
