"""scipy's side of `cargo xtask bench-flows` (issue #10), the same interface as whiten's side
(`main.rs` beside this file):

    python3 scipy_flows.py check
    python3 scipy_flows.py run FLOW METHOD FILE SECONDS
    python3 scipy_flows.py rhs FLOW FILE SECONDS

The flows of paper 1 as a scipy user writes them, with the structure used (Cholesky factor of
M, `cho_solve`):

    direct        dM/dt = M^{-1} C M^{-1} - I            M_0 = 100 I
    interneuron   dW/dt = M^{-1} C M^{-1} W - W,  M = W W^T,   W_0 = 10 [I | 0], k = n

integrated by `solve_ivp` (METHOD DOP853 or RK45; rtol 1e-8, atol 1e-10) until the terminal
event `||M - C^{1/2}||_op - 1e-2` falls through zero (C^{1/2} from `eigh(C)`, the norm from
`eigvalsh`). Prints one JSON line: per-run wall times and the mean
thread CPU time per run in seconds (as whiten's side), rhs evaluations (`nfev`), the event
time. `rhs` times one rhs evaluation alone at the state `10 I + C / 100` (as whiten's side).
"""

import json
import sys
import time

EPS = 1e-2
T_MAX = 1e4


def check():
    import numpy
    import scipy

    print(json.dumps({"numpy": numpy.__version__, "scipy": scipy.__version__}))


def flow(c, kind):
    import numpy as np
    from scipy.linalg import cho_factor, cho_solve

    n = c.shape[0]
    eye = np.eye(n)
    lam, u = np.linalg.eigh(c)
    c_sqrt = (u * np.sqrt(np.maximum(lam, 0.0))) @ u.T

    def whiten(m):
        # M^{-1} C M^{-1} = M^{-1} (M^{-1} C)^T (C and M symmetric)
        f = cho_factor(m, lower=True, check_finite=False)
        x = cho_solve(f, c, check_finite=False)
        return cho_solve(f, x.T, check_finite=False)

    if kind == "direct":
        y0 = (100.0 * eye).ravel(order="F")

        def rhs(t, y):
            m = y.reshape(n, n, order="F")
            return (whiten(m) - eye).ravel(order="F")

        def to_m(y):
            return y.reshape(n, n, order="F")

    elif kind == "interneuron":
        k = n
        w0 = np.zeros((n, k))
        w0[:, :n] = 10.0 * eye
        y0 = w0.ravel(order="F")

        def to_m(y):
            w = y.reshape(n, k, order="F")
            return w @ w.T

        def rhs(t, y):
            w = y.reshape(n, k, order="F")
            return (whiten(w @ w.T) @ w - w).ravel(order="F")

    else:
        raise SystemExit(f"unknown flow {kind}")

    def event(t, y):
        return np.max(np.abs(np.linalg.eigvalsh(to_m(y) - c_sqrt))) - EPS

    event.terminal = True
    event.direction = -1
    return rhs, y0, event


def run(kind, method, path, seconds):
    import numpy as np
    from scipy.integrate import solve_ivp

    c = np.loadtxt(path, ndmin=2)
    rhs, y0, event = flow(c, kind)
    method = {"dop853": "DOP853", "rk45": "RK45"}[method]
    wall = []
    start, cpu0 = time.perf_counter(), time.thread_time()
    while True:
        t0 = time.perf_counter()
        sol = solve_ivp(
            rhs, (0.0, T_MAX), y0, method=method, rtol=1e-8, atol=1e-10, events=event
        )
        wall.append(time.perf_counter() - t0)
        if not sol.success:
            raise SystemExit(f"solve_ivp failed: {sol.message}")
        if (len(wall) >= 2 and time.perf_counter() - start >= seconds) or len(wall) >= 100000:
            break
    cpu = (time.thread_time() - cpu0) / len(wall)
    hit = len(sol.t_events[0]) > 0
    t = float(sol.t_events[0][0]) if hit else float(sol.t[-1])
    print(json.dumps({"wall": wall, "cpu": cpu, "rhs": int(sol.nfev), "t": t, "event": hit}))


def one_rhs(kind, path, seconds):
    import numpy as np

    c = np.loadtxt(path, ndmin=2)
    rhs, _, _ = flow(c, kind)
    y = (10.0 * np.eye(c.shape[0]) + c / 100.0).ravel(order="F")
    wall = []
    start, cpu0 = time.perf_counter(), time.thread_time()
    while True:
        t0 = time.perf_counter()
        dy = rhs(0.0, y)
        wall.append(time.perf_counter() - t0)
        if (len(wall) >= 2 and time.perf_counter() - start >= seconds) or len(wall) >= 100000:
            break
    cpu = (time.thread_time() - cpu0) / len(wall)
    if not np.all(np.isfinite(dy)):
        raise SystemExit("rhs not finite")
    print(json.dumps({"wall": wall, "cpu": cpu}))


def main():
    args = sys.argv[1:]
    if args == ["check"]:
        check()
    elif len(args) == 5 and args[0] == "run":
        run(args[1], args[2], args[3], float(args[4]))
    elif len(args) == 4 and args[0] == "rhs":
        one_rhs(args[1], args[2], float(args[3]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
