"""Dataset loaders: Matbench (official folds), NOMAD 2018, and your own files.

Every loader reads from a data directory: the ``data_home`` argument, else the
``SKHYBRID_DATA_DIR`` environment variable, else ``~/.cache/skhybrid``.
"""

from ._base import ChecksumMismatchWarning, get_data_home
from ._matbench import MATBENCH_TASKS, load_matbench
from ._nomad import load_nomad2018
from ._user import load_structures

__all__ = [
    "ChecksumMismatchWarning",
    "MATBENCH_TASKS",
    "get_data_home",
    "load_matbench",
    "load_nomad2018",
    "load_structures",
]
