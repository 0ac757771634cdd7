"""The numpy side of `cargo xtask bench-gain`: the gain-modulation models' learning steps as
the authors' code writes them (Duong et al., ICML 2023 `frame_whitening` and NeurIPS 2023
`multi_timescale_whitening`, MIT; see ../../../../../shared/spec/paper3-gain-modulating-interneurons.md
or the spec copy in the repository's issue), on a case file written by whiten's side.

    python3 authors_gain.py check            # prints the numpy version, fails without numpy
    python3 authors_gain.py run CASE.json REPS

Per step, as in their loops: `M = inv(alpha I + W diag(g) W^T)` (they invert explicitly),
then for paper A online `y = M x`, `z = W^T y`, `g += eta mean(z^2 - 1)`; A offline
`Cyy = M C M^T`, `g += eta (diag(W^T Cyy W) - 1)`; B online `r = M s`, `z = W^T r`,
`n = g z`, `g += eta_g mean(z^2 - ||w||^2)`, `W += eta_w (r n^T / B - W diag(g_new))`;
B offline joint, both expected gradients at the current state; B's Algorithm 3 (separate
non-negative `W_rn`, `W_nr`, multiplier `m`) in the order of its appendix. Online samples are drawn each
step as `C^{1/2} xi` with numpy's generator. Only the learning steps are timed: none of their
per-step error bookkeeping, which would only slow this side down.
"""

import json
import sys
import time


def check():
    import numpy

    print(f"numpy {numpy.__version__}")


def run_once(case, rng):
    import numpy as np

    model = case["model"]
    W = np.array(case["W"], dtype=float)
    Cs = [np.array(c, dtype=float) for c in case["C"]]
    g = np.array(case["g0"], dtype=float)
    eta_g, eta_w = case["eta_g"], case["eta_w"]
    steps, batch, per = case["steps"], case["batch"], case["per_context"]
    n = W.shape[0]
    eye = np.eye(n)

    def sqrtm(c):
        lam, q = np.linalg.eigh(c)
        return (q * np.sqrt(np.maximum(lam, 0.0))) @ q.T

    if model == "a_online":
        root = sqrtm(Cs[0])
        for _ in range(steps):
            x = root @ rng.standard_normal((n, batch))
            M = np.linalg.inv(eye + W @ np.diag(g) @ W.T)
            y = M @ x
            z = W.T @ y
            g = g + eta_g * (np.mean(z * z, -1) - 1.0)
    elif model == "a_offline":
        C = Cs[0]
        for _ in range(steps):
            M = np.linalg.inv(eye + W @ np.diag(g) @ W.T)
            Cyy = M @ C @ M.T
            g = g + eta_g * (np.diag(W.T @ Cyy @ W) - 1.0)
    elif model == "b_online":
        roots = [sqrtm(c) for c in Cs]
        for t in range(steps):
            s = roots[(t // per) % len(Cs)] @ rng.standard_normal((n, batch))
            M = np.linalg.inv(eye + W @ np.diag(g) @ W.T)
            r = M @ s
            z = W.T @ r
            nn = g[:, None] * z
            g = g + eta_g * (np.mean(z**2, -1) - np.sum(W**2, 0))
            dW = r @ nn.T / batch - W @ np.diag(g)
            W = W + eta_w * dW
    elif model == "b_offline":
        for t in range(steps):
            C = Cs[(t // per) % len(Cs)]
            M = np.linalg.inv(eye + W @ np.diag(g) @ W.T)
            Crr = M @ C @ M.T
            dg = np.diag(W.T @ Crr @ W) - np.sum(W**2, 0)
            dW = (Crr - eye) @ W @ np.diag(g)
            g = g + eta_g * dg
            W = W + eta_w * dW
    elif model == "b_alg3":
        Wnr, Wrn = W, np.array(case["Wrn"], dtype=float)
        m = np.zeros(Wnr.shape[1])
        roots = [sqrtm(c) for c in Cs]
        for t in range(steps):
            s = roots[(t // per) % len(Cs)] @ rng.standard_normal((n, batch))
            M = np.linalg.inv(eye + Wnr @ np.diag(g) @ Wrn)
            r = M @ s
            z = Wrn @ r
            nn = g[:, None] * z
            g = np.maximum(g + eta_g * (np.mean(z**2, -1) - 1.0), 0.0)
            m = np.maximum(m + 5.0 * eta_g * (np.diag(Wrn @ Wnr) - 1.0), 0.0)
            dW = r @ nn.T / batch - Wnr @ np.diag(g + m)
            Wnr = np.maximum(Wnr + eta_w * dW, 0.0)
            Wnr = Wnr / np.linalg.norm(Wnr, axis=0)
            Wrn = np.maximum(Wrn + eta_w * dW.T, 0.0)
        W = Wnr
    else:
        raise SystemExit(f"unknown model {model}")
    return W, g


def run(path, reps):
    import numpy as np

    with open(path) as f:
        case = json.load(f)
    rng = np.random.default_rng(7)
    wall = []
    cpu0 = time.thread_time()
    for _ in range(max(reps, 1)):
        t0 = time.perf_counter()
        W, g = run_once(case, rng)
        wall.append(time.perf_counter() - t0)
    cpu = (time.thread_time() - cpu0) / len(wall)
    steps = case["steps"]
    print(
        json.dumps(
            {
                "steps_per_s_cpu": steps / cpu,
                "steps_per_s_wall": [steps / t for t in wall],
                "g": g.tolist(),
                "W": W.tolist(),
            }
        )
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["check"]:
        check()
    elif sys.argv[1:2] == ["run"]:
        run(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    else:
        raise SystemExit("usage: authors_gain.py check | run CASE.json [REPS]")
