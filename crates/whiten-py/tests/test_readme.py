"""The README's Python quickstart runs as written (so it stays true)."""

import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[3] / "README.md"


def quickstart():
    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    found = [b for b in blocks if b.startswith("# quickstart\n")]
    assert len(found) == 1, "README.md must have one ```python block starting with # quickstart"
    return found[0]


def test_readme_quickstart_runs(capsys):
    exec(compile(quickstart(), str(README) + ":quickstart", "exec"), {"__name__": "__quickstart__"})
    out = capsys.readouterr().out
    steps, err = re.search(r"(\d+) offline steps, \|\|cov\(Y\) - I\|\| = (\S+)", out).groups()
    assert int(steps) > 0 and float(err) < 1e-3
    before, after = map(float, re.search(r"excess kurtosis (\S+) before, (\S+) after", out).groups())
    assert before > 3 and abs(after) < abs(before) / 5
