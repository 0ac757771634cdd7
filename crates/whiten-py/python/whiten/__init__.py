"""whiten: recurrent whitening networks with interneurons (paper 1) and a nonlinear
interneuron circuit that Gaussianises natural-image signals (paper 2), implemented in Rust.

Sample arrays have one sample per row (``T x n``). Refused inputs raise ``ValueError``
(``TypeError`` for a non-real dtype); numerical failures raise ``whiten.NumericalError``, a
``RuntimeError``. Long computations release the GIL.
"""

from ._whiten import (
    Circuit,
    DirectNetwork,
    InterneuronNetwork,
    NumericalError,
    __version__,
    covariance_with_spectrum,
    dead_leaves,
    excess_kurtosis,
    experiment_kinds,
    fit_generalized_gaussian,
    flow_time,
    generated_image,
    ks_distance,
    learn_offline,
    mutual_information,
    normal_score_mi,
    normal_scores,
    pairs_2d,
    pyramid_band,
    run_experiment,
    signal_1d,
    t_direct,
    t_interneuron,
)

__all__ = [
    "Circuit",
    "DirectNetwork",
    "InterneuronNetwork",
    "NumericalError",
    "__version__",
    "covariance_with_spectrum",
    "dead_leaves",
    "excess_kurtosis",
    "experiment_kinds",
    "fit_generalized_gaussian",
    "flow_time",
    "generated_image",
    "ks_distance",
    "learn_offline",
    "mutual_information",
    "normal_score_mi",
    "normal_scores",
    "pairs_2d",
    "pyramid_band",
    "run_experiment",
    "signal_1d",
    "t_direct",
    "t_interneuron",
]
