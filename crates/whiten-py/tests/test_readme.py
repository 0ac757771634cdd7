"""The README's Python quickstart runs as written (so it stays true)."""

import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[3] / "README.md"


def block(title="quickstart"):
    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    found = [b for b in blocks if b.startswith(f"# {title}\n")]
    assert len(found) == 1, f"README.md must have one ```python block starting with # {title}"
    return found[0]


def quickstart():
    return block("quickstart")


def test_readme_quickstart_runs(capsys):
    exec(compile(quickstart(), str(README) + ":quickstart", "exec"), {"__name__": "__quickstart__"})
    out = capsys.readouterr().out
    steps, err = re.search(r"(\d+) offline steps, \|\|cov\(Y\) - I\|\| = (\S+)", out).groups()
    assert int(steps) > 0 and float(err) < 1e-3
    before, after = map(float, re.search(r"excess kurtosis (\S+) before, (\S+) after", out).groups())
    assert before > 3 and abs(after) < abs(before) / 5


def test_readme_gain_example_runs(capsys):
    code = block("gain modulation")
    exec(compile(code, str(README) + ":gain", "exec"), {"__name__": "__gain__"})
    out = capsys.readouterr().out
    stop, steps, err, dg = re.search(
        r"(\w+) after (\d+) steps, \|\|C_yy - I\|\| = (\S+), \|g - g_opt\| = (\S+)", out
    ).groups()
    assert stop == "converged" and int(steps) > 0
    assert float(err.rstrip(",")) < 1e-4 and float(dg) < 1e-4
