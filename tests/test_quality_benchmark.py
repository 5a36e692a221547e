"""benchmarks/quality.py: its runs, its table and its summary, on a generated dataset
(the public ones need the quality extra; `make quality` runs them)."""

import sys
from pathlib import Path

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")
sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))

import quality  # noqa: E402


def generated():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=300), "kind": rng.choice(["a", "b", "c"], 300)})
    frame["y"] = np.where(frame["x"] + (frame["kind"] == "a") > 0.3, "yes", "no")
    return quality.Dataset("tiny", lambda: frame.copy(), "y", "classification", 2, "generated")


def test_a_run_fits_every_peer_on_the_same_splits_and_reports_them():
    data = generated()
    saved = []
    peers = ["HistGradientBoosting", "scikit-learn MLP"]  # (glassnet's fit: test_recipe.py)
    results = quality.run([data], peers, None, {}, save=lambda r: saved.append(r))
    ours, trees = results["tiny | scikit-learn MLP"], results["tiny | HistGradientBoosting"]
    assert len(ours["scores"]) == len(trees["scores"]) == 2 and len(saved) == 2
    assert all(0.5 < s <= 1 for s in ours["scores"] + trees["scores"])
    assert ours["test_rows"] == 60 and ours["rows"] == 300
    # the splits are fixed by the seed, and stratified
    train, test = quality.split(data.load(), data, 1)
    again, _ = quality.split(data.load(), data, 1)
    pd.testing.assert_frame_equal(train, again)
    assert abs(test["y"].eq("yes").mean() - data.load()["y"].eq("yes").mean()) < 0.02
    table = quality.table(results, [data], ["scikit-learn MLP", "HistGradientBoosting"])
    assert table[0] == "| dataset | rows | metric | scikit-learn MLP | HistGradientBoosting |"
    mean = sum(ours["scores"]) / 2
    assert table[2].startswith(f"| tiny | 300 | accuracy | {mean:.4f} ±")


def test_the_summary_compares_over_the_datasets_both_ran():
    def entry(scores, seconds, test_rows=600):
        return {"scores": scores, "seconds": seconds, "rows": 3000, "test_rows": test_rows}

    sets = [quality.Dataset(name, None, "y", "regression") for name in ("a", "b", "c")]
    results = {
        "a | glassnet": entry([0.90], [1.0]),
        "a | peer": entry([0.80], [30.0]),
        "b | glassnet": entry([0.70], [2.0], test_rows=100),
        "b | peer": entry([0.75], [50.0], test_rows=100),
        "c | glassnet": entry([0.5], [100.0]),  # the peer did not run it: not counted
    }
    (line,) = quality.summary(results, sets, ["glassnet", "peer"])
    assert line.startswith("glassnet - peer: median +0.0250 over 2 datasets (min -0.0500)")
    assert "on the 1 with 500+ test rows: median +0.1000" in line
    assert line.endswith("time: glassnet 3 s, peer 80 s (26.7x)")


def test_a_peer_that_cannot_be_fitted_here_keeps_its_results_from_reuse():
    """RealMLP-TD's fits, from a machine with PyTorch, are reported beside fits made
    where it is not installed: only the peers in ``fits`` are fitted."""
    data = generated()
    kept = {"scores": [0.5], "seconds": [99.0], "rows": 300, "test_rows": 60}
    peers = ["HistGradientBoosting", "scikit-learn MLP"]
    reuse = {"tiny | scikit-learn MLP": kept}
    results = quality.run([data], peers, None, reuse, fits=["HistGradientBoosting"])
    assert results["tiny | scikit-learn MLP"] == kept  # one seed of two, and not refitted
    assert len(results["tiny | HistGradientBoosting"]["scores"]) == 2
