"""run_experiment: experiment files and RON text, summaries as dicts, tables as columns."""

import json
import pathlib

import pytest

import whiten

ROOT = pathlib.Path(__file__).resolve().parents[3]
SNAPSHOTS = ROOT / "experiments" / "snapshots"


def test_experiment_file_matches_its_snapshot(tmp_path):
    path = ROOT / "experiments" / "offline_learning.ron"
    r = whiten.run_experiment(path, out=tmp_path)
    assert r["name"] == "offline_learning" and r["kind"] == "offline_learning"
    assert r["summary"] == json.loads((SNAPSHOTS / "offline_learning.json").read_text())
    assert pathlib.Path(r["dir"]) == tmp_path / "offline_learning"
    assert (tmp_path / "offline_learning" / "summary.json").is_file()
    for name, table in r["tables"].items():
        lengths = {len(col) for col in table.values()}
        assert len(lengths) == 1, name  # a dict of equal-length columns: a DataFrame
        assert (tmp_path / "offline_learning" / f"{name}.csv").is_file()
    # a str path works as well, and nothing is written without out
    again = whiten.run_experiment(str(path))
    assert again["summary"] == r["summary"] and again["dir"] is None


def test_ron_text_and_seed():
    text = """(
        kind: "offline_learning",
        name: "small",
        seed: 3,
        params: (n: 3, k: 4, scales: [1.0, 10.0], inits: [Generic]),
    )"""
    r = whiten.run_experiment(text)
    assert r["name"] == "small" and r["seed"] == 3
    r2 = whiten.run_experiment(text, seed=4)
    assert r2["seed"] == 4
    assert "claims" in r["summary"]
    assert "offline_learning" in whiten.experiment_kinds()


def test_pandas_dataframe_from_a_table():
    pd = pytest.importorskip("pandas")
    r = whiten.run_experiment(ROOT / "experiments" / "offline_learning.ron")
    for table in r["tables"].values():
        assert len(pd.DataFrame(table)) > 0


def test_bad_experiments():
    with pytest.raises(FileNotFoundError, match="no-such-file.ron"):
        whiten.run_experiment("no-such-file.ron")
    with pytest.raises(ValueError, match="unknown experiment kind"):
        whiten.run_experiment('(kind: "nope", name: "x", seed: 1, params: ())')
    with pytest.raises(ValueError, match="eta"):
        whiten.run_experiment(
            '(kind: "offline_learning", name: "x", seed: 1, params: (eta: -1.0))'
        )
    with pytest.raises(ValueError):
        whiten.run_experiment('(kind: "offline_learning", name: "x", seed: 1, params: (bogus: 1))')
