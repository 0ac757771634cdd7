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
