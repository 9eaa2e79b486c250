"""Shared helpers: input validation that names the offending sample, progress bars."""

from ._io import folder_lock, write_atomically
from ._parallel import fit_all
from ._progress import progress_bar
from ._seeding import with_random_state
from ._threads import torch_threads
from ._validation import as_sample_list, check_structures, format_indices

__all__ = ["as_sample_list", "check_structures", "fit_all", "folder_lock", "format_indices", "progress_bar",
           "torch_threads", "with_random_state", "write_atomically"]
