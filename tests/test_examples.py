"""Every example runs end to end in smoke mode (a subset, short training), so none can rot.

Each runs as a user would start it, ``python examples/NN_name.py --smoke``, with the shared data
directory, and must finish well within a minute and print its result lines. The examples are separate
processes of one thread each (most of their time is starting Python and reading data), so they run two at
a time: the suite has two cores.
"""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("[0-9][0-9]_*.py"))
# a line each example prints once it has a result
EXPECTED = {
    "01_composition_baseline.py": "mean: {'mean'",
    "02_cgcnn_pipeline.py": "CGCNN on fold 0: MAE",
    "03_early_fusion.py": "most structure-driven predictions",
    "04_late_fusion.py": " blend: MAE",
    "05_stacking.py": "stacking, forest on predictions + Magpie: MAE",
    "06_alignn.py": "ALIGNN (width 64",
    "07_multitask_megnet.py": "negative_transfer",
    "08_contribution.py": "graph permuted: MAE +",
    "09_tuning.py": "test MAE, tuned:",
    "10_persistence.py": "identical predictions after loading: True",
    "11_compare_all.py": "late-fusion",
    "12_large_sets.py": "CGCNN streamed from the store",
}


def test_every_example_is_checked():
    assert {path.name for path in EXAMPLES} == set(EXPECTED)


#: the examples that take longest in smoke mode (started first, so the pool ends evenly)
SLOW = {"11_compare_all.py", "07_multitask_megnet.py", "12_large_sets.py", "09_tuning.py"}


@pytest.fixture(scope="module")
def smoke_runs(request, data_home, tmp_path_factory):
    """Each selected example's completed process, two examples at a time (the slowest first)."""
    env = {**os.environ, "SKHYBRID_DATA_DIR": str(data_home), "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}

    def run(path):
        folder = tmp_path_factory.mktemp(path.stem)
        try:
            return subprocess.run([sys.executable, str(path), "--smoke", "--out", str(folder)], cwd=folder,
                                  env=env, capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired as error:  # reported by that example's test, not raised in the fixture
            return error

    selected = {item.callspec.params["path"] for item in request.session.items
                if getattr(item, "originalname", None) == "test_example_runs_in_smoke_mode"}
    slowest_first = sorted(selected, key=lambda p: (p.name not in SLOW, p.name))
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(slowest_first, pool.map(run, slowest_first)))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_in_smoke_mode(path, smoke_runs):
    result = smoke_runs[path]
    assert not isinstance(result, subprocess.TimeoutExpired), f"{path.name} ran past {result.timeout} s"
    assert result.returncode == 0, result.stderr[-3000:]
    assert EXPECTED[path.name] in result.stdout, result.stdout[-3000:]
