import re
import subprocess
import sys

import numpy as np
from sklearn.dummy import DummyRegressor
from sklearn.metrics import mean_absolute_error

from skhybrid.cli import main


def test_baseline_prints_fold_mae(data_home, capsys, jdft2d):
    assert main(["baseline", "matbench_jdft2d", "--fold", "1", "--data-dir", str(data_home)]) == 0
    out = capsys.readouterr().out
    assert "636 samples" in out and "fold 1" in out
    dummy = float(re.search(r"dummy \(mean\)\s+MAE\s+([\d.]+)", out).group(1))
    rf = float(re.search(r"rf-magpie\s+MAE\s+([\d.]+)", out).group(1))
    # the printed dummy MAE is the real one on that fold
    y = jdft2d.targets.iloc[:, 0].to_numpy()
    train, test = jdft2d.folds[1]
    expected = mean_absolute_error(y[test], DummyRegressor().fit(np.zeros((len(train), 1)), y[train]).predict(np.zeros((len(test), 1))))
    assert abs(dummy - expected) < 0.01
    assert rf < dummy


def test_help_and_unknown_task(data_home):
    result = subprocess.run([sys.executable, "-m", "skhybrid", "baseline", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "Example" in result.stdout
    result = subprocess.run([sys.executable, "-m", "skhybrid", "baseline", "phonon", "--data-dir", str(data_home)],
                            capture_output=True, text=True)
    assert result.returncode != 0 and "Valid names" in result.stderr
