"""Data directory, checked downloads and the pandas "split" JSON reader."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "get_data_home",
    "ChecksumMismatchWarning",
    "fetch_file",
    "verify_checksum",
    "read_split_json",
    "structures_from_records",
]

DATA_DIR_ENV = "SKHYBRID_DATA_DIR"


class ChecksumMismatchWarning(UserWarning):
    """A data file's sha256 differs from the published one.

    The loaders warn and go on with the file (a rebuilt copy can be fine);
    ``verify="strict"`` turns this into an error.

    Examples
    --------
    >>> import warnings
    >>> from skhybrid.datasets import ChecksumMismatchWarning
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", ChecksumMismatchWarning)   # refuse unofficial files in this block
    ...     issubclass(ChecksumMismatchWarning, UserWarning)
    True
    """


def get_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """Return the data directory.

    Resolution order: the ``data_home`` argument, else the ``SKHYBRID_DATA_DIR``
    environment variable, else ``~/.cache/skhybrid``. The folder is not created
    here; downloads create it.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Explicit data directory.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> from skhybrid.datasets import get_data_home
    >>> get_data_home("/tmp/my-data")
    PosixPath('/tmp/my-data')
    """
    if data_home is None:
        data_home = os.environ.get(DATA_DIR_ENV) or Path.home() / ".cache" / "skhybrid"
    return Path(data_home).expanduser()


def find_in_data_home(filename: str, data_home: Path, subfolder: str) -> Path | None:
    """The file in ``data_home`` itself or in its ``subfolder``; None if in neither."""
    for candidate in (data_home / filename, data_home / subfolder / filename):
        if candidate.is_file():
            return candidate
    return None


def sha256sum(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_checksum(path: Path, expected: str | None, verify: bool | str) -> None:
    """Compare ``path``'s sha256 with ``expected``.

    ``verify=True`` warns on a mismatch (naming the file), ``"strict"`` raises,
    ``False`` skips the check.
    """
    if verify not in (True, False, "strict"):
        raise ValueError(f"verify must be True, False or 'strict', got {verify!r}.")
    if not verify or expected is None:
        return
    actual = sha256sum(path)
    if actual == expected:
        return
    message = (
        f"sha256 of {path} is {actual}, the published file has {expected}. "
        "The file is not the official release (a rebuilt copy or a corrupt download); "
        "delete it to download the official file again"
    )
    if verify == "strict":
        raise ValueError(message + ".")
    warnings.warn(
        message + ", or pass verify='strict' to make this an error.",
        ChecksumMismatchWarning,
        stacklevel=3,
    )


def fetch_file(url: str, destination: Path, sha256: str | None = None, *, progress: bool = True) -> Path:
    """Download ``url`` to ``destination`` atomically, checking its sha256.

    The bytes go to a temporary file beside ``destination`` that is renamed
    into place only when the download is complete and its checksum matches,
    so an interrupted or corrupt download never leaves a file behind.
    """
    from tqdm.auto import tqdm

    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=destination.name + ".", suffix=".part", dir=destination.parent)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(
                total=total, unit="B", unit_scale=True, desc=f"Downloading {destination.name}",
                disable=not progress,
            ) as bar:
                for chunk in iter(lambda: response.read(1 << 16), b""):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
        if sha256 is not None and digest.hexdigest() != sha256:
            raise OSError(
                f"Download of {url} is corrupt: sha256 {digest.hexdigest()}, expected {sha256}. "
                "Nothing was saved; try again."
            )
        os.replace(tmp_name, destination)
    except urllib.error.URLError as error:
        os.unlink(tmp_name)
        raise OSError(
            f"Could not download {url} ({error.reason}) to {destination}. Offline? Put the file there, "
            "or point data_home (--data-dir on the command line) or SKHYBRID_DATA_DIR at a folder that holds it."
        ) from error
    except BaseException:
        # BaseException: a Ctrl-C mid-download must not leave a partial file either.
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    return destination


def read_split_json(path: Path) -> pd.DataFrame:
    """Read a (gzipped) pandas "split" JSON file: ``{"index", "columns", "data"}``.

    Structure dictionaries are kept as dictionaries; ``structures_from_records``
    turns them into ``Structure`` objects with errors that name the row.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            payload = json.load(handle)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not a readable (gzipped) JSON file: {exc}") from exc
    if not isinstance(payload, dict) or not {"columns", "data"} <= payload.keys():
        found = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        raise ValueError(
            f"{path} is not in pandas 'split' layout: expected the keys 'index', 'columns' "
            f"and 'data', found {found}. Write it with DataFrame.to_json(path, orient='split')."
        )
    index = payload.get("index", list(range(len(payload["data"]))))
    return pd.DataFrame(payload["data"], columns=payload["columns"], index=index)


def structures_from_records(records, ids, *, source) -> list:
    """``Structure.from_dict`` for every record; a bad one raises naming its row and id."""
    from pymatgen.core import Structure

    structures = []
    for row, (record, sample_id) in enumerate(zip(records, ids)):
        try:
            if isinstance(record, Structure):
                structure = record
            elif isinstance(record, dict):
                structure = Structure.from_dict(record)
            else:
                raise TypeError(f"expected a Structure dictionary, got {type(record).__name__}")
            if len(structure) == 0:
                raise ValueError("the structure has no sites")
        except Exception as exc:  # pymatgen raises many types for bad dictionaries
            raise ValueError(
                f"Row {row} (id {sample_id!r}) of {source} holds a corrupt structure: "
                f"{type(exc).__name__}: {exc}. Fix or remove that entry."
            ) from exc
        structures.append(structure)
    return structures


def targets_frame(frame: pd.DataFrame, columns, ids, *, source, class_labels=False) -> pd.DataFrame:
    """Numeric targets indexed by id (class labels as they are, with ``class_labels``); NaN targets are kept
    and counted in a warning."""
    targets = frame[list(columns)].copy() if class_labels else frame[list(columns)].apply(pd.to_numeric,
                                                                                         errors="coerce")
    bad = frame[list(columns)].notna() & targets.isna()
    if bad.to_numpy().any():
        row, col = np.argwhere(bad.to_numpy())[0]
        raise ValueError(
            f"Row {row} (id {ids[row]!r}) of {source}: target {columns[col]!r} is not a number "
            f"({frame[columns[col]].iloc[row]!r})."
        )
    targets.index = pd.Index(ids, name="id")
    n_missing = targets.isna().sum()
    if n_missing.any():
        counts = ", ".join(f"{name}: {int(n)}" for name, n in n_missing.items() if n)
        warnings.warn(
            f"{source} has missing (NaN) targets, kept as NaN ({counts}). "
            "Multi-task models mask them; single-task models need them removed, "
            "e.g. mask = targets[col].notna().",
            UserWarning,
            stacklevel=3,
        )
    return targets
