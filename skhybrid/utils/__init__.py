"""Shared helpers: input validation that names the offending sample, progress bars."""

from ._progress import progress_bar
from ._validation import as_sample_list, check_structures, format_indices

__all__ = ["as_sample_list", "check_structures", "format_indices", "progress_bar"]
