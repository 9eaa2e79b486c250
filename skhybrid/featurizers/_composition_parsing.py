"""Turn Structures, Compositions and formula strings into element amounts.

Every sample becomes a tuple of ``(Z, amount)`` pairs in order of first
appearance (species of one element summed), the layout pymatgen's
``Composition.element_composition`` has. Formula strings of the plain kind
(``Fe2O3``, ``Pt1 C1``, ``Li0.5CoO2``) are parsed by a regular expression
without building a pymatgen ``Composition`` (that costs ~20 us per string);
anything else (parentheses, oxidation states, ...) goes through pymatgen.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from pymatgen.core import Composition, Structure
from pymatgen.core.periodic_table import DummySpecies

from ._element_data import element_tables

__all__ = ["ParsedComposition", "parse_sample"]

_PLAIN_FORMULA = re.compile(r"\s*(?:[A-Z][a-z]?\s*(?:\d+(?:\.\d*)?|\.\d+)?\s*)+")
_PLAIN_TOKEN = re.compile(r"([A-Z][a-z]?)\s*(\d+(?:\.\d*)?|\.\d+)?")
# pymatgen's Composition drops amounts below this.
_AMOUNT_TOLERANCE = 1e-8


class ParsedComposition(NamedTuple):
    elements: tuple      # ((Z, amount), ...), every amount > 0
    charge: float | None  # sum of oxidation state x amount when every species has one


def _from_pairs(pairs, describe) -> ParsedComposition:
    """``describe()`` names the input in an error message; it is built only on error."""
    tables = element_tables()
    z_of = tables.z_of
    amounts: dict[int, float] = {}
    for symbol, amount in pairs:
        try:
            z = z_of[symbol]
        except KeyError:
            raise ValueError(f"unknown element {symbol!r} in {describe()}") from None
        if not tables.magpie_known[z].any():
            # every value would be a placeholder (the tables' mean): refuse rather than invent a composition
            raise ValueError(f"element {symbol} in {describe()} has no Magpie data (the tables cover Z <= 112)")
        amounts[z] = amounts.get(z, 0.0) + amount
    elements = tuple((z, a) for z, a in amounts.items() if a >= _AMOUNT_TOLERANCE)
    if not elements:
        raise ValueError(f"{describe()} is an empty composition")
    return ParsedComposition(elements, None)


@lru_cache(maxsize=1 << 18)
def parse_formula(formula: str) -> ParsedComposition:
    """A formula string's element amounts; raises ``ValueError`` with the reason."""
    if _PLAIN_FORMULA.fullmatch(formula):
        pairs = [(s, float(n) if n else 1.0) for s, n in _PLAIN_TOKEN.findall(formula)]
        return _from_pairs(pairs, lambda: f"formula {formula!r}")
    if not formula.strip():
        raise ValueError("empty formula string")
    try:
        composition = Composition(formula)
    except Exception as exc:  # pymatgen raises ValueError, KeyError, ... for bad formulas
        raise ValueError(f"unparsable formula {formula!r} ({type(exc).__name__}: {exc})") from exc
    return parse_composition(composition)


def parse_composition(composition) -> ParsedComposition:
    if len(composition) == 0:
        raise ValueError("empty composition")
    pairs = []
    charge = 0.0
    for species, amount in composition.items():
        if isinstance(species, DummySpecies):
            raise ValueError(
                f"dummy species or vacancy {species} in {composition.formula!r}; "
                "replace it with a real element"
            )
        if amount < 0:
            raise ValueError(f"negative amount of {species} in {composition.formula!r}")
        oxi = getattr(species, "oxi_state", None)
        charge = None if (charge is None or oxi is None) else charge + oxi * amount
        pairs.append((species.symbol, float(amount)))
    parsed = _from_pairs(pairs, lambda: f"composition {composition.formula!r}")
    return parsed._replace(charge=charge)


def parse_sample(sample) -> ParsedComposition:
    """Element amounts of a Structure, Composition or formula string."""
    if isinstance(sample, str):
        return parse_formula(sample)
    if isinstance(sample, Composition):
        return parse_composition(sample)
    if isinstance(sample, Structure):
        if len(sample) == 0:
            raise ValueError("empty structure (no sites)")
        return parse_composition(sample.composition)
    raise ValueError(
        f"expected a pymatgen Structure, Composition or formula string, got {type(sample).__name__}"
    )
