"""Gain-modulation bindings (issue #15) against independent numpy code written from the spec
(/work/shared/spec/paper3-gain-modulating-interneurons.md): paper A's fixed frame with adaptive
gains, paper B's slow synapses with fast gains."""

import itertools

import numpy as np
import pytest

import whiten


def random_spd(n, rng, floor=0.5):
    a = rng.standard_normal((n, n))
    return a @ a.T / n + floor * np.eye(n)


def sqrtm(C):
    lam, Q = np.linalg.eigh(C)
    return Q @ np.diag(np.sqrt(lam)) @ Q.T


def inv_whitening(W, g, alpha):
    # alpha I + W diag(g) W^T
    return alpha * np.eye(W.shape[0]) + W @ np.diag(g) @ W.T


def np_cyy(W, g, alpha, C):
    M = np.linalg.inv(inv_whitening(W, g, alpha))
    return M @ C @ M.T


def np_signed_perm_distance(W, V):
    Wh = W / np.linalg.norm(W, axis=0)
    k = W.shape[1]
    best = np.inf
    for perm in itertools.permutations(range(k)):
        for signs in itertools.product([-1.0, 1.0], repeat=k):
            P = np.zeros((k, k))
            for b, a in enumerate(perm):
                P[a, b] = signs[b]
            best = min(best, np.linalg.norm(Wh @ P - V))
    return best


# ---------------------------------------------------------------- frames


def test_fixed_frames():
    W = whiten.mercedes()
    assert W.shape == (2, 3)
    np.testing.assert_allclose(np.linalg.norm(W, axis=0), 1.0, atol=1e-15)
    np.testing.assert_allclose(W @ W.T, 1.5 * np.eye(2), atol=1e-14)
    np.testing.assert_allclose(np.arctan2(W[1], W[0]) % (2 * np.pi), [0, 2 * np.pi / 3, 4 * np.pi / 3])
    E = whiten.equiangular_3d()
    assert E.shape == (3, 6)
    np.testing.assert_allclose(E @ E.T, 2.0 * np.eye(3), atol=1e-14)
    G = np.abs(E.T @ E)
    off = G[~np.eye(6, dtype=bool)]
    np.testing.assert_allclose(off, 1 / np.sqrt(5), atol=1e-14)


def test_random_and_spectral_frames():
    W = whiten.random_frame(4, 7, seed=3)
    assert W.shape == (4, 7)
    np.testing.assert_allclose(np.linalg.norm(W, axis=0), 1.0, atol=1e-14)
    np.testing.assert_array_equal(W, whiten.random_frame(4, 7, seed=3))
    assert not np.allclose(W, whiten.random_frame(4, 7, seed=4))
    C = random_spd(3, np.random.default_rng(0))
    S = whiten.spectral_frame(C, extra=2, seed=1)
    assert S.shape == (3, 5)
    np.testing.assert_allclose(np.linalg.norm(S, axis=0), 1.0, atol=1e-12)
    lam = np.linalg.eigvalsh(C)  # ascending, as the frame's columns
    for i in range(3):
        np.testing.assert_allclose(C @ S[:, i], lam[i] * S[:, i], atol=1e-12)
    assert whiten.spectral_frame(C).shape == (3, 3)


def test_conv_frames():
    F = whiten.conv_frame_1d(4, 2)
    # identity, then the neighbour pairs (0,1), (1,2), (2,3)
    s = 1 / np.sqrt(2)
    expected = np.hstack([np.eye(4), s * np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]])])
    np.testing.assert_allclose(F, expected, atol=1e-15)
    # 3 x 3 image, 2 x 2 window: 6 horizontal + 6 vertical + 8 diagonal pairs
    G = whiten.conv_frame(3, 3, 2, 2)
    assert G.shape == (9, 9 + 20)
    np.testing.assert_allclose(np.linalg.norm(G, axis=0), 1.0, atol=1e-15)
    np.testing.assert_array_equal(whiten.conv_frame(5, 1, 3, 1), whiten.conv_frame_1d(5, 3))


def test_normalize_columns():
    A = np.array([[3.0, 0.0], [4.0, -2.0]])
    np.testing.assert_allclose(whiten.normalize_columns(A), [[0.6, 0.0], [0.8, -1.0]])


# ---------------------------------------------------------------- paper A


def test_steady_state_and_covariance_match_numpy():
    rng = np.random.default_rng(1)
    W = whiten.random_frame(3, 6, seed=2)
    g = rng.uniform(0.1, 1.0, 6)
    alpha = 0.7
    net = whiten.GainNetwork(W, g0=g, alpha=alpha)
    assert (net.n, net.k, net.alpha, net.clamp) == (3, 6, 0.7, False)
    np.testing.assert_array_equal(net.W, W)
    np.testing.assert_array_equal(net.g, g)
    X = rng.standard_normal((50, 3))
    A = inv_whitening(W, g, alpha)
    Y = np.linalg.solve(A, X.T).T
    np.testing.assert_allclose(net.respond(X), Y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(net.interneuron_inputs(Y), Y @ W, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(net.inverse_whitening_matrix(), A, atol=1e-14)
    C = random_spd(3, rng)
    Cyy = np_cyy(W, g, alpha, C)
    np.testing.assert_allclose(net.output_covariance(C), Cyy, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(net.projected_variances(C), np.diag(W.T @ Cyy @ W), rtol=1e-11)
    np.testing.assert_allclose(net.gain_gradient(C), np.diag(W.T @ Cyy @ W) - 1, atol=1e-11)
    D = Cyy - np.eye(3)
    lam = np.linalg.eigvalsh(Cyy)
    assert net.whitening_error(C) == pytest.approx(np.linalg.norm(D, 2), rel=1e-10)
    assert net.whitening_error(C, "frobenius") == pytest.approx(np.sum(D**2) / 9, rel=1e-10)
    assert net.whitening_error(C, "spectral") == pytest.approx(np.mean((lam - 1) ** 2), rel=1e-10)
    assert net.whitening_error(C, "max_eigen_excess") == pytest.approx(lam[-1] - 1, rel=1e-10)


def test_online_and_offline_gain_steps_match_numpy():
    rng = np.random.default_rng(2)
    W = whiten.mercedes()
    C = random_spd(2, rng)
    net = whiten.GainNetwork(W)
    np.testing.assert_array_equal(net.g, np.zeros(3))  # default g0
    g = np.zeros(3)
    for _ in range(4):
        X = rng.standard_normal((8, 2))
        Y = np.linalg.solve(inv_whitening(W, g, 1.0), X.T).T
        np.testing.assert_allclose(net.online_step(X, 0.05), Y, rtol=1e-12, atol=1e-13)
        Z = Y @ W
        g = g + 0.05 * np.mean(Z**2 - 1, axis=0)
        np.testing.assert_allclose(net.g, g, rtol=1e-12, atol=1e-13)
    for _ in range(4):
        Cyy = np_cyy(W, g, 1.0, C)
        np.testing.assert_allclose(net.offline_step(C, 0.1), Cyy, rtol=1e-11, atol=1e-12)
        g = g + 0.1 * (np.diag(W.T @ Cyy @ W) - 1)
        np.testing.assert_allclose(net.g, g, rtol=1e-11, atol=1e-12)
    net.set_gains([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(net.g, [1.0, 2.0, 3.0])


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_optimal_gains_mercedes_give_c_sqrt(alpha):
    # K = 3 = n(n+1)/2: {w_i w_i^T} spans Sym(2), so alpha I + W diag(g) W^T = C^{1/2} exactly
    # (compared as matrices, to 1e-10 relative to ||C^{1/2}||).
    rng = np.random.default_rng(3)
    W = whiten.mercedes()
    for _ in range(5):
        C = random_spd(2, rng, floor=0.3)
        g = whiten.optimal_gains(W, C, alpha=alpha)
        S = sqrtm(C)
        np.testing.assert_allclose(inv_whitening(W, g, alpha), S, atol=1e-10 * np.linalg.norm(S, 2))
        np.testing.assert_allclose(np_cyy(W, g, alpha, C), np.eye(2), atol=1e-9)


def test_optimal_gains_solve_the_gain_equation():
    # K = 2 < n(n+1)/2 = 3: no exact whitening, but g solves
    # (W^T W)^{o2} g = diag(W^T (C^{1/2} - alpha I) W) (here (W^T W)^{o2} is invertible)
    rng = np.random.default_rng(4)
    C = random_spd(2, rng)
    W = whiten.random_frame(2, 2, seed=5)
    g = whiten.optimal_gains(W, C, alpha=0.9)
    A = (W.T @ W) ** 2
    b = np.diag(W.T @ (sqrtm(C) - 0.9 * np.eye(2)) @ W)
    np.testing.assert_allclose(A @ g, b, atol=1e-10)
    assert not np.allclose(np_cyy(W, g, 0.9, C), np.eye(2), atol=1e-3)


@pytest.mark.parametrize("frame", ["mercedes", "equiangular_3d"])
def test_offline_learning_reaches_the_optimal_gains(frame):
    W = getattr(whiten, frame)()
    n = W.shape[0]
    C = random_spd(n, np.random.default_rng(6), floor=0.5)
    net = whiten.GainNetwork(W)
    r = whiten.run_offline(net, C, eta=0.1, max_steps=20_000)
    assert r["stop"] == "converged"
    assert r["g_history"].shape == (r["steps"], W.shape[1])
    assert len(r["errors"]) == r["steps"]
    np.testing.assert_array_equal(r["g_history"][0], np.zeros(W.shape[1]))
    assert net.whitening_error(C) < 1e-4
    assert r["errors"][-1] < 1e-8  # Frobenius error ||C_yy - I||_F^2 / n^2
    S = sqrtm(C)
    g_opt = whiten.optimal_gains(W, C)
    np.testing.assert_allclose(net.inverse_whitening_matrix(), S, atol=1e-4)
    np.testing.assert_allclose(inv_whitening(W, net.g, 1.0), inv_whitening(W, g_opt, 1.0), atol=1e-4)


def test_run_offline_without_early_stop_and_clamp():
    W = whiten.mercedes()
    C = np.diag([3.0, 0.2])
    net = whiten.GainNetwork(W, clamp=True)
    r = whiten.run_offline(net, C, eta=0.05, max_steps=50, measure="spectral", early_stop=False)
    assert r["stop"] == "max_steps" and r["steps"] == 50
    assert r["g_history"].shape == (51, 3)
    assert np.all(r["g_history"][1:] >= 0) and np.all(net.g >= 0)
    assert np.all(np.diff(r["errors"]) <= 1e-12)  # the clamped spectral error never grows here


def test_singular_network_is_a_numerical_error():
    # g = -2/3: W diag(g) W^T = -(2/3) 1.5 I = -I, so I + W G W^T = 0
    net = whiten.GainNetwork(whiten.mercedes(), g0=[-2 / 3] * 3)
    with pytest.raises(whiten.NumericalError, match="singular"):
        net.respond(np.ones((1, 2)))


# ---------------------------------------------------------------- paper B


def test_multi_timescale_matches_numpy():
    rng = np.random.default_rng(7)
    W = rng.standard_normal((3, 4))  # columns of any norm
    g = rng.uniform(0.1, 0.5, 4)
    C = random_spd(3, rng)
    net = whiten.MultiTimescaleNetwork(W, g0=g, alpha=0.8)
    assert (net.n, net.k, net.alpha) == (3, 4, 0.8)
    S = rng.standard_normal((6, 3))
    R = np.linalg.solve(inv_whitening(W, g, 0.8), S.T).T
    np.testing.assert_allclose(net.respond(S), R, rtol=1e-11, atol=1e-12)
    Crr = np_cyy(W, g, 0.8, C)
    np.testing.assert_allclose(net.output_covariance(C), Crr, rtol=1e-11, atol=1e-12)
    assert net.whitening_error(C) == pytest.approx(np.linalg.norm(Crr - np.eye(3), 2), rel=1e-10)
    e = net.expected_gradients(C)
    np.testing.assert_allclose(e["dg"], np.diag(W.T @ Crr @ W) - np.sum(W**2, axis=0), atol=1e-10)
    np.testing.assert_allclose(e["dW"], (Crr - np.eye(3)) @ W @ np.diag(g), atol=1e-10)
    # one online step in the authors' order: n from the old gains, W diag(g_new) subtracted
    Z = R @ W
    g_new = g + 0.1 * (np.mean(Z**2, axis=0) - np.sum(W**2, axis=0))
    dW = R.T @ (Z * g) / len(S) - W @ np.diag(g_new)
    np.testing.assert_allclose(net.online_step(S, 0.1, 0.01), R, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(net.g, g_new, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(net.W, W + 0.01 * dW, rtol=1e-11, atol=1e-12)
    # an offline joint step
    W, g = net.W, net.g
    Crr = np_cyy(W, g, 0.8, C)
    np.testing.assert_allclose(net.offline_step(C, 0.1, 0.01), Crr, rtol=1e-10, atol=1e-11)
    np.testing.assert_allclose(net.g, g + 0.1 * (np.diag(W.T @ Crr @ W) - np.sum(W**2, axis=0)), atol=1e-10)
    np.testing.assert_allclose(net.W, W + 0.01 * (Crr - np.eye(3)) @ W @ np.diag(g), atol=1e-10)
    # the fast-gain limit: the optimal gains, then one expected W step at those gains
    W = net.W
    g_opt = whiten.optimal_gains(W, C, alpha=0.8)
    Crr = np_cyy(W, g_opt, 0.8, C)
    np.testing.assert_allclose(net.fast_gain_step(C, 0.05), Crr, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(net.g, g_opt, rtol=1e-12)
    np.testing.assert_allclose(net.W, W + 0.05 * (Crr - np.eye(3)) @ W @ np.diag(g_opt), atol=1e-9)
    g2 = net.online_gain_step(S, 0.1)
    np.testing.assert_array_equal(g2, net.g)


def test_synthetic_contexts():
    ctx = whiten.synthetic_contexts(2, 6, max_lambda=4.0, seed=0)
    V, L, Cs = ctx["V"], ctx["lambdas"], ctx["covariances"]
    assert V.shape == (2, 2) and L.shape == (6, 2) and Cs.shape == (6, 2, 2)
    np.testing.assert_allclose(np.linalg.norm(V, axis=0), 1.0, atol=1e-14)
    assert np.radians(40) <= ctx["theta"] <= np.radians(80)
    cos = V[:, 0] @ V[:, 1]
    assert cos == pytest.approx(np.cos(ctx["theta"]), abs=1e-12)
    assert np.all((L >= 0) & (L < 4)) and np.all(L.sum(axis=1) > 0)
    for lam, C in zip(L, Cs):
        A = np.eye(2) + V @ np.diag(lam) @ V.T
        np.testing.assert_allclose(C, A @ A, atol=1e-12)
        # C^{1/2} - I = V diag(lambda) V^T, so the optimal gains of V are lambda
        np.testing.assert_allclose(whiten.optimal_gains(V, C), lam, atol=1e-9)
    ctx3 = whiten.synthetic_contexts(3, 2, seed=1)
    assert ctx3["theta"] is None
    np.testing.assert_allclose(ctx3["V"].T @ ctx3["V"], np.eye(3), atol=1e-12)


def test_signed_permutation_distance_matches_numpy():
    rng = np.random.default_rng(8)
    V = whiten.random_frame(3, 3, seed=9)
    W = rng.standard_normal((3, 3))
    assert whiten.signed_permutation_distance(W, V) == pytest.approx(np_signed_perm_distance(W, V), rel=1e-10)
    Wp = -3.0 * V[:, [2, 0, 1]]
    assert whiten.signed_permutation_distance(Wp, V) < 1e-7


def test_fast_gain_learning_recovers_the_basis():
    # Paper B's claim: with gains at their optimum in every context, W converges to the
    # generating basis V up to sign and permutation (unit columns, eta_w = 0.05, 2000 steps).
    ctx = whiten.synthetic_contexts(2, 50, seed=2)
    V, Cs = ctx["V"], ctx["covariances"]
    W0 = whiten.random_frame(2, 2, seed=12)
    net = whiten.MultiTimescaleNetwork(W0, unit_columns=True)
    before = np_signed_perm_distance(W0, V)
    rng = np.random.default_rng(0)
    for _ in range(2000):
        net.fast_gain_step(Cs[rng.integers(len(Cs))], 0.05)
    after = np_signed_perm_distance(net.W, V)
    assert before > 0.5
    assert after < 1e-3
    np.testing.assert_allclose(np.linalg.norm(net.W, axis=0), 1.0, atol=1e-12)
    # with W = V (up to sign), the optimal gains whiten every context exactly
    for C in Cs[:5]:
        net.set_gains(whiten.optimal_gains(net.W, C))
        assert net.whitening_error(C) < 1e-6
