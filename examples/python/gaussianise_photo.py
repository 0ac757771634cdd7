"""Gaussianise one band of a photograph with paper 2's circuit, from Python.

    python examples/python/gaussianise_photo.py [IMAGE] [--orientation 0] [--out FIGURE.png]

IMAGE is any greyscale or colour image that matplotlib (or Pillow) can read; without one, the
experiments' generated dead-leaves image is used. Prints the generalised Gaussian fit of the
band, its excess kurtosis and Kolmogorov-Smirnov distance to N(0, 1) before and after the
circuit; with matplotlib installed, also draws the histograms and the learned response curve.
"""

import argparse
import sys

import numpy as np

import whiten


def load_grey(path):
    """An image file as grey levels in [0, 1] (height x width)."""
    try:
        import matplotlib.image as mpimg

        img = np.asarray(mpimg.imread(path), dtype=float)
    except ImportError:
        from PIL import Image

        img = np.asarray(Image.open(path), dtype=float)
    if img.ndim == 3:
        img = img[..., :3].mean(axis=2)
    if img.max() > 1.0:
        img = img / 255.0
    return img


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", nargs="?", help="image file (default: generated dead leaves)")
    parser.add_argument("--orientation", type=int, default=0, help="pyramid band: 0, 1 or 2")
    parser.add_argument("--learning", default="robust", help="robust or reference")
    parser.add_argument("--out", default="gaussianise_photo.png", help="figure file")
    args = parser.parse_args()

    if args.image:
        img, name = load_grey(args.image), args.image
    else:
        img, name = whiten.generated_image(0), "dead-leaves-0"
    band = whiten.pyramid_band(img, args.orientation)
    s = whiten.signal_1d(band)
    fit = whiten.fit_generalized_gaussian(s)
    circuit = whiten.Circuit.fit(s, learning=args.learning)
    r = circuit.respond(s)
    info = circuit.fit_info

    print(f"{name}: {s.size} coefficients, generalised Gaussian alpha {fit['alpha']:.3f}, beta {fit['beta']:.3f}")
    print(f"circuit: theta mode {info['theta_mode']}, {info['iterations']} iterations, "
          f"converged {info['converged']}, g {np.round(circuit.g, 4)}, theta {np.round(circuit.theta, 3)}")
    for w in info["warnings"]:
        print(f"warning: {w}")
    print(f"excess kurtosis: {whiten.excess_kurtosis(s):.3f} -> {whiten.excess_kurtosis(r):.3f}")
    print(f"KS distance to N(0, 1): {whiten.ks_distance(s):.4f} -> {whiten.ks_distance(r):.4f}")

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no figure")
        return 0

    fig, ax = plt.subplots(1, 3, figsize=(13, 4))
    ax[0].imshow(band, cmap="gray")
    ax[0].set_title(f"band {args.orientation} of {name}")
    ax[0].axis("off")
    x = np.linspace(-5, 5, 401)
    gauss = np.exp(-x**2 / 2) / np.sqrt(2 * np.pi)
    for values, label in [(s, "signal"), (r, "circuit response")]:
        ax[1].hist(values, bins=x, density=True, histtype="step", label=label)
    ax[1].plot(x, gauss, "k--", label="N(0, 1)")
    ax[1].set_yscale("log")
    ax[1].set_ylim(1e-5, 2)
    ax[1].set_xlabel("value (unit variance)")
    ax[1].set_ylabel("density")
    ax[1].set_title("histograms")
    ax[1].legend()
    grid = np.linspace(s.min(), s.max(), 400)
    ax[2].plot(grid, circuit.respond(grid), label="circuit response r(s)")
    ax[2].set_xlabel("signal s")
    ax[2].set_ylabel("response r")
    ax[2].set_title("learned response curve")
    ax[2].legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"figure written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
