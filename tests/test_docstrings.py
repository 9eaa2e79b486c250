"""Every public class and function has a numpydoc docstring that documents every parameter and has an example.

"Public" is what the packages export in ``__all__``; for classes, also the public
methods they define themselves (inherited scikit-learn and torch methods are
documented upstream). The examples themselves run as doctests (``--doctest-modules``).
"""

import importlib
import inspect

import pytest
from numpydoc.validate import validate

PACKAGES = ["skhybrid", "skhybrid.datasets", "skhybrid.featurizers", "skhybrid.nn", "skhybrid.models",
            "skhybrid.fusion", "skhybrid.inspection", "skhybrid.tuning", "skhybrid.benchmark", "skhybrid.utils",
            "skhybrid.uncertainty"]
# numpydoc codes: GL08 no docstring, PR01 a parameter not documented, PR02 a documented parameter that
# does not exist, EX01 no Examples section
REQUIRED = {"GL08", "PR01", "PR02", "EX01"}
METHOD_REQUIRED = {"GL08", "PR01", "PR02"}


def _public_objects():
    seen = {}
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                seen.setdefault(f"{obj.__module__}.{obj.__qualname__}", f"{package}.{name}")
    return seen


PUBLIC = _public_objects()


def _own_public_methods(cls):
    for name, member in vars(cls).items():
        # torch-geometric writes generated methods (propagate, collect) onto MessagePassing subclasses
        if name.startswith("_") or not inspect.isfunction(member) or member.__module__ != cls.__module__:
            continue
        yield name


def test_the_public_api_is_large_enough_to_mean_something():
    assert len(PUBLIC) > 40


@pytest.mark.parametrize("qualified", sorted(PUBLIC), ids=lambda q: PUBLIC[q])
def test_numpydoc_docstring_with_every_parameter_and_an_example(qualified):
    problems = [f"{code} {message}" for code, message in validate(qualified)["errors"] if code in REQUIRED]
    obj = getattr(importlib.import_module(PUBLIC[qualified].rsplit(".", 1)[0]), PUBLIC[qualified].rsplit(".", 1)[1])
    if inspect.isclass(obj):
        for method in _own_public_methods(obj):
            problems += [f"{method}: {code} {message}" for code, message in validate(f"{qualified}.{method}")["errors"]
                         if code in METHOD_REQUIRED]
    assert not problems, "\n".join(problems)
