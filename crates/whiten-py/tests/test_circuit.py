"""Paper 2 bindings: the circuit's response against a scalar root solve written here from the
spec (/work/shared/spec/paper2-shaping-responses.md, section 2), and fits in 1D and 2D."""

import numpy as np
import pytest

import whiten


def a(theta):
    return np.exp(np.maximum(2 * theta - 3.85, 0.0) ** 1.95)


def b(theta):
    return np.exp(np.maximum(theta**2.32 - 6.0, 0.0))


def f(theta, z):
    # f(theta, z) = a(theta) z + b(theta) sign(z) |z|^theta
    return a(theta) * z + b(theta) * np.sign(z) * np.abs(z) ** theta


def respond_1d(s, g, theta):
    """Root of F(r) = s - sum_i g_i f(theta_i, r) (w_i = 1) by vectorised bisection: the sum
    is odd and strictly increasing in r."""
    s = np.asarray(s, dtype=float)
    feedback = lambda r: sum(gi * f(ti, r) for gi, ti in zip(g, theta))
    hi = np.abs(s) + 1.0
    while np.any(feedback(hi) < np.abs(s)):
        hi = np.where(feedback(hi) < np.abs(s), 2 * hi, hi)
    lo, hi = -hi, hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        below = feedback(mid) < s
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return 0.5 * (lo + hi)


@pytest.mark.parametrize(
    "g, theta",
    [([0.8], [2.2]), ([0.3], [1.0]), ([1.7], [2.95]), ([0.4, 0.9], [1.0, 3.0])],
)
def test_1d_response_matches_a_scalar_root_solve(g, theta):
    circuit = whiten.Circuit(np.ones((1, len(g))), g, theta)
    s = np.random.default_rng(0).laplace(size=500) * 2
    r = circuit.respond(s)
    assert r.shape == s.shape
    np.testing.assert_allclose(r, respond_1d(s, g, theta), rtol=1e-9, atol=1e-12)
    # (P, 1) in, (P, 1) out
    assert circuit.respond(s[:, None]).shape == (500, 1)
    # interneuron outputs n_i = g_i f(theta_i, r), and they add up to s
    n = circuit.interneuron_outputs(r)
    np.testing.assert_allclose(n.sum(axis=1), s, rtol=1e-9, atol=1e-9)


def test_2d_response_solves_the_circuit_equation():
    rng = np.random.default_rng(1)
    W = rng.standard_normal((2, 3))
    circuit = whiten.Circuit(W, [0.5, 0.7, 0.9], [1.5, 2.2, 2.8])
    Wn = circuit.W
    np.testing.assert_allclose(np.linalg.norm(Wn, axis=0), 1.0)
    S = rng.standard_normal((200, 2))
    R = circuit.respond(S)
    Z = R @ Wn  # z_i = w_i^T r
    feedback = sum(
        np.outer(g * f(t, Z[:, i]), Wn[:, i]) for i, (g, t) in enumerate(zip(circuit.g, circuit.theta))
    )
    np.testing.assert_allclose(feedback, S, atol=1e-9)


@pytest.fixture(scope="module")
def band_signal():
    img = whiten.dead_leaves(128, seed=3)
    assert img.shape == (128, 128)
    band = whiten.pyramid_band(img, 0)
    assert band.shape == (128, 128)
    return whiten.signal_1d(band)


def test_1d_fit_gaussianises_a_dead_leaves_band(band_signal):
    s = band_signal
    circuit = whiten.Circuit.fit(s, seed=1)
    info = circuit.fit_info
    assert info["iterations"] > 0 and info["theta_mode"] in ("Learned", "Grid([1.0, 3.0])")
    assert len(info["candidates"]) == 2
    r = circuit.respond(s)
    k0, k1 = whiten.excess_kurtosis(s), whiten.excess_kurtosis(r)
    assert k0 > 3.0
    assert abs(k1) < 0.5
    assert whiten.ks_distance(r) < whiten.ks_distance(s / s.std())
    assert circuit.g.shape == (circuit.k,) and circuit.theta.shape == (circuit.k,)
    # seeded: the same fit again
    again = whiten.Circuit.fit(s, seed=1)
    np.testing.assert_array_equal(again.g, circuit.g)


def test_1d_fit_with_the_authors_settings(band_signal):
    circuit = whiten.Circuit.fit(
        band_signal, learning="reference", theta="learned", iterations=2000
    )
    assert circuit.k == 1 and circuit.fit_info["iterations"] == 2000
    assert circuit.fit_info["theta_mode"] == "Learned"
    assert 1.0 <= circuit.theta[0] <= 3.0
    assert circuit.W.tolist() == [[1.0]]


def test_the_small_gain_start_is_the_authors_start_on_an_amplified_signal(band_signal):
    # gain_start="small" multiplies the authors' initial gains by sqrt(var(s)) / 2. In 1D
    # (W = 1) the response to kappa s with gains g is the response to s with gains g / kappa,
    # and the gain rule is multiplicative, so learning from the small start on s is learning
    # from the authors' start on kappa s = 2 s / sqrt(var(s)), with every gain divided by kappa.
    s = np.asarray(band_signal, dtype=float) * 1.7  # not unit variance: the factor matters
    kappa = 2.0 / np.sqrt(np.var(s))
    args = dict(theta="learned", iterations=300, seed=5)
    small = whiten.Circuit.fit(s, **args)
    amplified = whiten.Circuit.fit(kappa * s, gain_start="authors", **args)
    np.testing.assert_allclose(small.g * kappa, amplified.g, rtol=1e-9)
    np.testing.assert_allclose(small.theta, amplified.theta, rtol=1e-9)
    np.testing.assert_allclose(small.respond(s), amplified.respond(kappa * s), rtol=1e-8, atol=1e-12)
    # and the authors' start on s itself is a different circuit
    authors = whiten.Circuit.fit(s, gain_start="authors", **args)
    assert not np.allclose(authors.g, small.g)


def test_gain_start_is_refused_where_it_means_nothing(band_signal):
    with pytest.raises(ValueError, match="gain_start"):
        whiten.Circuit.fit(band_signal, gain_start="tiny", iterations=10)
    with pytest.raises(ValueError, match="gain_start"):
        whiten.Circuit.fit(band_signal, learning="reference", gain_start="small", iterations=10)


def test_2d_auto_keeps_the_least_dependent_of_its_candidates_and_starts():
    band = whiten.pyramid_band(whiten.dead_leaves(96, seed=4))
    pairs = whiten.pairs_2d(band, 2)
    pairs = pairs / pairs.std()
    # 300 iterations: below the screen's length, so a screened start's score is its final one
    auto = whiten.Circuit.fit(pairs, interneurons=3, iterations=300, seed=5)
    cands = auto.fit_info["candidates"]
    assert [c["mode"] for c in cands] == ["Learned", "Fixed(2.35)", "Grid([1.0, 3.0])"]
    learned = cands[0]
    screened = learned["screened"]
    assert len(screened) == 4 and len(set(screened)) == 4, "every start is a different draw"
    assert learned["start"] == int(np.argmin(screened))
    assert learned["score"] == min(screened)
    assert [c["start"] for c in cands[1:]] == [0, 0] and cands[1]["screened"] == []
    # the kept circuit's responses score what the lowest candidate scored (all pairs)
    kept = whiten.normal_score_mi(auto.respond(pairs))
    assert kept == pytest.approx(min(c["score"] for c in cands), rel=1e-12)
    # start 0 is what theta="learned" alone gives with the same seed
    alone = whiten.Circuit.fit(pairs, interneurons=3, iterations=300, seed=5, theta="learned")
    assert whiten.normal_score_mi(alone.respond(pairs)) == pytest.approx(screened[0], rel=1e-12)


def test_robust_fit_does_not_depend_on_the_samples_scale(band_signal):
    # 1D: normalised steps and a gain start that scales with the signal
    s = band_signal
    unit = whiten.Circuit.fit(s, seed=1, theta="learned", iterations=2000)
    raw = whiten.Circuit.fit(10.0 * s, seed=1, theta="learned", iterations=2000)
    np.testing.assert_allclose(raw.g, 10.0 * unit.g, rtol=1e-9)
    np.testing.assert_allclose(raw.theta, unit.theta, atol=1e-9)
    # 2D: the fit learns the pairs at unit root mean square and scales the gains back
    band = whiten.pyramid_band(whiten.dead_leaves(96, seed=4))
    pairs = whiten.pairs_2d(band, 2)
    pairs = pairs / pairs.std()
    kw = dict(interneurons=3, theta="learned", iterations=300, seed=2, eta_w=0.3)
    unit = whiten.Circuit.fit(pairs, **kw)
    raw = whiten.Circuit.fit(46.0 * pairs, **kw)
    # the circuit for c s has gains c g, the same directions, thetas and responses
    np.testing.assert_allclose(raw.g, 46.0 * unit.g, rtol=1e-6)
    np.testing.assert_allclose(raw.W, unit.W, atol=1e-8)
    np.testing.assert_allclose(raw.theta, unit.theta, atol=1e-8)
    np.testing.assert_allclose(raw.respond(46.0 * pairs), unit.respond(pairs), atol=1e-6)
    # the authors' schedule learns the samples as given: its W moves with their scale
    ref = dict(interneurons=3, theta="learned", learning="reference", seed=2)
    a = whiten.Circuit.fit(pairs, **ref)
    b = whiten.Circuit.fit(3.0 * pairs, **ref)
    assert np.abs(a.W - b.W).max() > 1e-3


def test_2d_fit_on_pairs(band_signal):
    band = whiten.pyramid_band(whiten.dead_leaves(96, seed=4))
    pairs = whiten.pairs_2d(band, 2)
    assert pairs.shape == (94 * 96, 2)
    circuit = whiten.Circuit.fit(pairs, interneurons=3, theta=2.35, iterations=400, seed=2)
    assert circuit.W.shape == (2, 3) and circuit.n == 2
    np.testing.assert_allclose(circuit.theta, 2.35)
    r = circuit.respond(pairs)
    assert r.shape == pairs.shape
    assert whiten.normal_score_mi(r) < whiten.normal_score_mi(pairs)
