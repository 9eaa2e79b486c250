"""Fixtures shared by every test module.

Tests that need real data read ``../shared/data`` (or ``SKHYBRID_DATA_DIR``).
In CI (``CI=true``) a missing data directory fails the run; elsewhere those
tests are skipped with the reason.
"""

import os

import pytest

from skhybrid.utils._testing import find_test_data_home, running_in_ci

# Keep the suite's thread count fixed: 2 cores here, and oversubscription slows torch ~10x.
os.environ.setdefault("OMP_NUM_THREADS", "2")


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
