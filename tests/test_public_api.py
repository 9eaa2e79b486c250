import subprocess
import sys

import skhybrid


def test_import_does_not_load_torch_and_networks_are_reachable():
    code = "import sys, skhybrid; assert 'torch' not in sys.modules, 'torch imported eagerly'"
    subprocess.run([sys.executable, "-c", code], check=True)
    from skhybrid.models import (
        ALIGNNRegressor,
        CGCNNRegressor,
        GraphRegressor,
        MEGNetRegressor,
    )

    assert skhybrid.CGCNNRegressor is CGCNNRegressor
    assert skhybrid.ALIGNNRegressor is ALIGNNRegressor
    assert skhybrid.MEGNetRegressor is MEGNetRegressor
    assert skhybrid.GraphRegressor is GraphRegressor
    assert set(skhybrid.__all__) >= {"CGCNNRegressor", "StructureGraphizer", "MagpieFeaturizer"}
