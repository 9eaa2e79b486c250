"""Can a composition be charge balanced with its elements' common oxidation states?

The question matminer's ``IonProperty`` asks through pymatgen's
``Composition.oxi_state_guesses``: is there an assignment of one oxidation
state per *atom* (so mixed valence, as in Fe3O4, counts) whose charges sum to
zero? pymatgen enumerates every multiset of states per element, which grows as
``n_atoms ** n_states`` and takes minutes on formulas such as Cd15 I30.

Here the reachable total charges are a set of integers kept as the bits of a
Python integer: adding one atom with states ``S`` is ``T = OR(T << s)`` over
``s`` in ``S``. The work is ``O(n_atoms * n_states)`` shifts of integers of
``O(n_atoms * spread)`` bits, bounded for every formula, and the answer is the
same as pymatgen's.
"""

from __future__ import annotations

from functools import lru_cache

from ._element_data import element_tables

__all__ = ["charge_balance_possible"]


@lru_cache(maxsize=1 << 14)
def _element_sums(z: int, n_atoms: int) -> tuple[int, int]:
    """Bitset of the total charges ``n_atoms`` atoms of element ``z`` can carry, and its offset.

    Bit ``k`` set means total charge ``offset + k`` is reachable.
    """
    states = element_tables().oxidation_states[z]
    if not states:
        return 0, 0
    low = states[0]
    shifts = [s - low for s in states]
    if len(shifts) == 1:
        return 1, low * n_atoms
    reachable = 1
    for _ in range(n_atoms):
        step = 0
        for shift in shifts:
            step |= reachable << shift
        reachable = step
    return reachable, low * n_atoms


@lru_cache(maxsize=1 << 18)
def charge_balance_possible(elements: tuple) -> bool | None:
    """``elements``: ``((Z, amount), ...)``. None when an amount is not an integer.

    pymatgen refuses fractional amounts ("Charge balance analysis requires
    integer values"); the caller reports NaN for them.
    """
    states = element_tables().oxidation_states
    low = high = 0
    for z, amount in elements:
        if amount != int(amount):
            return None
        if not states[z]:
            return False
        low += states[z][0] * amount
        high += states[z][-1] * amount
    if not low <= 0 <= high:
        return False
    total, offset = 1, 0
    for z, amount in elements:
        bits, element_low = _element_sums(z, int(amount))
        offset += element_low
        if bits == 1:  # one reachable sum: a plain shift of the offset
            continue
        if bits.bit_count() > total.bit_count():
            bits, total = total, bits
        combined = 0
        # iterate over the set bits of the sparser set, lowest first
        for shift, digit in enumerate(reversed(bin(bits)[2:])):
            if digit == "1":
                combined |= total << shift
        total = combined
    return bool((total >> -offset) & 1)
