"""Bad input: wrong shapes, dtypes, NaN, non-contiguous arrays, invalid parameters, and
numerical failures, each with a clear exception."""

import numpy as np
import pytest

import whiten

C = np.diag([0.5, 1.0, 2.0])


def test_numerical_error_is_a_runtime_error():
    assert issubclass(whiten.NumericalError, RuntimeError)


@pytest.mark.parametrize(
    "X, exc, match",
    [
        (np.ones(3), ValueError, "2-dimensional"),
        (np.ones((4, 2)), ValueError, "3 column"),
        (np.ones((0, 3)), ValueError, "empty"),
        (np.array([[1.0, np.nan, 0.0]]), ValueError, r"NaN at index \(0, 1\)"),
        (np.array([[1.0, np.inf, 0.0]]), ValueError, "inf at index"),
        (np.ones((2, 3), dtype=complex), TypeError, "real numbers"),
        (np.array([["a", "b", "c"]]), TypeError, "real numbers"),
        ([[1.0, "x", 2.0]], TypeError, "X"),
        ([[1.0, 2.0], [3.0]], TypeError, "X"),
    ],
)
def test_respond_refuses(X, exc, match):
    net = whiten.DirectNetwork.scaled_identity(3, 1.0)
    with pytest.raises(exc, match=match):
        net.respond(X)


def test_other_dtypes_lists_and_non_contiguous_arrays_are_accepted():
    net = whiten.InterneuronNetwork.commuting(3, 4, 2.0)
    X = np.arange(30, dtype=float).reshape(10, 3)
    expected = X / 2.0
    np.testing.assert_allclose(net.respond(X.astype(np.int32)), expected)
    np.testing.assert_allclose(net.respond(X.astype(np.float32)), expected)
    np.testing.assert_allclose(net.respond(X.tolist()), expected)
    wide = np.zeros((10, 6))
    wide[:, ::2] = X
    assert not wide[:, ::2].flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(net.respond(wide[:, ::2]), expected)
    np.testing.assert_allclose(net.respond(np.asfortranarray(X)), expected)
    # the input is not modified
    np.testing.assert_array_equal(X, np.arange(30, dtype=float).reshape(10, 3))


def test_covariance_and_parameters():
    d = whiten.DirectNetwork.scaled_identity(3, 1.0)
    with pytest.raises(ValueError, match=r"must be \(3, 3\)"):
        d.offline_step(np.eye(2), 0.1)
    with pytest.raises(ValueError, match="learning rate eta = -0.1"):
        d.offline_step(C, -0.1)
    with pytest.raises(ValueError, match="learning rate"):
        d.online_step(np.ones((1, 3)), float("nan"))
    with pytest.raises(ValueError, match="not positive definite"):
        whiten.DirectNetwork(np.diag([1.0, -1.0]))
    with pytest.raises(ValueError, match="not symmetric"):
        whiten.DirectNetwork(np.array([[1.0, 0.5], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="fewer than n"):
        whiten.InterneuronNetwork.commuting(3, 2, 1.0)
    with pytest.raises(ValueError, match="full row rank"):
        whiten.InterneuronNetwork(np.array([[1.0, 0.0], [2.0, 0.0]]))
    with pytest.raises(ValueError, match="scale"):
        whiten.DirectNetwork.scaled_identity(3, 0.0)
    with pytest.raises(OverflowError):
        whiten.DirectNetwork.generic(3, 1.0, seed=-1)
    with pytest.raises(ValueError, match="threshold"):
        whiten.learn_offline(d, C, 0.1, threshold=0.0)


def test_flow_arguments():
    d = whiten.DirectNetwork.scaled_identity(3, 1.0)
    with pytest.raises(ValueError, match="unknown method"):
        whiten.flow_time(d, C, method="euler")
    with pytest.raises(ValueError, match="sqrt"):
        whiten.flow_time(d, C, error="frobenius")
    with pytest.raises(ValueError, match="not positive definite"):
        whiten.flow_time(d, -C)
    with pytest.raises(ValueError, match="tolerances"):
        whiten.flow_time(d, C, rtol=-1.0)
    with pytest.raises(TypeError):
        whiten.flow_time("not a network", C)
    with pytest.raises(ValueError):
        whiten.t_direct(-1.0, 1.0, 1e-2)


def test_divergent_learning_is_a_numerical_error():
    # far beyond the stability limit the update leaves the positive definite cone:
    # M = 100 I + 150 (C_yy - I) is about -50 I, and the next step cannot factor it
    d = whiten.DirectNetwork.scaled_identity(3, 100.0)
    d.offline_step(C, 150.0)
    with pytest.raises(whiten.NumericalError, match="not positive definite"):
        d.offline_step(C, 150.0)
    with pytest.raises(whiten.NumericalError):
        d.respond(np.ones((2, 3)))


def test_circuit_inputs():
    with pytest.raises(ValueError, match="theta"):
        whiten.Circuit(np.ones((1, 1)), [1.0], [3.5])
    with pytest.raises(ValueError, match="g"):
        whiten.Circuit(np.ones((1, 2)), [1.0], [2.0, 2.0])
    c = whiten.Circuit(np.ones((1, 1)), [1.0], [2.0])
    with pytest.raises(ValueError, match="n = 1 primary neurons, the samples have 2 column"):
        c.respond(np.ones((5, 2)))
    with pytest.raises(ValueError, match="NaN"):
        c.respond(np.array([0.0, np.nan]))
    s = np.random.default_rng(0).standard_normal(1000)
    with pytest.raises(ValueError, match="learning"):
        whiten.Circuit.fit(s, learning="fast")
    with pytest.raises(ValueError, match="theta"):
        whiten.Circuit.fit(s, theta="sometimes")
    with pytest.raises(ValueError, match="theta"):
        whiten.Circuit.fit(s, theta=[0.5, 2.0])
    with pytest.raises(ValueError, match="batch"):
        whiten.Circuit.fit(s, batch=0)
    with pytest.raises(ValueError, match="n = 3"):
        whiten.Circuit.fit(np.ones((10, 3)))
    with pytest.raises(ValueError, match="eta_w"):
        whiten.Circuit.fit(s, eta_w=0.1)


def test_stats_inputs():
    with pytest.raises(ValueError, match="pairs must have 2 column"):
        whiten.mutual_information(np.ones((10, 3)))
    with pytest.raises(ValueError, match="bin width"):
        whiten.mutual_information(np.ones((10, 2)), bin_width=0.0)
    with pytest.raises(ValueError, match="stride"):
        whiten.mutual_information(np.ones((10, 2)), stride=0)
    with pytest.raises(ValueError, match="constant"):
        whiten.excess_kurtosis(np.ones(10))
    with pytest.raises(ValueError, match="orientation"):
        whiten.pyramid_band(np.ones((8, 8)), orientation=5)
    with pytest.raises(ValueError, match="r_min"):
        whiten.dead_leaves(16, r_min=0.1)


def test_gain_inputs():
    M = whiten.mercedes()
    C2 = np.diag([2.0, 0.5])
    # frames whose columns are not unit (or zero) are refused, naming the argument
    with pytest.raises(ValueError, match=r"W: column 0 of frame W has norm 1.41"):
        whiten.GainNetwork(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"W0: column 1 of W has norm 0"):
        whiten.MultiTimescaleNetwork(np.array([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match=r"W: column 1 of W has norm 0"):
        whiten.normalize_columns(np.array([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match=r"W: column 0 of W has norm 0"):
        whiten.signed_permutation_distance(np.zeros((2, 2)), np.eye(2))
    # shapes, NaN, empty arrays, k = 0
    with pytest.raises(ValueError, match="W is empty"):
        whiten.GainNetwork(np.zeros((2, 0)))
    with pytest.raises(ValueError, match="W0 is empty"):
        whiten.MultiTimescaleNetwork(np.zeros((0, 2)))
    with pytest.raises(ValueError, match="W must be 2-dimensional"):
        whiten.GainNetwork(np.ones(3))
    with pytest.raises(ValueError, match=r"W contains NaN at index \(1, 2\)"):
        whiten.GainNetwork(np.array([[1.0, 1.0, 1.0], [0.0, 0.0, np.nan]]))
    with pytest.raises(ValueError, match="g0 must have K = 3"):
        whiten.GainNetwork(M, g0=[1.0, 2.0])
    with pytest.raises(ValueError, match="g0 contains inf"):
        whiten.GainNetwork(M, g0=[1.0, np.inf, 0.0])
    with pytest.raises(ValueError, match="alpha"):
        whiten.GainNetwork(M, alpha=-1.0)
    with pytest.raises(ValueError, match="alpha"):
        whiten.MultiTimescaleNetwork(M, alpha=float("nan"))
    net = whiten.GainNetwork(M)
    with pytest.raises(ValueError, match="2 column"):
        net.respond(np.ones((4, 3)))
    with pytest.raises(ValueError, match="X is empty"):
        net.respond(np.ones((0, 2)))
    with pytest.raises(ValueError, match=r"C must be \(2, 2\)"):
        net.output_covariance(np.eye(3))
    with pytest.raises(ValueError, match="measure"):
        net.whitening_error(C2, measure="operator")
    with pytest.raises(ValueError, match="learning rate eta_g = -0.1"):
        net.offline_step(C2, -0.1)
    with pytest.raises(ValueError, match="learning rate"):
        net.online_step(np.ones((1, 2)), float("nan"))
    with pytest.raises(ValueError, match="learning rate"):
        whiten.run_offline(net, C2, eta=0.0, max_steps=10)
    with pytest.raises(ValueError, match="g is empty"):
        net.set_gains([])
    with pytest.raises(ValueError, match="g must have K = 3"):
        net.set_gains([1.0])
    np.testing.assert_array_equal(net.g, np.zeros(3))  # refused calls leave the state alone
    multi = whiten.MultiTimescaleNetwork(np.eye(2))
    with pytest.raises(ValueError, match="eta_w"):
        multi.online_step(np.ones((3, 2)), 0.1, 0.0)
    with pytest.raises(ValueError, match="eta_w"):
        multi.fast_gain_step(C2, -1.0)
    with pytest.raises(ValueError, match="not positive definite"):
        multi.fast_gain_step(-C2, 0.1)
    with pytest.raises(ValueError, match="S must have 2 column"):
        multi.respond(np.ones((2, 3)))
    # frames and the closed form
    with pytest.raises(ValueError, match="K = 0"):
        whiten.random_frame(3, 0)
    with pytest.raises(ValueError, match="n = 0"):
        whiten.random_frame(0, 3)
    with pytest.raises(ValueError, match="more than"):
        whiten.random_frame(1 << 40, 1 << 40)
    with pytest.raises(ValueError, match="more than"):
        whiten.conv_frame(1 << 33, 1 << 33, 1, 1)
    with pytest.raises(ValueError, match="rows = 0"):
        whiten.conv_frame(0, 3, 1, 1)
    with pytest.raises(ValueError, match="h = 5"):
        whiten.conv_frame_1d(4, 5)
    with pytest.raises(OverflowError):
        whiten.conv_frame_1d(-1, 1)
    with pytest.raises(ValueError, match="not symmetric"):
        whiten.spectral_frame(np.array([[1.0, 0.5], [0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"C must be square"):
        whiten.spectral_frame(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"C must be \(2, 2\)"):
        whiten.optimal_gains(M, np.eye(3))
    with pytest.raises(ValueError, match="not positive definite"):
        whiten.optimal_gains(M, np.diag([1.0, -1.0]))
    with pytest.raises(ValueError, match="alpha"):
        whiten.optimal_gains(M, C2, alpha=float("inf"))
    # contexts and the distance
    with pytest.raises(ValueError, match="N = 0"):
        whiten.synthetic_contexts(0, 3)
    with pytest.raises(ValueError, match="max_lambda"):
        whiten.synthetic_contexts(2, 3, max_lambda=0.0)
    with pytest.raises(ValueError, match="same shape"):
        whiten.signed_permutation_distance(np.eye(2), np.eye(3))
    with pytest.raises(ValueError, match="K <= 8"):
        whiten.signed_permutation_distance(np.eye(9), np.eye(9))
