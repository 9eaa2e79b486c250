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


def _public_estimator_classes():
    import importlib
    import inspect

    from sklearn.base import BaseEstimator

    found = {}
    for module in ("skhybrid", "skhybrid.models", "skhybrid.fusion", "skhybrid.featurizers",
                   "skhybrid.feature_selection", "skhybrid.tuning"):
        package = importlib.import_module(module)
        for name in package.__all__:
            obj = getattr(package, name)
            if inspect.isclass(obj) and issubclass(obj, BaseEstimator):
                found[obj.__name__] = obj
    return sorted(found.values(), key=lambda c: c.__name__)


def test_every_subclass_keeps_all_of_its_parents_parameters():
    """A subclass that re-declared its parent's __init__ without a parameter would drop it on clone."""
    from sklearn.base import BaseEstimator

    checked = 0
    for cls in _public_estimator_classes():
        for parent in cls.__mro__[1:]:
            if parent is BaseEstimator or not issubclass(parent, BaseEstimator) or "__init__" not in vars(parent):
                continue
            missing = set(parent._get_param_names()) - set(cls._get_param_names())
            assert not missing, f"{cls.__name__} drops {sorted(missing)} of {parent.__name__}"
            checked += 1
    assert checked >= 4


def test_early_fusion_keeps_validation_smoothing_through_clone_and_set_params():
    from sklearn.base import clone

    from skhybrid.fusion import EarlyFusionRegressor

    model = EarlyFusionRegressor(fusion="attention", validation_smoothing=0.9, module__hidden_channels=16)
    copy = clone(model)
    assert copy.validation_smoothing == 0.9 and copy.fusion == "attention" and copy.module__hidden_channels == 16
    assert copy.set_params(validation_smoothing=0.5).validation_smoothing == 0.5
    assert EarlyFusionRegressor("megnet", "attention").backbone == "megnet"
