"""Fixtures shared by every test module.

Behaviour tests run on small synthetic crystals (``skhybrid.utils._testing``) and need no files. Tests
that need real data use the ``data_home`` fixture (or ``phonons``, ``jdft2d``, ``nomad``) and are marked
``data`` automatically: ``pytest -m "not data"`` runs without ``../shared``. They read ``../shared/data``
(or ``SKHYBRID_DATA_DIR``) and are skipped, with the reason and counted in the summary, when it is
missing; in CI (``CI=true``) a missing data directory fails the run instead.
"""

import os

import pytest

from skhybrid.utils._testing import find_test_data_home, running_in_ci

# One torch thread, fixed: the suite's two xdist workers (`make test`), their subprocesses and joblib
# workers share 2 cores, and a second thread that waits for a descheduled sibling slows training ~4x
# (docs/benchmarks.md). Measured: the whole suite took 10.5 minutes with one thread beside a two-process
# benchmark, 12.8 with two threads alone.
os.environ.setdefault("OMP_NUM_THREADS", "1")


DATA_FIXTURES = {"data_home", "phonons", "jdft2d", "nomad"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if DATA_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.data)


@pytest.fixture(scope="session")
def data_home():
    home = find_test_data_home()
    if home is None or not home.is_dir():
        message = (
            "No test data: set SKHYBRID_DATA_DIR or put the shared data at ../shared/data "
            f"(looked for {home})."
        )
        if running_in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return home


@pytest.fixture(scope="session")
def phonons(data_home):
    from skhybrid.datasets import load_matbench

    return load_matbench("matbench_phonons", data_home=data_home)


@pytest.fixture(scope="session")
def jdft2d(data_home):
    import warnings

    from skhybrid.datasets import load_matbench

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_matbench("matbench_jdft2d", data_home=data_home)


@pytest.fixture(scope="session")
def nomad(data_home):
    from skhybrid.datasets import load_nomad2018

    return load_nomad2018(data_home=data_home)
