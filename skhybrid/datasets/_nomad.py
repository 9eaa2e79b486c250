"""The NOMAD 2018 transparent-conductor training set (two targets)."""

from __future__ import annotations

from sklearn.utils import Bunch

from ._base import (
    find_in_data_home,
    get_data_home,
    read_split_json,
    structures_from_records,
    targets_frame,
)

__all__ = ["load_nomad2018"]

NOMAD_FILENAME = "nomad2018_train.json.gz"
NOMAD_TARGETS = ("formation_energy_ev_natom", "bandgap_energy_ev")


def load_nomad2018(data_home=None, *, return_X_y=False):
    """Load the NOMAD 2018 training set: 2400 (Al,Ga,In)2O3 structures, two DFT targets.

    Sutton et al., "Crowd-sourcing materials-science challenges with the NOMAD
    2018 Kaggle competition", npj Comput. Mater. 5, 111 (2019). The challenge
    data sit behind a Kaggle login, so there is no automatic download: put
    ``nomad2018_train.json.gz`` (pandas "split" layout, one ``Structure.as_dict()``
    per row) in the data directory or its ``nomad2018/`` subfolder.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Data directory: this argument, else ``SKHYBRID_DATA_DIR``, else
        ``~/.cache/skhybrid``.
    return_X_y : bool, default=False
        Return ``(structures, targets)`` with ``targets`` a DataFrame of both
        targets.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``structures``, ``targets`` (DataFrame indexed by id with the columns
        ``formation_energy_ev_natom`` in eV/atom and ``bandgap_energy_ev`` in
        eV), ``target_names``, ``ids``, ``spacegroup`` (array), ``units`` and
        ``path``.

    Examples
    --------
    >>> from skhybrid.datasets import load_nomad2018
    >>> structures, targets = load_nomad2018(return_X_y=True)  # doctest: +SKIP
    >>> targets.shape  # doctest: +SKIP
    (2400, 2)
    """
    home = get_data_home(data_home)
    path = find_in_data_home(NOMAD_FILENAME, home, "nomad2018")
    if path is None:
        raise FileNotFoundError(
            f"{NOMAD_FILENAME} is neither in {home} nor in {home / 'nomad2018'}. The NOMAD 2018 "
            "data need a Kaggle login, so skhybrid cannot download them: convert the challenge's "
            "train.csv and geometry files to that file, or point data_home (or SKHYBRID_DATA_DIR) "
            "at the folder that holds it."
        )
    frame = read_split_json(path)
    missing = {"structure", *NOMAD_TARGETS} - set(frame.columns)
    if missing:
        raise ValueError(f"{path} lacks the column(s) {sorted(missing)}; it has {list(frame.columns)}.")
    ids = [str(i) for i in frame.index]
    structures = structures_from_records(frame["structure"], ids, source=str(path))
    targets = targets_frame(frame, list(NOMAD_TARGETS), ids, source=str(path))
    if return_X_y:
        return structures, targets
    return Bunch(
        structures=structures,
        targets=targets,
        target_names=list(NOMAD_TARGETS),
        ids=ids,
        spacegroup=frame["spacegroup"].to_numpy() if "spacegroup" in frame else None,
        units={"formation_energy_ev_natom": "eV/atom", "bandgap_energy_ev": "eV"},
        path=path,
    )
