"""A deliberate torch thread count: set for a block of work, then restored."""

from __future__ import annotations

from contextlib import contextmanager

__all__ = ["torch_threads"]


@contextmanager
def torch_threads(n_threads: int | None):
    """Run the block with ``n_threads`` torch (intra-op) threads, then restore the previous count.

    Torch uses every core by default. On a small machine shared with other work that
    oversubscribes the cores: measured on 2 cores, a second busy process slowed
    two-thread training from 1.75 to 14.4 s per epoch while one thread held 2.3 s
    (docs/benchmarks.md). One thread per process is steady, and parallel workers
    (seeds, folds) should each get one. ``None`` leaves torch's setting alone.

    Parameters
    ----------
    n_threads : int or None
        Threads for torch inside the block; ``None`` changes nothing.

    Examples
    --------
    >>> import torch
    >>> from skhybrid.utils import torch_threads
    >>> before = torch.get_num_threads()
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    if n_threads is None:
        yield
        return
    if int(n_threads) < 1:
        raise ValueError(f"n_threads must be a positive number of threads or None, got {n_threads}.")
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)
