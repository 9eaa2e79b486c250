"""User data: a pandas "split" JSON file, or a folder of CIF/POSCAR files plus a CSV of targets."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
from sklearn.utils import Bunch

from ..utils import format_indices
from ._base import read_split_json, structures_from_records, targets_frame

__all__ = ["load_structures", "STRUCTURE_FILE_PATTERNS"]

STRUCTURE_FILE_PATTERNS = ("*.cif", "*.mcif", "*.vasp", "*.poscar", "POSCAR*", "CONTCAR*")
DEFAULT_TARGETS_CSV = "targets.csv"


def load_structures(path, *, targets=None, target=None, structure_column="structure",
                    id_column=None, class_labels=False, return_X_y=False):
    """Load your own structures and targets.

    Two layouts are read:

    - a ``.json`` or ``.json.gz`` file in pandas "split" layout (as Matbench's
      files): a ``structure`` column of ``Structure.as_dict()`` dictionaries and
      target columns;
    - a folder of structure files (``*.cif``, ``*.vasp``, ``*.poscar``,
      ``POSCAR*``, ``CONTCAR*``) and a CSV of targets keyed by file name, by
      default ``targets.csv`` in that folder. A key matches a file by its full
      name (``NaCl.cif``) or its name without the extension (``NaCl``).

    Every file listed in the CSV must exist and every structure file must have
    a row, otherwise a ``ValueError`` lists the offenders. Missing target
    values (empty cells, NaN) are kept as NaN and counted in a warning.

    Parameters
    ----------
    path : str or path-like
        The JSON file or the folder.
    targets : str or path-like, default=None
        The CSV of targets for a folder; default ``<folder>/targets.csv``. When
        that default file does not exist, only structures are loaded and
        ``targets`` is None (for prediction).
    target : str or list of str, default=None
        The target column(s); default all columns but the key (CSV) or the
        structure column (JSON).
    structure_column : str, default="structure"
        The JSON file's column of structure dictionaries.
    id_column : str, default=None
        The CSV column holding file names; default its first column.
    class_labels : bool, default=False
        Keep the targets as they are (class labels: strings, booleans or integers) instead of
        converting them to numbers.
    return_X_y : bool, default=False
        Return ``(structures, targets)``.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``structures`` (list of ``Structure``), ``targets`` (DataFrame indexed by
        id: the file name for a folder, the JSON index for a file; None when a
        folder has no CSV), ``target_names``, ``ids`` and ``path``.

    Examples
    --------
    >>> from skhybrid.datasets import load_structures
    >>> data = load_structures("my_cifs/", target="band_gap")  # doctest: +SKIP
    >>> data.targets.head()  # doctest: +SKIP
    """
    path = Path(path)
    if path.is_dir():
        bunch = _load_folder(path, targets, target, id_column, class_labels)
    elif path.is_file():
        if targets is not None:
            raise ValueError("targets= is for a folder of structure files; a JSON file holds its own targets.")
        bunch = _load_split_file(path, target, structure_column, class_labels)
    else:
        raise FileNotFoundError(f"{path} does not exist.")
    if return_X_y:
        return bunch.structures, bunch.targets
    return bunch


def _as_columns(target) -> list[str] | None:
    if target is None:
        return None
    return [target] if isinstance(target, str) else list(target)


def _check_columns(wanted, available, source) -> None:
    missing = [c for c in wanted if c not in available]
    if missing:
        raise ValueError(
            f"{source} has no column(s) {missing}; its columns are {list(available)}."
        )


def _load_split_file(path: Path, target, structure_column: str, class_labels=False) -> Bunch:
    frame = read_split_json(path)
    _check_columns([structure_column], frame.columns, path)
    columns = _as_columns(target) or [c for c in frame.columns if c != structure_column]
    _check_columns(columns, frame.columns, path)
    ids = [str(i) for i in frame.index]
    structures = structures_from_records(frame[structure_column], ids, source=str(path))
    targets = targets_frame(frame, columns, ids, source=str(path), class_labels=class_labels) if columns else None
    return Bunch(structures=structures, targets=targets, target_names=columns, ids=ids, path=path)


def structure_files(folder: Path) -> list[Path]:
    """Structure files in ``folder`` (not recursive), sorted by name."""
    found = {p for pattern in STRUCTURE_FILE_PATTERNS for p in folder.glob(pattern) if p.is_file()}
    return sorted(found, key=lambda p: p.name)


def read_structure_files(files) -> list:
    """``Structure.from_file`` for each path; a file that cannot be read raises naming it."""
    from pymatgen.core import Structure

    structures = []
    for i, file in enumerate(files):
        try:
            with warnings.catch_warnings():
                # CIF parsing warns about rounding of fractional coordinates on most files.
                warnings.simplefilter("ignore", UserWarning)
                structure = Structure.from_file(file)
        except Exception as exc:
            raise ValueError(
                f"Structure file {i} ({file}) cannot be read: {type(exc).__name__}: {exc}"
            ) from exc
        if len(structure) == 0:
            raise ValueError(f"Structure file {i} ({file}) has no sites.")
        structures.append(structure)
    return structures


def _load_folder(folder: Path, targets_csv, target, id_column, class_labels=False) -> Bunch:
    files = structure_files(folder)
    if not files:
        raise ValueError(
            f"{folder} holds no structure files (looked for {', '.join(STRUCTURE_FILE_PATTERNS)})."
        )
    csv_path = Path(targets_csv) if targets_csv is not None else folder / DEFAULT_TARGETS_CSV
    if not csv_path.is_file():
        if targets_csv is not None:
            raise FileNotFoundError(f"Targets file {csv_path} does not exist.")
        ids = [f.name for f in files]
        return Bunch(structures=read_structure_files(files), targets=None, target_names=[],
                     ids=ids, path=folder)

    table = pd.read_csv(csv_path)
    key = id_column or table.columns[0]
    _check_columns([key], table.columns, csv_path)
    columns = _as_columns(target) or [c for c in table.columns if c != key]
    _check_columns(columns, table.columns, csv_path)
    keys = table[key].astype(str).str.strip().tolist()
    duplicated = sorted({k for k in keys if keys.count(k) > 1})
    if duplicated:
        raise ValueError(f"{csv_path} lists these files more than once: {duplicated}.")

    by_name = {f.name: f for f in files}
    by_stem = {}
    for f in files:
        by_stem.setdefault(f.stem, []).append(f)
    matched, missing = [], []
    for row, k in enumerate(keys):
        file = by_name.get(k)
        if file is None and len(by_stem.get(k, [])) == 1:
            file = by_stem[k][0]
        if file is None:
            missing.append((row, k))
        matched.append(file)
    if missing:
        listed = ", ".join(f"row {r}: {k!r}" for r, k in missing[:20])
        more = f" and {len(missing) - 20} more" if len(missing) > 20 else ""
        raise ValueError(
            f"{csv_path} names {len(missing)} structure file(s) that are not in {folder}: "
            f"{listed}{more}. Add the files or remove those rows."
        )
    unlabelled = sorted(set(files) - set(matched), key=lambda p: p.name)
    if unlabelled:
        raise ValueError(
            f"{len(unlabelled)} structure file(s) in {folder} have no row in {csv_path}: "
            f"{format_indices([f.name for f in unlabelled])}. Add their targets (an empty cell "
            "for an unknown value) or move the files out of the folder."
        )
    ids = [f.name for f in matched]
    structures = read_structure_files(matched)
    frame = table.set_index(pd.Index(ids))
    targets = targets_frame(frame, columns, ids, source=str(csv_path), class_labels=class_labels)
    return Bunch(structures=structures, targets=targets, target_names=columns, ids=ids, path=folder)
