"""Every example runs end to end in smoke mode (a subset, short training), so none can rot.

Each runs as a user would start it, ``python examples/NN_name.py --smoke``, with the shared data
directory, and must finish well within a minute and print its result lines.
"""

import os
import subprocess
import sys
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


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_in_smoke_mode(path, data_home, tmp_path):
    env = {**os.environ, "SKHYBRID_DATA_DIR": str(data_home), "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, str(path), "--smoke", "--out", str(tmp_path)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert EXPECTED[path.name] in result.stdout, result.stdout[-3000:]
