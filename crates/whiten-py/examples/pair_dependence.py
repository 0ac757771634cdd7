"""How much of a band's pair dependence any 2D Gaussianising map could remove, per image: the
numbers behind README's paragraph on brick.png (paper 2, d = 2, orientation 0).

For every image of a folder (centre crop 512, ITU-R 601 luma, as the experiments read them):
the binned MI (bin width 0.5, every 10th pair, nats) of the ZCA-whitened pairs; of the same
pairs radially Gaussianised (each pair's radius replaced by the chi(2) radius of the same
rank: the best a radial map can do); of the radially Gaussianised pairs after symmetrising
them (every pair and its negative: what is left once the dependence that is asymmetric under
s -> -s is gone, which a circuit with odd activations keeps); and the skewness of the
normalised sum of the two coefficients.

    python pair_dependence.py ../../../../shared/data/images-dev

Needs the `whiten` package, numpy, scipy and pillow.
"""

import pathlib
import sys

import numpy as np
from PIL import Image
from scipy.stats import chi

import whiten


def luma_crop(path, crop=512):
    im = Image.open(path)
    if im.mode == "I;16":
        a = np.asarray(im, dtype=float) / 65535.0
    elif im.mode in ("L", "P", "1"):
        a = np.asarray(im.convert("L"), dtype=float) / 255.0
    else:
        a = np.asarray(im.convert("RGB"), dtype=float) / 255.0 @ [0.299, 0.587, 0.114]
    h, w = a.shape
    y0, x0 = (h - crop) // 2, (w - crop) // 2
    return np.ascontiguousarray(a[y0 : y0 + crop, x0 : x0 + crop])


def mi(p):
    return whiten.mutual_information(np.ascontiguousarray(p), 0.5, 10)


def zca(p):
    lam, u = np.linalg.eigh(p.T @ p / len(p))
    return p @ u @ np.diag(lam**-0.5) @ u.T


def radial_gaussianise(z):
    r = np.linalg.norm(z, axis=1)
    rank = np.argsort(np.argsort(r))
    target = chi.ppf((rank + 0.5) / len(r), 2)
    return z * (target / np.maximum(r, 1e-300))[:, None]


def main(folder):
    print(f"{'image':14s} {'ZCA':>7s} {'radial':>7s} {'sym.':>7s} {'skew(sum)':>9s}")
    for path in sorted(pathlib.Path(folder).iterdir()):
        if path.suffix.lower() not in (".png", ".jpg", ".jpeg", ".tif", ".tiff"):
            continue
        band = whiten.pyramid_band(luma_crop(path), 0)
        z = zca(whiten.pairs_2d(band, 2))
        both = np.vstack([z, -z])
        s = (z[:, 0] + z[:, 1]) / np.sqrt(2)
        skew = np.mean(s**3) / np.mean(s**2) ** 1.5
        print(
            f"{path.stem:14s} {mi(z):7.4f} {mi(radial_gaussianise(z)):7.4f} "
            f"{mi(radial_gaussianise(both)):7.4f} {skew:+9.2f}"
        )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../../../../shared/data/images-dev")
