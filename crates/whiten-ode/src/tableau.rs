//! Butcher tableaus of the explicit embedded Runge-Kutta pairs, as data.
//!
//! A step from `(t, y)` with size `h` computes the stages
//! `k_i = f(t + c_i h, y + h sum_{j<i} a_ij k_j)`, the solution `y_new = y + h sum_i b_i k_i`
//! and the error estimate `h sum_i e_i k_i` (`e = b - b_hat`, up to sign). The dense output is
//! `y(t + theta h) = y + h sum_i b_i(theta) k_i` with `b_i(theta) = sum_j dense[i][j] theta^(j+1)`.
//! All pairs here are FSAL: the last stage is `f(t + h, y_new)` and becomes the next step's
//! first stage.

/// An explicit embedded Runge-Kutta pair with a polynomial continuous extension.
#[derive(Debug)]
pub struct Tableau {
    /// Short name, for logs.
    pub name: &'static str,
    /// Order of the propagated solution `b`.
    pub order: u32,
    /// Order of the embedded solution `b_hat` (the error estimate is `O(h^(embedded_order+1))`).
    pub embedded_order: u32,
    /// Nodes `c_i`.
    pub c: &'static [f64],
    /// Strictly lower triangular coefficients: row `i` holds `a_i0 .. a_i(i-1)`.
    pub a: &'static [&'static [f64]],
    /// Weights `b_i` of the propagated solution.
    pub b: &'static [f64],
    /// Error weights `e_i = b_i - b_hat_i` (the sign does not matter).
    pub e: &'static [f64],
    /// First Same As Last: the last stage is `f(t + h, y_new)`.
    pub fsal: bool,
    /// Dense output: `b_i(theta) = sum_{j=0..4} dense[i][j] theta^(j+1)`.
    pub dense: &'static [[f64; 4]],
    /// Order of the dense output.
    pub dense_order: u32,
}

impl Tableau {
    /// Number of stages.
    pub fn stages(&self) -> usize {
        self.c.len()
    }

    /// Writes the dense-output weights `b_i(theta)` into `w` (length `stages()`).
    pub fn dense_weights(&self, theta: f64, w: &mut [f64]) {
        for (wi, p) in w.iter_mut().zip(self.dense) {
            // Horner: theta (p0 + theta (p1 + theta (p2 + theta p3)))
            *wi = theta * (p[0] + theta * (p[1] + theta * (p[2] + theta * p[3])));
        }
    }
}

/// Row `i` of Dormand-Prince's continuous extension in power form. Hairer's `CONTD5`
/// (Hairer, Norsett & Wanner, Solving ODEs I, 2nd ed., Sec. II.6; code `dopri5.f`):
/// `y(theta) = y0 + theta D + theta (1-theta) (h k1 - D)
///            + theta^2 (1-theta) (2 D - h k1 - h k7) + theta^2 (1-theta)^2 h sum d_i k_i`,
/// `D = y1 - y0 = h sum b_i k_i`. Collecting powers of theta for `k_i`:
/// `[delta_i1, 3 b_i - 2 delta_i1 - delta_i7 + d_i, -2 b_i + delta_i1 + delta_i7 - 2 d_i, d_i]`.
const fn dopri_dense_row(b: f64, d: f64, first: f64, last: f64) -> [f64; 4] {
    [
        first,
        3.0 * b - 2.0 * first - last + d,
        -2.0 * b + first + last - 2.0 * d,
        d,
    ]
}

/// Row `i` of the cubic Hermite interpolant through `y0, f0 = k_1, y1, f1 = k_s` (FSAL):
/// `y(theta) = y0 + (3 theta^2 - 2 theta^3) D + theta (theta-1)^2 h k_1 + theta^2 (theta-1) h k_s`.
const fn hermite_dense_row(b: f64, first: f64, last: f64) -> [f64; 4] {
    [
        first,
        3.0 * b - 2.0 * first - last,
        -2.0 * b + first + last,
        0.0,
    ]
}

// Dormand & Prince, "A family of embedded Runge-Kutta formulae", J. Comput. Appl. Math. 6
// (1980) 19-26; coefficients as in Hairer, Norsett & Wanner, Solving ODEs I, Table II.5.2.
const DP5_B: [f64; 7] = [
    35.0 / 384.0,
    0.0,
    500.0 / 1113.0,
    125.0 / 192.0,
    -2187.0 / 6784.0,
    11.0 / 84.0,
    0.0,
];
// Dense-output coefficients d_i of Hairer's dopri5.f (Shampine's 4th-order interpolant).
const DP5_D: [f64; 7] = [
    -12715105075.0 / 11282082432.0,
    0.0,
    87487479700.0 / 32700410799.0,
    -10690763975.0 / 1880347072.0,
    701980252875.0 / 199316789632.0,
    -1453857185.0 / 822651844.0,
    69997945.0 / 29380423.0,
];

/// Dormand-Prince 5(4), FSAL, 7 stages (6 rhs evaluations per step), 4th-order dense output.
pub const DOPRI5: Tableau = Tableau {
    name: "dopri5",
    order: 5,
    embedded_order: 4,
    c: &[0.0, 1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0, 1.0, 1.0],
    a: &[
        &[],
        &[1.0 / 5.0],
        &[3.0 / 40.0, 9.0 / 40.0],
        &[44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0],
        &[
            19372.0 / 6561.0,
            -25360.0 / 2187.0,
            64448.0 / 6561.0,
            -212.0 / 729.0,
        ],
        &[
            9017.0 / 3168.0,
            -355.0 / 33.0,
            46732.0 / 5247.0,
            49.0 / 176.0,
            -5103.0 / 18656.0,
        ],
        &[
            35.0 / 384.0,
            0.0,
            500.0 / 1113.0,
            125.0 / 192.0,
            -2187.0 / 6784.0,
            11.0 / 84.0,
        ],
    ],
    b: &DP5_B,
    // e = b - b_hat, b_hat = [5179/57600, 0, 7571/16695, 393/640, -92097/339200, 187/2100, 1/40].
    e: &[
        71.0 / 57600.0,
        0.0,
        -71.0 / 16695.0,
        71.0 / 1920.0,
        -17253.0 / 339200.0,
        22.0 / 525.0,
        -1.0 / 40.0,
    ],
    fsal: true,
    dense: &[
        dopri_dense_row(DP5_B[0], DP5_D[0], 1.0, 0.0),
        dopri_dense_row(DP5_B[1], DP5_D[1], 0.0, 0.0),
        dopri_dense_row(DP5_B[2], DP5_D[2], 0.0, 0.0),
        dopri_dense_row(DP5_B[3], DP5_D[3], 0.0, 0.0),
        dopri_dense_row(DP5_B[4], DP5_D[4], 0.0, 0.0),
        dopri_dense_row(DP5_B[5], DP5_D[5], 0.0, 0.0),
        dopri_dense_row(DP5_B[6], DP5_D[6], 0.0, 1.0),
    ],
    dense_order: 4,
};

/// Tsitouras 5(4), FSAL, 7 stages, 4th-order dense output.
///
/// Ch. Tsitouras, "Runge-Kutta pairs of order 5(4) satisfying only the first column
/// simplifying assumption", Comput. Math. Appl. 62 (2011) 770-775. Double-precision values as
/// tabulated in OrdinaryDiffEq.jl (`tsit_tableaus.jl`: `Tsit5ConstantCache`, `Tsit5Interp`).
pub const TSIT5: Tableau = Tableau {
    name: "tsit5",
    order: 5,
    embedded_order: 4,
    c: &[0.0, 0.161, 0.327, 0.9, 0.9800255409045097, 1.0, 1.0],
    a: &[
        &[],
        &[0.161],
        &[-0.008480655492356989, 0.335480655492357],
        &[2.8971530571054935, -6.359448489975075, 4.3622954328695815],
        &[
            5.325864828439257,
            -11.748883564062828,
            7.4955393428898365,
            -0.09249506636175525,
        ],
        &[
            5.86145544294642,
            -12.92096931784711,
            8.159367898576159,
            -0.071584973281401,
            -0.028269050394068383,
        ],
        &[
            0.09646076681806523,
            0.01,
            0.4798896504144996,
            1.379008574103742,
            -3.290069515436081,
            2.324710524099774,
        ],
    ],
    b: &[
        0.09646076681806523,
        0.01,
        0.4798896504144996,
        1.379008574103742,
        -3.290069515436081,
        2.324710524099774,
        0.0,
    ],
    // OrdinaryDiffEq's btilde = b_hat - b (sign irrelevant for the error norm).
    e: &[
        -0.001780011052225771,
        -0.0008164344596567469,
        0.007880878010261995,
        -0.1447110071732629,
        0.5823571654525552,
        -0.45808210592918697,
        1.0 / 66.0,
    ],
    fsal: true,
    dense: &[
        [
            1.0,
            -2.763706197274826,
            2.9132554618219126,
            -1.0530884977290216,
        ],
        [0.0, 0.13169999999999998, -0.2234, 0.1017],
        [
            0.0,
            3.9302962368947516,
            -5.941033872131505,
            2.490627285651253,
        ],
        [
            0.0,
            -12.411077166933676,
            30.33818863028232,
            -16.548102889244902,
        ],
        [0.0, 37.50931341651104, -88.1789048947664, 47.37952196281928],
        [
            0.0,
            -27.896526289197286,
            65.09189467479366,
            -34.87065786149661,
        ],
        [0.0, 1.5, -4.0, 2.5],
    ],
    dense_order: 4,
};

const BS3_B: [f64; 4] = [2.0 / 9.0, 1.0 / 3.0, 4.0 / 9.0, 0.0];

/// Bogacki-Shampine 3(2), FSAL, 4 stages (3 rhs evaluations per step), cubic Hermite dense
/// output.
///
/// P. Bogacki & L. F. Shampine, "A 3(2) pair of Runge-Kutta formulas", Appl. Math. Lett. 2
/// (1989) 321-325 (the `ode23` pair of MATLAB).
pub const BS32: Tableau = Tableau {
    name: "bs32",
    order: 3,
    embedded_order: 2,
    c: &[0.0, 0.5, 0.75, 1.0],
    a: &[
        &[],
        &[0.5],
        &[0.0, 0.75],
        &[2.0 / 9.0, 1.0 / 3.0, 4.0 / 9.0],
    ],
    b: &BS3_B,
    // e = b - b_hat, b_hat = [7/24, 1/4, 1/3, 1/8].
    e: &[-5.0 / 72.0, 1.0 / 12.0, 1.0 / 9.0, -1.0 / 8.0],
    fsal: true,
    dense: &[
        hermite_dense_row(BS3_B[0], 1.0, 0.0),
        hermite_dense_row(BS3_B[1], 0.0, 0.0),
        hermite_dense_row(BS3_B[2], 0.0, 0.0),
        hermite_dense_row(BS3_B[3], 0.0, 1.0),
    ],
    dense_order: 3,
};

/// Rooted trees up to `max_order` for the Butcher order conditions: `(order, gamma, children)`,
/// children as indices into the list (each tree listed once, children non-decreasing).
#[cfg(test)]
pub(crate) fn rooted_trees(max_order: u32) -> Vec<(u32, f64, Vec<usize>)> {
    fn multisets(
        trees: &[(u32, f64, Vec<usize>)],
        start: usize,
        remaining: u32,
        cur: &mut Vec<usize>,
        out: &mut Vec<Vec<usize>>,
    ) {
        if remaining == 0 {
            out.push(cur.clone());
            return;
        }
        for i in start..trees.len() {
            if trees[i].0 <= remaining {
                cur.push(i);
                multisets(trees, i, remaining - trees[i].0, cur, out);
                cur.pop();
            }
        }
    }
    let mut trees = vec![(1, 1.0, Vec::new())];
    for p in 2..=max_order {
        let mut out = Vec::new();
        multisets(&trees, 0, p - 1, &mut Vec::new(), &mut out);
        for ch in out {
            // gamma(t) = |t| prod gamma(children)
            let gamma = p as f64 * ch.iter().map(|&c| trees[c].1).product::<f64>();
            trees.push((p, gamma, ch));
        }
    }
    trees
}

/// Largest residual of the order conditions `sum_i w_i Phi_i(t) = theta^|t| / gamma(t)` over
/// all rooted trees `t` with `|t| <= p`, for the stage coefficients `a` (rows as in
/// [`Tableau::a`]) and weights `w` (shorter `w` is padded with zeros). `theta = 1` gives the
/// classical conditions; `theta` in (0, 1) those of a continuous extension with weights
/// `w = b(theta)`. `Phi_i(leaf) = 1`, `Phi_i([t_1..t_m]) = prod_j (A Phi(t_j))_i`.
#[cfg(test)]
pub(crate) fn order_residual(a: &[&[f64]], w: &[f64], p: u32, theta: f64) -> f64 {
    let s = a.len();
    let trees = rooted_trees(p);
    let mut phi: Vec<Vec<f64>> = Vec::with_capacity(trees.len());
    let mut worst: f64 = 0.0;
    for (order, gamma, children) in &trees {
        let mut g = vec![1.0; s];
        for &c in children {
            for (i, gi) in g.iter_mut().enumerate() {
                *gi *= a[i].iter().zip(&phi[c]).map(|(x, y)| x * y).sum::<f64>();
            }
        }
        let lhs: f64 = w.iter().zip(&g).map(|(x, y)| x * y).sum();
        worst = worst.max((lhs - theta.powi(*order as i32) / gamma).abs());
        phi.push(g);
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [&Tableau; 3] = [&DOPRI5, &TSIT5, &BS32];

    /// `sum_j a_ij c_j`-style quantities for the order conditions.
    fn a_times(t: &Tableau, v: &[f64]) -> Vec<f64> {
        (0..t.stages())
            .map(|i| t.a[i].iter().zip(v).map(|(a, x)| a * x).sum())
            .collect()
    }

    fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    /// Checks the classical order conditions up to order `p` for weights `w`.
    fn order_conditions(t: &Tableau, w: &[f64], p: u32) -> f64 {
        let c = t.c;
        let c2: Vec<f64> = c.iter().map(|x| x * x).collect();
        let c3: Vec<f64> = c.iter().map(|x| x * x * x).collect();
        let ac = a_times(t, c);
        let ac2 = a_times(t, &c2);
        let aac = a_times(t, &ac);
        let cac: Vec<f64> = c.iter().zip(&ac).map(|(x, y)| x * y).collect();
        [
            (dot(w, &vec![1.0; c.len()]) - 1.0, 1),
            (dot(w, c) - 0.5, 2),
            (dot(w, &c2) - 1.0 / 3.0, 3),
            (dot(w, &ac) - 1.0 / 6.0, 3),
            (dot(w, &c3) - 0.25, 4),
            (dot(w, &cac) - 1.0 / 8.0, 4),
            (dot(w, &ac2) - 1.0 / 12.0, 4),
            (dot(w, &aac) - 1.0 / 24.0, 4),
        ]
        .iter()
        .filter(|(_, q)| *q <= p)
        .map(|(r, _)| r.abs())
        .fold(0.0, f64::max)
    }

    #[test]
    fn row_sums_equal_nodes() {
        for t in ALL {
            assert_eq!(t.a.len(), t.stages());
            for i in 0..t.stages() {
                assert_eq!(t.a[i].len(), i, "{} row {i}", t.name);
                let s: f64 = t.a[i].iter().sum();
                assert!(
                    (s - t.c[i]).abs() < 1e-14,
                    "{} row {i}: {s} vs {}",
                    t.name,
                    t.c[i]
                );
            }
        }
    }

    #[test]
    fn order_conditions_hold_for_both_weights() {
        for t in ALL {
            let p = t.order.min(4);
            assert!(order_conditions(t, t.b, p) < 1e-13, "{} b", t.name);
            let bhat: Vec<f64> = t.b.iter().zip(t.e).map(|(b, e)| b - e).collect();
            let bhat2: Vec<f64> = t.b.iter().zip(t.e).map(|(b, e)| b + e).collect();
            // Either sign convention of e must give an embedded solution of its order.
            let r = order_conditions(t, &bhat, t.embedded_order).min(order_conditions(
                t,
                &bhat2,
                t.embedded_order,
            ));
            assert!(r < 1e-13, "{} b_hat residual {r}", t.name);
        }
    }

    #[test]
    fn rooted_tree_counts_and_full_order_conditions() {
        // Number of rooted trees of orders 1..=8 (OEIS A000081).
        let trees = rooted_trees(8);
        let counts: Vec<usize> = (1..=8)
            .map(|p| trees.iter().filter(|t| t.0 == p).count())
            .collect();
        assert_eq!(counts, [1, 1, 2, 4, 9, 20, 48, 115]);
        // All trees up to the order of each pair (the hand-written test above stops at 4).
        for t in ALL {
            let r = order_residual(t.a, t.b, t.order, 1.0);
            assert!(r < 1e-13, "{} order {}: {r}", t.name, t.order);
            // ... and the conditions of the next order fail (the order is exact).
            let r = order_residual(t.a, t.b, t.order + 1, 1.0);
            assert!(r > 1e-6, "{} satisfies order {}", t.name, t.order + 1);
        }
        // Continuous extensions: sum_i b_i(theta) Phi_i(t) = theta^|t| / gamma(t).
        for t in ALL {
            let mut w = vec![0.0; t.stages()];
            for theta in [0.2, 0.5, 0.9] {
                t.dense_weights(theta, &mut w);
                let r = order_residual(t.a, &w, t.dense_order, theta);
                assert!(r < 1e-12, "{} dense theta {theta}: {r}", t.name);
            }
        }
    }

    #[test]
    fn fsal_last_row_is_b_and_dense_ends_at_b() {
        for t in ALL {
            let s = t.stages();
            assert!(t.fsal);
            assert!((t.c[s - 1] - 1.0).abs() < 1e-15);
            for j in 0..s - 1 {
                assert!((t.a[s - 1][j] - t.b[j]).abs() < 1e-15, "{}", t.name);
            }
            let mut w = vec![0.0; s];
            t.dense_weights(1.0, &mut w);
            for j in 0..s {
                assert!((w[j] - t.b[j]).abs() < 1e-12, "{} stage {j}", t.name);
            }
            t.dense_weights(0.0, &mut w);
            assert!(w.iter().all(|x| *x == 0.0));
        }
    }
}
