"""Files that are whole or absent: written to a temporary name, then renamed."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

__all__ = ["folder_lock", "write_atomically"]


def write_atomically(path, data) -> None:
    """Write ``data`` (str or bytes) to ``path`` so that a kill at any moment leaves the old file or the new one.

    The bytes go to a temporary file beside ``path``, which then replaces it
    (``os.replace`` is atomic on POSIX and Windows); a reader never sees half a file.

    Parameters
    ----------
    path : str or Path
    data : str or bytes

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skhybrid.utils import write_atomically
    >>> path = Path(tempfile.mkdtemp()) / "sub" / "record.json"
    >>> write_atomically(path, '{"mae": 1.0}')
    >>> path.read_text()
    '{"mae": 1.0}'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if isinstance(data, str):
        tmp.write_text(data)
    else:
        tmp.write_bytes(data)
    os.replace(tmp, path)


@contextmanager
def folder_lock(folder):
    """An exclusive ``flock`` on ``folder/.lock`` for the ``with`` block: one writer of an on-disk store at a time.

    Parallel fits (a fusion model's ``n_jobs``, the runner's, Dask workers on a shared filesystem) may add
    to one graph store or descriptor table together; the lock makes their appends take turns.

    Parameters
    ----------
    folder : str or Path
        Created if missing.

    Examples
    --------
    >>> import tempfile
    >>> from skhybrid.utils import folder_lock
    >>> with folder_lock(tempfile.mkdtemp()):
    ...     pass
    """
    import fcntl

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
