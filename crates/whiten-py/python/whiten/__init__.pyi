"""Type stubs of the ``whiten`` package (implemented in Rust, ``whiten._whiten``).

Array arguments accept any real array-like; a C-contiguous float64 numpy array is read without
copying, anything else is first copied into one. Sample arrays have one sample per row.
"""

import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]

__version__: str

class NumericalError(RuntimeError):
    """A numerical failure in the Rust code (not positive definite, no convergence,
    step-size underflow, ...)."""

# ---------------------------------------------------------------- paper 1

class DirectNetwork:
    """Algorithm 1: direct recurrent connections ``M`` (n x n, symmetric positive definite).

    Responses ``y = M^{-1} x``; offline learning ``M <- M + eta (C_yy - I)``; online learning
    ``M <- M + eta (y y^T - I)``; the optimum is ``M = C^{1/2}``.
    """

    def __init__(self, m0: ArrayLike) -> None:
        """A network with ``M = m0`` (square, symmetric, positive definite)."""
    @staticmethod
    def scaled_identity(n: int, c: float) -> "DirectNetwork":
        """The commuting start ``M0 = c I_n``."""
    @staticmethod
    def generic(n: int, c: float, seed: int = 0) -> "DirectNetwork":
        """A generic start ``M0 = c B``, ``B`` random SPD with eigenvalues in [0.5, 1]."""
    @staticmethod
    def at_optimum(c: ArrayLike) -> "DirectNetwork":
        """The network at its optimum for the covariance ``c``: ``M = c^{1/2}``."""
    @property
    def n(self) -> int:
        """Number of primary neurons."""
    @property
    def M(self) -> FloatArray:
        """The recurrent matrix (a copy, n x n)."""
    def respond(self, X: ArrayLike) -> FloatArray:
        """Responses ``y = M^{-1} x`` to the rows of ``X`` (T x n), as T x n."""
    def output_covariance(self, C: ArrayLike) -> FloatArray:
        """``C_yy = M^{-1} C M^{-1}``."""
    def whitening_error(self, C: ArrayLike) -> float:
        """``||C_yy - I||_op``."""
    def sqrt_error(self, C: ArrayLike) -> float:
        """``||M - C^{1/2}||_op``."""
    def offline_step(self, C: ArrayLike, eta: float) -> None:
        """One offline update, in place."""
    def online_step(self, X: ArrayLike, eta: float) -> None:
        """One online update from the rows of ``X`` (one row: the paper's update; several:
        the mean of their updates)."""
    def copy(self) -> "DirectNetwork":
        """A copy of this network."""

class InterneuronNetwork:
    """Algorithm 2: ``k >= n`` interneurons with weights ``W`` (n x k), ``M = W W^T``.

    Responses ``y = (W W^T)^{-1} x``; offline learning ``W <- W + eta (C_yy - I) W``; online
    learning ``W <- W + eta (y n^T - W)`` with ``n = W^T y``.
    """

    def __init__(self, w0: ArrayLike) -> None:
        """A network with weights ``w0`` (n x k, k >= n, full row rank)."""
    @staticmethod
    def commuting(n: int, k: int, c: float) -> "InterneuronNetwork":
        """The commuting start ``W0 = sqrt(c) [I_n | 0]``."""
    @staticmethod
    def generic(n: int, k: int, c: float, seed: int = 0) -> "InterneuronNetwork":
        """A generic start ``W0 = sqrt(c / k) G``, G standard normal."""
    @staticmethod
    def at_optimum(c: ArrayLike, k: Optional[int] = None) -> "InterneuronNetwork":
        """The network at an optimum: ``W = [c^{1/4} | 0]`` (k defaults to n)."""
    @property
    def n(self) -> int:
        """Number of primary neurons."""
    @property
    def k(self) -> int:
        """Number of interneurons."""
    @property
    def W(self) -> FloatArray:
        """The weights (a copy, n x k)."""
    @property
    def M(self) -> FloatArray:
        """``W W^T`` (n x n)."""
    def respond(self, X: ArrayLike) -> FloatArray:
        """Responses to the rows of ``X`` (T x n), as T x n."""
    def interneurons(self, X: ArrayLike) -> FloatArray:
        """Interneuron responses ``W^T y`` to the rows of ``X``, as T x k."""
    def output_covariance(self, C: ArrayLike) -> FloatArray:
        """``C_yy = M^{-1} C M^{-1}``."""
    def whitening_error(self, C: ArrayLike) -> float:
        """``||C_yy - I||_op``."""
    def sqrt_error(self, C: ArrayLike) -> float:
        """``||W W^T - C^{1/2}||_op``."""
    def offline_step(self, C: ArrayLike, eta: float) -> None:
        """One offline update, in place."""
    def online_step(self, X: ArrayLike, eta: float) -> None:
        """One online update from the rows of ``X``."""
    def copy(self) -> "InterneuronNetwork":
        """A copy of this network."""

Network = Union[DirectNetwork, InterneuronNetwork]

def learn_offline(
    network: Network,
    C: ArrayLike,
    eta: float,
    threshold: float = 1e-2,
    max_iterations: int = 20000,
) -> Tuple[Optional[int], FloatArray]:
    """Offline updates (in place) until ``||C_yy - I||_op < threshold``.

    Returns ``(iterations, errors)``: iterations to the threshold (0 if already there,
    ``None`` if not reached) and the error before each update and after the last.
    """

def flow_time(
    network: Network,
    C: ArrayLike,
    threshold: float = 1e-2,
    error: str = "sqrt",
    method: str = "dopri5",
    rtol: float = 1e-8,
    atol: float = 1e-10,
    max_steps: int = 1000000,
    t_max: Optional[float] = None,
) -> Dict[str, Any]:
    """Integrates the network's gradient flow from its current state until the error
    (``"sqrt"``: ``||M - C^{1/2}||_op``; ``"whitening"``: ``||C_yy - I||_op``) drops below
    ``threshold``. Methods: dopri5, tsit5, bs32, rosenbrock23, dop853.

    Returns ``{"time": float | None, "t_end", "rhs_evals", "accepted_steps",
    "rejected_steps", "state": M or W}``.
    """

def t_direct(lam: float, m0: float, eps: float) -> float:
    """Closed-form convergence time of the scalar direct flow."""

def t_interneuron(lam: float, m0: float, eps: float) -> float:
    """Closed-form convergence time of the scalar interneuron flow."""

def covariance_with_spectrum(eigenvalues: ArrayLike, seed: Optional[int] = None) -> FloatArray:
    """``Q diag(eigenvalues) Q^T``, ``Q = I`` without a seed, else Haar-random."""

# ---------------------------------------------------------------- paper 2

class Circuit:
    """Paper 2's circuit: weights ``W`` (n x k, unit columns), gains ``g >= 0``, activation
    parameters ``theta`` in [1, 3]; the response ``r`` to ``s`` solves
    ``s = sum_i w_i g_i f(theta_i, w_i^T r)``, ``f(theta, z) = a z + b sign(z) |z|^theta``."""

    def __init__(self, W: ArrayLike, g: ArrayLike, theta: ArrayLike) -> None:
        """A circuit with these parameters (W's columns are rescaled to unit norm)."""
    @staticmethod
    def fit(
        samples: ArrayLike,
        learning: str = "robust",
        theta: Union[str, float, Sequence[float], None] = None,
        interneurons: Optional[int] = None,
        seed: int = 0,
        theta_init: Optional[float] = None,
        batch: Optional[int] = None,
        iterations: Optional[int] = None,
        eta_g: Optional[float] = None,
        eta_theta: Optional[float] = None,
        eta_w: Optional[float] = None,
        tolerance: Optional[float] = None,
        gain_start: Optional[str] = None,
    ) -> "Circuit":
        """Learns a circuit on a 1D signal ``(P,)``/``(P, 1)`` or on pairs ``(P, 2)`` (one sample
        per row). The responses' target is N(0, I) whatever the samples' scale; the robust 2D
        fit learns the pairs scaled to unit root mean square and scales the gains back.

        ``learning``: ``"robust"`` (default) or ``"reference"`` (the authors' settings).
        ``theta``: ``"auto"`` (default; in 2D the learned theta from the best of four random
        starts), ``"learned"``, ``"initial"``, a float or a list.
        ``gain_start`` (robust only): ``"small"`` (default) or ``"authors"``.
        """
    def respond(self, samples: ArrayLike) -> FloatArray:
        """Responses, in the shape of ``samples`` (``(P,)`` for n = 1, or ``(P, n)``)."""
    def interneuron_outputs(self, responses: ArrayLike) -> FloatArray:
        """``g_i f(theta_i, w_i^T r)`` for each response, as ``(P, k)``."""
    @property
    def n(self) -> int: ...
    @property
    def k(self) -> int: ...
    @property
    def g(self) -> FloatArray: ...
    @property
    def theta(self) -> FloatArray: ...
    @property
    def W(self) -> FloatArray: ...
    @property
    def fit_info(self) -> Optional[Dict[str, Any]]:
        """``iterations``, ``converged``, ``theta_mode``, ``candidates``, ``warnings`` of the
        fit (``None`` for a circuit built from parameters)."""

def dead_leaves(
    size: int = 512,
    seed: int = 0,
    width: Optional[int] = None,
    height: Optional[int] = None,
    r_min: float = 2.0,
    r_max: float = 150.0,
    exponent: float = 3.0,
    noise_std: float = 0.002,
) -> FloatArray:
    """A seeded dead-leaves image, height x width."""

def generated_image(
    index: int = 0, image_seed: int = 0, crop: int = 512, noise_std: float = 0.002
) -> FloatArray:
    """The experiments' generated image number ``index``."""

def pyramid_band(image: ArrayLike, orientation: int = 0) -> FloatArray:
    """One band (orientation 0, 1 or 2) of a one-scale steerable pyramid, image-shaped."""

def signal_1d(band: ArrayLike) -> FloatArray:
    """The band's coefficients divided by their standard deviation, flat."""

def pairs_2d(band: ArrayLike, d: int) -> FloatArray:
    """Coefficient pairs at vertical offset ``d``, column by column, ``(M, 2)``."""

def excess_kurtosis(x: ArrayLike) -> float:
    """``m4 / m2^2 - 3``."""

def ks_distance(x: ArrayLike) -> float:
    """Kolmogorov-Smirnov distance of ``x`` to N(0, 1)."""

def fit_generalized_gaussian(x: ArrayLike) -> Dict[str, float]:
    """ML generalised Gaussian fit: ``alpha``, ``beta``, ``log_likelihood``."""

def mutual_information(pairs: ArrayLike, bin_width: float = 0.5, stride: int = 1) -> float:
    """Binned plug-in mutual information (nats) of ``(M, 2)`` pairs."""

def normal_scores(pairs: ArrayLike) -> FloatArray:
    """Each coordinate replaced by its normal score."""

def normal_score_mi(pairs: ArrayLike, bin_width: float = 0.5, stride: int = 1) -> float:
    """Mutual information of the normal scores of the pairs."""

# ---------------------------------------------------------------- gain modulation (issue #15)

def mercedes() -> FloatArray:
    """The Mercedes-Benz frame (2 x 3, unit columns at angles 0, 2 pi/3, 4 pi/3)."""

def equiangular_3d() -> FloatArray:
    """The equiangular tight frame of six unit vectors in R^3 (3 x 6, ``W W^T = 2 I``)."""

def random_frame(n: int, k: int, seed: int = 0) -> FloatArray:
    """A random frame (n x k): standard normal entries (ChaCha8 seeded by ``seed``),
    columns normalised."""

def spectral_frame(C: ArrayLike, extra: int = 0, seed: int = 0) -> FloatArray:
    """The eigenvectors of the symmetric ``C`` (ascending eigenvalues), then ``extra`` random
    unit columns."""

def conv_frame(rows: int, cols: int, h: int, w: int) -> FloatArray:
    """The convolutional frame of a ``rows x cols`` image (row-major) and an ``h x w``
    window: the identity, then ``(e_a + e_b)/sqrt 2`` for every pixel pair in the window."""

def conv_frame_1d(n: int, h: int) -> FloatArray:
    """``conv_frame(n, 1, h, 1)``."""

def normalize_columns(W: ArrayLike) -> FloatArray:
    """``W`` with unit columns (a zero column raises ``ValueError``)."""

def optimal_gains(W: ArrayLike, C: ArrayLike, alpha: float = 1.0) -> FloatArray:
    """The min-norm least-squares solution of ``(W^T W)^{o2} g = diag(W^T (C^{1/2} - alpha I) W)``.

    When ``{w_i w_i^T}`` spans the symmetric matrices (``K >= n(n+1)/2``),
    ``alpha I + W diag(g) W^T = C^{1/2}``. ``C`` must be symmetric positive definite.
    """

class GainNetwork:
    """Paper A: a fixed frame ``W`` (n x K, unit columns), adaptive gains ``g``, leak ``alpha``.

    Steady state ``y = (alpha I + W diag(g) W^T)^{-1} x``; online gain learning
    ``g <- g + eta mean(z o z - 1)`` with ``z = W^T y``; offline
    ``g <- g + eta (diag(W^T C_yy W) - 1)``; with ``clamp``, ``g <- max(g, 0)`` after each step.
    A frame column that is zero or not of unit norm raises ``ValueError``
    (see ``normalize_columns``).
    """

    def __init__(
        self,
        W: ArrayLike,
        g0: Optional[ArrayLike] = None,
        alpha: float = 1.0,
        clamp: bool = False,
    ) -> None:
        """A network with frame ``W``, gains ``g0`` (default zeros, length K)."""
    @property
    def n(self) -> int:
        """Number of primary neurons."""
    @property
    def k(self) -> int:
        """Number of interneurons."""
    @property
    def W(self) -> FloatArray:
        """The frame (a copy, n x K)."""
    @property
    def g(self) -> FloatArray:
        """The gains (a copy, length K)."""
    @property
    def alpha(self) -> float:
        """The leak."""
    @property
    def clamp(self) -> bool:
        """Whether the gains are projected on ``g >= 0`` after every step."""
    def set_gains(self, g: ArrayLike) -> None:
        """Replaces the gains (length K)."""
    def inverse_whitening_matrix(self) -> FloatArray:
        """``alpha I + W diag(g) W^T`` (n x n)."""
    def respond(self, X: ArrayLike) -> FloatArray:
        """Steady states for the rows of ``X`` (T x n), as T x n."""
    def interneuron_inputs(self, Y: ArrayLike) -> FloatArray:
        """``z = W^T y`` for the responses in the rows of ``Y`` (T x n), as T x K."""
    def output_covariance(self, C: ArrayLike) -> FloatArray:
        """``C_yy = M C M^T``, ``M = (alpha I + W diag(g) W^T)^{-1}``."""
    def projected_variances(self, C: ArrayLike) -> FloatArray:
        """``diag(W^T C_yy W)`` (all 1 at a fixed point with free gains)."""
    def whitening_error(self, C: ArrayLike, measure: str = "spectral_norm") -> float:
        """Error of ``C_yy``: ``"spectral_norm"`` (``||C_yy - I||_2``, as the other
        networks), ``"frobenius"`` (``||C_yy - I||_F^2 / n^2``), ``"spectral"``
        (``mean (lambda_i - 1)^2``, positive parts only when clamped) or
        ``"max_eigen_excess"`` (``lambda_max - 1``, signed)."""
    def gain_gradient(self, C: ArrayLike) -> FloatArray:
        """The expected gain gradient ``diag(W^T C_yy W) - 1``."""
    def online_step(self, X: ArrayLike, eta: float) -> FloatArray:
        """One online gain step from the rows of ``X`` (a batch), in place; returns the
        responses of the gains before the step (T x n)."""
    def offline_step(self, C: ArrayLike, eta: float) -> FloatArray:
        """One offline gain step, in place; returns the pre-update ``C_yy``."""
    def copy(self) -> "GainNetwork":
        """A copy of this network."""

def run_offline(
    network: GainNetwork,
    C: ArrayLike,
    eta: float,
    max_steps: int,
    measure: str = "frobenius",
    early_stop: bool = True,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    divergence_bound: float = 200.0,
) -> Dict[str, Any]:
    """The authors' offline loop, in place: offline steps until the gains stop moving
    (``allclose(g_prev, g, rtol, atol)``), some ``|g_i| > divergence_bound`` (both only with
    ``early_stop``) or ``max_steps`` steps.

    Returns ``{"steps": int, "stop": "converged" | "diverged" | "max_steps",
    "g_history": (rows, K) array [g_0, g_1, ...], "errors": one per step (pre-update C_yy)}``.
    """

class MultiTimescaleNetwork:
    """Paper B: slow synapses ``W`` (N x K, any non-zero columns) and fast gains ``g``.

    Steady state ``r = (alpha I + W diag(g) W^T)^{-1} s``; online step
    ``g <- g + eta_g mean(z^2 - ||w_i||^2)``, then
    ``W <- W + eta_w (r n^T / B - W diag(g_new))`` with ``n = g_old o z``; error
    ``||C_rr - I||_2``.
    """

    def __init__(
        self,
        W0: ArrayLike,
        g0: Optional[ArrayLike] = None,
        alpha: float = 1.0,
        unit_columns: bool = False,
    ) -> None:
        """A network with synapses ``W0``, gains ``g0`` (default zeros); with
        ``unit_columns`` the columns of ``W`` are renormalised after every update."""
    @property
    def n(self) -> int:
        """Number of primary neurons."""
    @property
    def k(self) -> int:
        """Number of interneurons."""
    @property
    def W(self) -> FloatArray:
        """The synapses (a copy, N x K)."""
    @property
    def g(self) -> FloatArray:
        """The gains (a copy, length K)."""
    @property
    def alpha(self) -> float:
        """The leak."""
    def set_gains(self, g: ArrayLike) -> None:
        """Replaces the gains (length K)."""
    def inverse_whitening_matrix(self) -> FloatArray:
        """``alpha I + W diag(g) W^T`` (N x N)."""
    def respond(self, S: ArrayLike) -> FloatArray:
        """Steady states for the stimuli in the rows of ``S`` (B x N), as B x N."""
    def output_covariance(self, C: ArrayLike) -> FloatArray:
        """``C_rr = F C F^T``, ``F = (alpha I + W diag(g) W^T)^{-1}``."""
    def whitening_error(self, C: ArrayLike) -> float:
        """``||C_rr - I||_2``."""
    def online_gain_step(self, S: ArrayLike, eta_g: float) -> FloatArray:
        """The online gain update only (``W`` frozen), in place; returns the new gains."""
    def online_step(self, S: ArrayLike, eta_g: float, eta_w: float) -> FloatArray:
        """One online step (gains, then synapses), in place; returns the responses (B x N)."""
    def expected_gradients(self, C: ArrayLike) -> Dict[str, FloatArray]:
        """``{"dg": diag(W^T C_rr W) - ||w_i||^2, "dW": (C_rr - I) W G, "C_rr": ...}``."""
    def offline_step(self, C: ArrayLike, eta_g: float, eta_w: float) -> FloatArray:
        """One offline joint step, in place; returns the pre-update ``C_rr``."""
    def fast_gain_step(self, C: ArrayLike, eta_w: float) -> FloatArray:
        """``g = optimal_gains(W, C, alpha)``, then ``W <- W + eta_w (C_rr - I) W G``, in
        place; returns that step's ``C_rr``."""
    def copy(self) -> "MultiTimescaleNetwork":
        """A copy of this network."""

def synthetic_contexts(
    n: int, n_contexts: int, max_lambda: float = 4.0, seed: int = 0
) -> Dict[str, Any]:
    """Paper B's contexts ``C_c = (I + V diag(lambda_c) V^T)^2``.

    Returns ``{"V": n x n, "theta": radians or None (n != 2), "lambdas": n_contexts x n,
    "covariances": n_contexts x n x n}``.
    """

def signed_permutation_distance(W: ArrayLike, V: ArrayLike) -> float:
    """``min_P ||W_hat P - V||_F`` over signed permutations, ``W_hat`` with unit columns;
    both N x K, K <= 8."""

# ---------------------------------------------------------------- experiments

def run_experiment(
    source: Union[str, "os.PathLike[str]"],
    out: Optional[Union[str, "os.PathLike[str]"]] = None,
    seed: Optional[int] = None,
) -> Dict[str, Any]:
    """Runs an experiment file (or RON text). Returns ``name``, ``kind``, ``seed``,
    ``summary``, ``tables`` (dicts of columns), ``arrays`` (numpy arrays of the learned
    parameters, as saved in ``<name>.npy``), ``warnings``, ``dir``."""

def experiment_kinds() -> List[str]:
    """The built-in experiment kinds."""
