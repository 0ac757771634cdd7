"""Paper 1 bindings against independent numpy code written from the spec
(/work/shared/spec/paper1-interneurons-accelerate.md, sections 2-4)."""

import numpy as np
import pytest

import whiten

# The spec's reference case: n = k = 5, C = diag(linspace(0.5, 2, 5)), eta = 0.1, eps = 1e-2.
C_REF = np.diag(np.linspace(0.5, 2.0, 5))


def cyy(M, C):
    Minv = np.linalg.inv(M)
    return Minv @ C @ Minv


def white_err(M, C):
    return np.linalg.norm(cyy(M, C) - np.eye(len(C)), 2)


def np_direct_step(M, C, eta):
    # Algorithm 1, offline: M <- M + eta (C_yy - I)
    return M + eta * (cyy(M, C) - np.eye(len(C)))


def np_interneuron_step(W, C, eta):
    # Algorithm 2, offline: W <- W + eta (C_yy - I) W
    return W + eta * (cyy(W @ W.T, C) - np.eye(len(C))) @ W


def np_iterations(M_or_W, C, eta, step, to_m, eps=1e-2, max_it=20000):
    x = M_or_W
    if white_err(to_m(x), C) < eps:
        return 0
    for it in range(1, max_it + 1):
        x = step(x, C, eta)
        if white_err(to_m(x), C) < eps:
            return it
    return None


def random_spd(n, rng):
    a = rng.standard_normal((n, n))
    return a @ a.T / n + 0.5 * np.eye(n)


def test_offline_steps_match_numpy():
    rng = np.random.default_rng(1)
    C = random_spd(4, rng)
    d = whiten.DirectNetwork.generic(4, 3.0, seed=5)
    i = whiten.InterneuronNetwork.generic(4, 6, 3.0, seed=5)
    M, W = d.M, i.W
    assert W.shape == (4, 6)
    for _ in range(5):
        d.offline_step(C, 0.05)
        i.offline_step(C, 0.05)
        M = np_direct_step(M, C, 0.05)
        W = np_interneuron_step(W, C, 0.05)
    np.testing.assert_allclose(d.M, M, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(i.W, W, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(i.M, W @ W.T, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "c, direct, inter", [(1.0, 24, 10), (10.0, 124, 22), (100.0, 1026, 33)]
)
def test_reference_iteration_counts(c, direct, inter):
    # numpy from the spec, then the package, then the spec's published counts
    n = 5
    nd = np_iterations(c * np.eye(n), C_REF, 0.1, np_direct_step, lambda m: m)
    W0 = np.sqrt(c) * np.eye(n)
    ni = np_iterations(W0, C_REF, 0.1, np_interneuron_step, lambda w: w @ w.T)
    d = whiten.DirectNetwork.scaled_identity(n, c)
    it_d, err_d = whiten.learn_offline(d, C_REF, 0.1, threshold=1e-2)
    i = whiten.InterneuronNetwork.commuting(n, n, c)
    it_i, err_i = whiten.learn_offline(i, C_REF, 0.1, threshold=1e-2)
    assert (it_d, it_i) == (nd, ni) == (direct, inter)
    assert len(err_d) == it_d + 1 and err_d[-1] < 1e-2 <= err_d[-2]
    assert len(err_i) == it_i + 1 and err_i[-1] < 1e-2 <= err_i[-2]
    # the network learned in place
    assert d.whitening_error(C_REF) == pytest.approx(err_d[-1])


def test_learn_offline_not_reached_returns_none():
    d = whiten.DirectNetwork.scaled_identity(5, 100.0)
    it, err = whiten.learn_offline(d, C_REF, 0.1, max_iterations=10)
    assert it is None and len(err) == 11


def test_respond_output_covariance_and_error():
    rng = np.random.default_rng(2)
    C = random_spd(3, rng)
    W0 = rng.standard_normal((3, 5))
    net = whiten.InterneuronNetwork(W0)
    X = rng.standard_normal((50, 3))
    M = W0 @ W0.T
    Y = net.respond(X)
    np.testing.assert_allclose(Y, np.linalg.solve(M, X.T).T, rtol=1e-9)
    np.testing.assert_allclose(net.interneurons(X), Y @ W0, rtol=1e-9)
    np.testing.assert_allclose(net.output_covariance(C), cyy(M, C), rtol=1e-9)
    assert net.whitening_error(C) == pytest.approx(white_err(M, C), rel=1e-9)


def test_online_steps_match_numpy():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((4, 2))
    d = whiten.DirectNetwork(np.array([[2.0, 0.3], [0.3, 1.5]]))
    i = whiten.InterneuronNetwork(np.array([[1.0, 0.2, 0.1], [0.0, 1.1, -0.3]]))
    M, W = d.M, i.W
    # one sample: the paper's update
    d.online_step(X[:1], 0.01)
    i.online_step(X[:1], 0.01)
    y = np.linalg.solve(M, X[0])
    M = M + 0.01 * (np.outer(y, y) - np.eye(2))
    yi = np.linalg.solve(W @ W.T, X[0])
    W = W + 0.01 * (np.outer(yi, W.T @ yi) - W)
    np.testing.assert_allclose(d.M, M, rtol=1e-12)
    np.testing.assert_allclose(i.W, W, rtol=1e-12)
    # a mini-batch: the mean of the single-sample updates of the current network
    d.online_step(X, 0.01)
    Y = np.linalg.solve(M, X.T)
    M = M + 0.01 * (Y @ Y.T / len(X) - np.eye(2))
    np.testing.assert_allclose(d.M, M, rtol=1e-12)


def test_at_optimum_whitens():
    rng = np.random.default_rng(4)
    C = random_spd(4, rng)
    for net in [whiten.DirectNetwork.at_optimum(C), whiten.InterneuronNetwork.at_optimum(C, 6)]:
        assert net.whitening_error(C) < 1e-10
        assert net.sqrt_error(C) < 1e-10


def np_t_direct(lam, m0, eps):
    a = np.sqrt(lam)
    if abs(m0 - a) <= eps:
        return 0.0
    if m0 > a:
        return (m0 - a - eps) + a / 2 * np.log((2 * a + eps) * (m0 - a) / (eps * (m0 + a)))
    return (m0 - a + eps) + a / 2 * np.log((2 * a - eps) * (a - m0) / (eps * (a + m0)))


def np_t_interneuron(lam, m0, eps):
    a = np.sqrt(lam)
    if abs(m0 - a) <= eps:
        return 0.0
    if m0 > a:
        return 0.25 * np.log((m0**2 - lam) / (eps * (2 * a + eps)))
    return 0.25 * np.log((lam - m0**2) / (eps * (2 * a - eps)))


@pytest.mark.parametrize(
    "m0, td, ti", [(0.01, 3.34, 1.12), (5, 7.70, 1.61), (50, 53.26, 2.80), (500, 503.32, 3.95)]
)
def test_closed_forms_match_the_spec_table(m0, td, ti):
    assert whiten.t_direct(3.0, m0, 1e-2) == pytest.approx(np_t_direct(3.0, m0, 1e-2), rel=1e-12)
    assert whiten.t_interneuron(3.0, m0, 1e-2) == pytest.approx(
        np_t_interneuron(3.0, m0, 1e-2), rel=1e-12
    )
    assert whiten.t_direct(3.0, m0, 1e-2) == pytest.approx(td, abs=0.006)
    assert whiten.t_interneuron(3.0, m0, 1e-2) == pytest.approx(ti, abs=0.006)


@pytest.mark.parametrize("method", ["dopri5", "dop853", "tsit5"])
@pytest.mark.parametrize("c", [0.1, 10.0, 100.0])
def test_flow_times_match_closed_forms(method, c):
    # Commuting start: ||M - C^{1/2}||_op = max_i |m_i - sqrt(lambda_i)|, so the time is the
    # largest scalar time over the eigenvalues.
    lam = np.linspace(0.5, 2.0, 5)
    C = np.diag(lam)
    eps = 1e-2
    expect_d = max(np_t_direct(l, c, eps) for l in lam)
    expect_i = max(np_t_interneuron(l, c, eps) for l in lam)
    rd = whiten.flow_time(whiten.DirectNetwork.scaled_identity(5, c), C, eps, method=method)
    ri = whiten.flow_time(whiten.InterneuronNetwork.commuting(5, 7, c), C, eps, method=method)
    assert rd["time"] == pytest.approx(expect_d, rel=1e-5)
    assert ri["time"] == pytest.approx(expect_i, rel=1e-5)
    assert rd["rhs_evals"] > 0 and ri["accepted_steps"] > 0
    assert rd["state"].shape == (5, 5) and ri["state"].shape == (5, 7)
    # at the crossing the error is the threshold
    S = ri["state"]
    assert np.abs(np.linalg.eigvalsh(S @ S.T) - np.sqrt(lam)).max() == pytest.approx(eps, rel=1e-4)


def test_flow_whitening_error_and_generic_start():
    C = whiten.covariance_with_spectrum(np.logspace(0, 1, 4), seed=3)
    assert np.allclose(np.linalg.eigvalsh(C), np.logspace(0, 1, 4))
    net = whiten.InterneuronNetwork.generic(4, 4, 50.0, seed=1)
    r = whiten.flow_time(net, C, 1e-3, error="whitening", method="dop853")
    W = r["state"]
    assert white_err(W @ W.T, C) == pytest.approx(1e-3, rel=1e-3)
    # the network itself is not changed
    assert net.whitening_error(C) > 1.0
    # not reached before t_max
    r = whiten.flow_time(whiten.DirectNetwork.scaled_identity(4, 50.0), C, 1e-3, t_max=1.0)
    assert r["time"] is None and r["t_end"] == pytest.approx(1.0)
