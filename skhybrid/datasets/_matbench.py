"""Matbench v0.1 tasks with their official folds."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources

import numpy as np
from sklearn.utils import Bunch

from ._base import (
    fetch_file,
    find_in_data_home,
    get_data_home,
    read_split_json,
    structures_from_records,
    targets_frame,
    verify_checksum,
)

__all__ = ["load_matbench", "MATBENCH_TASKS"]

MATBENCH_TASKS = (
    "matbench_dielectric",
    "matbench_expt_gap",
    "matbench_expt_is_metal",
    "matbench_glass",
    "matbench_jdft2d",
    "matbench_log_gvrh",
    "matbench_log_kvrh",
    "matbench_mp_e_form",
    "matbench_mp_gap",
    "matbench_mp_is_metal",
    "matbench_perovskites",
    "matbench_phonons",
    "matbench_steels",
)

MATBENCH_INSTALL_HINT = 'pip install --no-deps "matbench==0.6"'


def _import_matbench():
    try:
        import matbench  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "The official Matbench folds ship in the `matbench` package, which is not installed. "
            f"Install it without its dependencies (its 0.6 release pins scikit-learn 1.0.1): "
            f"{MATBENCH_INSTALL_HINT}"
        ) from exc
    return matbench


@lru_cache(maxsize=None)
def _matbench_json(name: str) -> dict:
    matbench = _import_matbench()
    with resources.files(matbench).joinpath(name).open("r", encoding="utf-8") as handle:
        return json.load(handle)


@lru_cache(maxsize=None)
def _matminer_metadata() -> dict:
    import matminer.datasets

    with resources.files(matminer.datasets).joinpath("dataset_metadata.json").open(
        "r", encoding="utf-8"
    ) as handle:
        return json.load(handle)


def _check_task(task: str) -> str:
    if task not in MATBENCH_TASKS:
        short = task if task.startswith("matbench_") else f"matbench_{task}"
        if short in MATBENCH_TASKS:
            return short
        raise ValueError(
            f"Unknown Matbench task {task!r}. Valid names: {', '.join(MATBENCH_TASKS)}."
        )
    return task


_ID_NUMBER = re.compile(r"-(\d+)$")


def _id_to_row(sample_id: str) -> int:
    """``mb-phonons-0001`` -> 0. Ids are zero-padded to the dataset's digit count, so parse."""
    match = _ID_NUMBER.search(sample_id)
    if match is None:
        raise ValueError(f"Unexpected Matbench id {sample_id!r}.")
    return int(match.group(1)) - 1


def matbench_folds(task: str, n_samples: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The official 5 folds of ``task`` as (train rows, test rows) integer arrays."""
    splits = _matbench_json("matbench_v0.1_validation.json")["splits"][task]
    folds = []
    for name in sorted(splits, key=lambda k: int(k.split("_")[-1])):
        train = np.array(sorted(_id_to_row(i) for i in splits[name]["train"]), dtype=np.intp)
        test = np.array(sorted(_id_to_row(i) for i in splits[name]["test"]), dtype=np.intp)
        if max(train.max(), test.max()) >= n_samples:
            raise ValueError(
                f"The official folds of {task} name rows beyond the {n_samples} rows of the data "
                "file; the file is not the Matbench v0.1 release."
            )
        folds.append((train, test))
    return folds


def matbench_ids(task: str, n_samples: int) -> list[str]:
    """``mb-<short>-<n>`` ids zero-padded to the digit count of ``n_samples``."""
    short = task.removeprefix("matbench_").replace("_", "-")
    width = len(str(n_samples))
    return [f"mb-{short}-{i + 1:0{width}d}" for i in range(n_samples)]


def load_matbench(task, data_home=None, *, download=True, verify=True, return_X_y=False):
    """Load a Matbench v0.1 task with its official 5-fold split.

    The official ``<task>.json.gz`` is read from the data directory (the folder
    itself or its ``matbench/`` subfolder): ``data_home``, else the
    ``SKHYBRID_DATA_DIR`` environment variable, else ``~/.cache/skhybrid``.
    If it is missing, it is downloaded there from the Matbench release (URL and
    sha256 from matminer's dataset metadata), atomically and with a progress bar.

    Parameters
    ----------
    task : str
        A Matbench task name, e.g. ``"matbench_phonons"`` (the ``matbench_``
        prefix may be left out).
    data_home : str or path-like, default=None
        Data directory; see above.
    download : bool, default=True
        Download the official file when it is not in the data directory.
    verify : {True, False, "strict"}, default=True
        Check the file's sha256 against the published one: ``True`` warns with
        :class:`ChecksumMismatchWarning` on a mismatch, ``"strict"`` raises
        ``ValueError``, ``False`` skips the check.
    return_X_y : bool, default=False
        Return ``(X, y)``: the structures (or compositions) and the target as a
        pandas Series indexed by Matbench id.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``structures`` (list of pymatgen ``Structure``; ``None`` for composition
        tasks, which fill ``compositions`` with formula strings instead),
        ``targets`` (DataFrame indexed by Matbench id, one column named as in
        Matbench), ``target_names``, ``ids``, ``folds`` (list of 5
        ``(train_rows, test_rows)`` integer arrays, usable as ``cv=`` in
        scikit-learn), ``task``, ``unit``, ``mad`` (mean absolute deviation of
        the target, Matbench's baseline), ``task_type`` (``"regression"``, or
        ``"classification"`` for the three ``is_metal``/``glass`` tasks, whose
        targets are booleans) and ``path`` (the file read).

    Examples
    --------
    >>> from skhybrid.datasets import load_matbench
    >>> data = load_matbench("matbench_phonons")  # doctest: +SKIP
    >>> len(data.structures), [len(test) for _, test in data.folds]  # doctest: +SKIP
    (1265, [253, 253, 253, 253, 253])
    """
    task = _check_task(task)
    task_meta = _matbench_json("matbench_v0.1_dataset_metadata.json")[task]
    file_meta = _matminer_metadata()[task]
    filename = f"{task}.json.gz"
    home = get_data_home(data_home)
    path = find_in_data_home(filename, home, "matbench")
    if path is None:
        if not download:
            raise FileNotFoundError(
                f"{filename} is neither in {home} nor in {home / 'matbench'}; pass download=True "
                f"or point data_home (or SKHYBRID_DATA_DIR) at the folder that holds it."
            )
        path = fetch_file(file_meta["url"], home / "matbench" / filename, file_meta["hash"])
    else:
        verify_checksum(path, file_meta["hash"], verify)

    frame = read_split_json(path)
    input_column = task_meta["input_type"]
    target = task_meta["target"]
    missing = {input_column, target} - set(frame.columns)
    if missing:
        raise ValueError(
            f"{path} lacks the column(s) {sorted(missing)} of {task}; it has {list(frame.columns)}."
        )
    n_samples = len(frame)
    if n_samples != task_meta["n_samples"]:
        raise ValueError(
            f"{path} has {n_samples} rows, {task} has {task_meta['n_samples']}; "
            "it is not the Matbench v0.1 file."
        )
    ids = matbench_ids(task, n_samples)
    source = str(path)
    if input_column == "structure":
        structures = structures_from_records(frame[input_column], ids, source=source)
        compositions = None
        X = structures
    else:
        structures = None
        compositions = frame[input_column].astype(str).tolist()
        X = compositions
    targets = targets_frame(frame, [target], ids, source=source)
    if return_X_y:
        return X, targets[target]
    return Bunch(
        structures=structures,
        compositions=compositions,
        targets=targets,
        target_names=[target],
        ids=ids,
        folds=matbench_folds(task, n_samples),
        task=task,
        unit=task_meta.get("unit"),
        task_type=task_meta.get("task_type", "regression"),
        mad=task_meta.get("mad"),
        path=path,
    )
