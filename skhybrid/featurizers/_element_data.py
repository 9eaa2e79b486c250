"""Element property tables for the Magpie features, read from the files bundled in matminer.

The values and the imputation rule are matminer's (``MagpieData(impute_nan=True)``
and ``PymatgenData(impute_nan=True)``): a property missing for an element is
replaced by its mean over the elements that have it. Tables are indexed by
atomic number, row 0 unused, so ``table[Z]`` gathers an element's values.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

__all__ = ["MAGPIE_PROPERTIES", "MAX_Z", "ElementTables", "element_tables"]

MAX_Z = 118

# Ward et al. (2016), as matminer's ElementProperty.from_preset("magpie").
MAGPIE_PROPERTIES = (
    "Number", "MendeleevNumber", "AtomicWeight", "MeltingT", "Column", "Row",
    "CovalentRadius", "Electronegativity", "NsValence", "NpValence", "NdValence",
    "NfValence", "NValence", "NsUnfilled", "NpUnfilled", "NdUnfilled", "NfUnfilled",
    "NUnfilled", "GSvolume_pa", "GSbandgap", "GSmagmom", "SpaceGroupNumber",
)
VALENCE_PROPERTIES = ("NsValence", "NpValence", "NdValence", "NfValence", "NValence")


@dataclass(frozen=True)
class ElementTables:
    symbols: tuple            # symbols[Z]; symbols[0] == ""
    z_of: dict                # symbol -> Z
    magpie: np.ndarray        # (MAX_Z + 1, 22) Magpie properties, imputed
    magpie_known: np.ndarray  # (MAX_Z + 1, 22) bool: the value is the table's, not imputed
    valence: np.ndarray       # (MAX_Z + 1, 5) s, p, d, f and total valence electrons
    pauling_x: np.ndarray     # (MAX_Z + 1,) Pauling electronegativity, imputed
    oxidation_states: tuple   # oxidation_states[Z]: the states charge balance may use


def _read_magpie_table(name: str) -> np.ndarray:
    """One value per element, Z = 1..118; unparsable or absent entries are NaN."""
    import matminer.utils.data_files as data_files

    text = resources.files(data_files).joinpath("magpie_elementdata", f"{name}.table").read_text()
    lines = text.splitlines()
    values = np.full(MAX_Z + 1, np.nan)
    for z in range(1, MAX_Z + 1):
        try:
            values[z] = float(lines[z - 1])
        except (ValueError, IndexError):
            pass
    return values


def _impute(values: np.ndarray) -> np.ndarray:
    filled = values.copy()
    missing = np.isnan(filled[1:])
    filled[1:][missing] = np.nanmean(values[1:])
    return filled


@cache
def element_tables() -> ElementTables:
    from pymatgen.core.periodic_table import Element

    symbols = ("",) + tuple(Element.from_Z(z).symbol for z in range(1, MAX_Z + 1))
    raw = {name: _read_magpie_table(name) for name in set(MAGPIE_PROPERTIES) | set(VALENCE_PROPERTIES)}
    properties = {name: _impute(values) for name, values in raw.items()}
    magpie = np.column_stack([properties[name] for name in MAGPIE_PROPERTIES])
    magpie_known = np.column_stack([~np.isnan(raw[name]) for name in MAGPIE_PROPERTIES])
    valence = np.column_stack([properties[name] for name in VALENCE_PROPERTIES])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pymatgen warns for every element without X
        # matminer imputes with the mean over *all* pymatgen elements, treating falsy values as missing
        all_x = np.array([e.X if e.X else np.nan for e in Element], dtype=float)
        x = np.array([np.nan] + [Element.from_Z(z).X for z in range(1, MAX_Z + 1)], dtype=float)
    x_filled = x.copy()
    x_filled[1:][np.isnan(x[1:]) | (x[1:] == 0)] = np.nanmean(all_x)

    # matminer passes common_oxidation_states as an override; pymatgen ignores an empty
    # override and falls back to the ICSD states, then the common ones.
    states = [()]
    for z in range(1, MAX_Z + 1):
        element = Element.from_Z(z)
        chosen = element.common_oxidation_states or element.icsd_oxidation_states or element.common_oxidation_states
        states.append(tuple(sorted({int(s) for s in chosen})))

    return ElementTables(
        symbols=symbols,
        z_of={s: z for z, s in enumerate(symbols) if s},
        magpie=magpie,
        magpie_known=magpie_known,
        valence=valence,
        pauling_x=x_filled,
        oxidation_states=tuple(states),
    )
