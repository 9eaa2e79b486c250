"""An on-disk table of descriptors, keyed by structure: computed once, reused by every fold and run.

``StructureFeaturizer(level="local")`` costs tens of milliseconds per structure, so a 132k-structure set
takes hours of one core to featurize, and a benchmark featurizes its training and test folds again in every
fit. Descriptors depend only on the structure and the featurizer's settings, so they are kept in a folder:
one ``.npy`` pair per appended part (the 16-byte fingerprints of the structures, the same key as the graph
cache, and their float64 rows), and a manifest with the format version, the featurizer, its settings, the
version of its descriptor definitions and the feature names. A later transform reads the rows it needs
(memory-mapped, copied out) and computes only the structures the table lacks; writers take a file lock, so
parallel fits can share one table. The table stays small beside graphs (224 float64 columns are 240 MB at
132k structures), which is why it is one flat table rather than a chunked store.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..utils import folder_lock, write_atomically

__all__ = ["DESCRIPTOR_STORE_FORMAT", "DescriptorStore", "stored_features"]

#: version of the layout below; a reader refuses any other
DESCRIPTOR_STORE_FORMAT = 1
MANIFEST = "manifest.json"
_KEY_BYTES = 16


class DescriptorStore:
    """The descriptor table in ``path`` for one featurizer and its settings (created on first append).

    Parameters
    ----------
    path : str or path-like
        The folder of the table.
    featurizer : str
        The featurizer's name; a table holds one featurizer's descriptors.
    settings : dict
        The settings the descriptors depend on (JSON-serialisable); a table holds one set of settings.
    names : sequence of str
        The feature names, in column order.
    definitions : int
        The version of the featurizer's descriptor definitions: a table written by other definitions is
        refused rather than read as if they were today's.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from skhybrid.featurizers._descriptor_store import DescriptorStore
    >>> store = DescriptorStore(tempfile.mkdtemp(), featurizer="demo", settings={"a": 1}, names=["f0", "f1"],
    ...                         definitions=1)
    >>> store.append([b"k" * 16], np.array([[1.0, 2.0]]))
    >>> store.locate([b"x" * 16, b"k" * 16]).tolist(), store.rows([0]).tolist()
    ([-1, 0], [[1.0, 2.0]])
    """

    def __init__(self, path, *, featurizer: str, settings: dict, names, definitions: int):
        self.path = Path(path)
        self.header = {"featurizer": featurizer, "settings": settings, "definitions": int(definitions),
                       "names": list(map(str, names))}
        self._parts = []
        self._keys = {}
        self._values = []
        self._read_manifest()

    # --- reading ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._keys)

    def _read_manifest(self) -> None:
        manifest_path = self.path / MANIFEST
        if not manifest_path.is_file():
            return
        try:
            manifest = json.loads(manifest_path.read_text())
        except ValueError as error:
            raise ValueError(f"{manifest_path} is damaged ({error}); delete the folder {self.path} and featurize "
                             "again.") from error
        version = manifest.get("format_version")
        if version != DESCRIPTOR_STORE_FORMAT:
            raise ValueError(f"{self.path} holds a descriptor table of format {version!r}, this skhybrid reads "
                             f"format {DESCRIPTOR_STORE_FORMAT}; delete the folder or give the featurizer another "
                             "store.")
        for field in ("featurizer", "settings", "definitions", "names"):
            if manifest.get(field) != self.header[field]:
                raise ValueError(
                    f"{self.path} holds descriptors of other {field} ({manifest.get(field)!r}, this featurizer: "
                    f"{self.header[field]!r}); give this featurizer a store of its own, or delete the folder.")
        for part in manifest["parts"][len(self._parts):]:
            keys = self._load(part["keys"], (part["rows"], _KEY_BYTES), np.uint8)
            values = self._load(part["values"], (part["rows"], len(self.header["names"])), np.float64)
            start = sum(p["rows"] for p in self._parts)
            for offset, key in enumerate(keys):
                self._keys.setdefault(key.tobytes(), start + offset)
            self._parts.append(part)
            self._values.append(values)

    def _load(self, name: str, shape: tuple, dtype) -> np.ndarray:
        path = self.path / name
        try:
            array = np.load(path, mmap_mode="r")
        except (OSError, ValueError) as error:
            raise ValueError(f"{path} is missing or truncated ({error}); delete the folder {self.path} and "
                             "featurize again.") from error
        if array.shape != shape or array.dtype != dtype:
            raise ValueError(f"{path} holds an array of shape {array.shape} and dtype {array.dtype}, the manifest "
                             f"says {shape} {np.dtype(dtype)}; delete the folder {self.path} and featurize again.")
        return array

    def refresh(self) -> None:
        """Read the parts that other processes appended since this table was opened."""
        self._read_manifest()

    def locate(self, keys) -> np.ndarray:
        """The row of each key in the table, or -1 where it is missing.

        Parameters
        ----------
        keys : sequence of bytes
            Structure fingerprints (``structure_fingerprint``).

        Returns
        -------
        ndarray of int64
        """
        return np.fromiter((self._keys.get(key, -1) for key in keys), dtype=np.int64, count=len(keys))

    def rows(self, positions) -> np.ndarray:
        """The descriptor rows at ``positions`` (rows of the table), copied into memory.

        Parameters
        ----------
        positions : array-like of int

        Returns
        -------
        ndarray of shape (len(positions), n_features)
        """
        positions = np.asarray(positions, dtype=np.int64)
        out = np.empty((len(positions), len(self.header["names"])))
        starts = np.cumsum([0] + [p["rows"] for p in self._parts])
        part_of = np.searchsorted(starts, positions, side="right") - 1
        for k in np.unique(part_of):
            chosen = part_of == k
            out[chosen] = self._values[k][positions[chosen] - starts[k]]
        return out

    # --- writing ---------------------------------------------------------------------------------

    def append(self, keys, values) -> None:
        """Add rows for new keys, as one part written before the manifest names it.

        Call it under the folder's lock (:meth:`lock`) when other processes may write. A kill
        at any moment leaves the table as it was or with the new part: the manifest is replaced
        atomically after the part's files are complete.

        Parameters
        ----------
        keys : sequence of bytes
        values : ndarray of shape (len(keys), n_features)
        """
        values = np.asarray(values, dtype=np.float64)
        if len(keys) == 0:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        self._read_manifest()  # parts another process added: the new part's name must follow theirs
        name = f"part-{len(self._parts):06d}"
        key_array = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), _KEY_BYTES)
        for suffix, array in ((".keys.npy", key_array), (".values.npy", values)):
            temporary = self.path / f".{name}{suffix}.{os.getpid()}"
            with open(temporary, "wb") as handle:
                np.save(handle, array)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path / f"{name}{suffix}")
        parts = self._parts + [{"keys": f"{name}.keys.npy", "values": f"{name}.values.npy", "rows": len(keys)}]
        write_atomically(self.path / MANIFEST, json.dumps(
            {"format_version": DESCRIPTOR_STORE_FORMAT, **self.header, "parts": parts}, indent=1))
        self._read_manifest()

    def lock(self):
        """An exclusive lock on the folder (a context manager) for one writer at a time."""
        return folder_lock(self.path)


def stored_features(featurizer, structures, *, definitions: int, part: int, desc: str):
    """Rows of ``structures`` from ``featurizer.store``, computing and appending those the table lacks first.

    The featurizer provides ``store`` (the folder), ``_settings()`` (what its rows depend on), ``_names()``
    (the columns) and ``_compute(structures, indices, bar)``, which returns the rows and the
    ``(index, reason)`` of the structures that failed (NaN rows). Parts of ``part`` structures are appended
    as soon as they are computed, so an interruption loses one part. Returns the rows (NaN where a
    structure failed) and the errors, every copy of a failed structure named.
    """
    from ..utils import progress_bar
    from ._graph_cache import structure_fingerprint

    names = featurizer._names()
    keys = [structure_fingerprint(s) for s in structures]
    store = DescriptorStore(featurizer.store, featurizer=type(featurizer).__name__, settings=featurizer._settings(),
                            names=names, definitions=definitions)
    positions = store.locate(keys)
    missing = {}
    for i in np.flatnonzero(positions < 0):
        missing.setdefault(keys[i], int(i))
    errors = []
    if missing:
        first = list(missing.values())
        with progress_bar(total=len(first), desc=desc, unit="structure") as bar:
            for start in range(0, len(first), part):
                chunk = first[start:start + part]
                rows, chunk_errors = featurizer._compute([structures[i] for i in chunk], chunk, bar)
                errors += chunk_errors
                failed = {index for index, _ in chunk_errors}
                good = [k for k, i in enumerate(chunk) if i not in failed]
                # one writer at a time: parallel fits may featurize into one table together; rows
                # another writer added meanwhile are kept, ours for the same structures dropped (equal)
                with store.lock():
                    store.refresh()
                    fresh = [k for k, at in zip(good, store.locate([keys[chunk[k]] for k in good])) if at < 0]
                    store.append([keys[chunk[k]] for k in fresh], rows[fresh])
        positions = store.locate(keys)
        # every copy of a failed structure is a NaN row, and is named as such
        reasons = {keys[index]: reason for index, reason in errors}
        errors = [(int(i), reasons[keys[i]]) for i in np.flatnonzero(positions < 0)]
    features = np.full((len(structures), len(names)), np.nan)
    found = positions >= 0
    features[found] = store.rows(positions[found])
    return features, errors
