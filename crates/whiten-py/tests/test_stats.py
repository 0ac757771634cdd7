"""Signal statistics against direct numpy computations with the same definitions
(crates/whiten-core/src/stats/)."""

import math
from statistics import NormalDist

import numpy as np
import pytest

import whiten


def np_mi(pairs, bin_width=0.5, stride=1):
    """Plug-in MI (nats) of floor(x / bin_width) bins, from a numpy joint histogram."""
    p = np.asarray(pairs)[::stride]
    idx = np.floor(p / bin_width).astype(np.int64)
    idx -= idx.min(axis=0)
    na, nb = idx.max(axis=0) + 1
    joint = np.zeros((na, nb))
    np.add.at(joint, (idx[:, 0], idx[:, 1]), 1)
    pj = joint / len(p)
    pa, pb = pj.sum(axis=1, keepdims=True), pj.sum(axis=0, keepdims=True)
    nz = pj > 0
    return float(np.sum(pj[nz] * np.log(pj[nz] / (pa @ pb)[nz])))


def np_normal_scores(pairs):
    p = np.asarray(pairs)
    m = len(p)
    out = np.empty_like(p)
    inv = NormalDist().inv_cdf
    for c in range(2):
        ranks = np.empty(m, dtype=int)
        ranks[np.argsort(p[:, c], kind="stable")] = np.arange(m)
        out[:, c] = [inv((r + 0.5) / m) for r in ranks]
    return out


@pytest.fixture(scope="module")
def pairs():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((5000, 2))
    # dependent, heavy-tailed pairs: a shared scale
    scale = np.exp(rng.standard_normal(5000))[:, None]
    return z * scale


@pytest.mark.parametrize("bin_width, stride", [(0.5, 1), (0.5, 10), (0.25, 3), (1.0, 1)])
def test_mutual_information_matches_numpy_histogram(pairs, bin_width, stride):
    got = whiten.mutual_information(pairs, bin_width=bin_width, stride=stride)
    assert got == pytest.approx(np_mi(pairs, bin_width, stride), rel=1e-10, abs=1e-12)


def test_normal_scores_and_their_mi(pairs):
    z = whiten.normal_scores(pairs)
    np.testing.assert_allclose(z, np_normal_scores(pairs), atol=1e-9)
    assert whiten.normal_score_mi(pairs) == pytest.approx(np_mi(z), rel=1e-9)
    # invariant under increasing maps of a coordinate
    warped = pairs.copy()
    warped[:, 0] = np.sinh(warped[:, 0])
    assert whiten.normal_score_mi(warped) == pytest.approx(whiten.normal_score_mi(pairs))


def test_excess_kurtosis_and_ks_distance():
    x = np.random.default_rng(1).laplace(size=20000)
    m = x - x.mean()
    k = np.mean(m**4) / np.mean(m**2) ** 2 - 3
    assert whiten.excess_kurtosis(x) == pytest.approx(k, rel=1e-10)
    xs = np.sort(x)
    cdf = np.array([0.5 * (1 + math.erf(v / math.sqrt(2))) for v in xs])
    i = np.arange(1, len(xs) + 1)
    d = max(np.max(i / len(xs) - cdf), np.max(cdf - (i - 1) / len(xs)))
    assert whiten.ks_distance(x) == pytest.approx(d, abs=1e-9)


def test_generalized_gaussian_fit_finds_a_laplace():
    x = np.random.default_rng(2).laplace(scale=2.0, size=50000)
    fit = whiten.fit_generalized_gaussian(x)
    assert fit["beta"] == pytest.approx(1.0, abs=0.03)
    assert fit["alpha"] == pytest.approx(2.0, rel=0.03)
    # the log-likelihood is the generalised Gaussian one at the fitted parameters
    al, be = fit["alpha"], fit["beta"]
    ll = np.sum(np.log(be / (2 * al * math.gamma(1 / be))) - (np.abs(x) / al) ** be)
    assert fit["log_likelihood"] == pytest.approx(ll, rel=1e-9)


def test_signals_from_a_band():
    img = whiten.generated_image(0, crop=64)
    assert img.shape == (64, 64)
    np.testing.assert_array_equal(img, whiten.generated_image(0, crop=64))
    band = whiten.pyramid_band(img, orientation=1)
    s = whiten.signal_1d(band)
    assert s.shape == (64 * 64,) and np.mean(s**2) == pytest.approx(1.0)
    p = whiten.pairs_2d(band, 8)
    # column by column: pair j * (h - d) + i is (band[i, j], band[i + d, j]), each coordinate
    # divided by its standard deviation over the pairs
    first, second = band[:-8, :].T.ravel(), band[8:, :].T.ravel()
    np.testing.assert_allclose(p[:, 0], first / first.std(), rtol=1e-12)
    np.testing.assert_allclose(p[:, 1], second / second.std(), rtol=1e-12)
