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
def _element_sums(z: int, n_atoms: int) -> tuple[int, int, int]:
    """The total charges ``n_atoms`` atoms of element ``z`` can carry, as a bitset.

    Returns ``(bits, offset, mirrored)``: bit ``k`` of ``bits`` set means total
    charge ``offset + k`` is reachable; ``mirrored`` is ``bits`` reversed.
    """
    states = element_tables().oxidation_states[z]
    if not states:
        return 0, 0, 0
    low = states[0]
    shifts = [s - low for s in states]
    reachable = 1
    if len(shifts) > 1:
        for _ in range(n_atoms):
            step = 0
            for shift in shifts:
                step |= reachable << shift
            reachable = step
    return reachable, low * n_atoms, int(format(reachable, "b")[::-1], 2)


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
    sums = sorted((_element_sums(z, int(amount)) for z, amount in elements), key=lambda s: s[0].bit_count())
    # Grow the reachable set T over all elements but the richest one ...
    total, offset = 1, 0
    for bits, element_low, _ in sums[:-1]:
        offset += element_low
        if bits == 1:  # one reachable sum: a plain shift of the offset
            continue
        if bits.bit_count() > total.bit_count():
            bits, total = total, bits
        combined = 0
        for shift, digit in enumerate(reversed(format(bits, "b"))):
            if digit == "1":
                combined |= total << shift
        total = combined
    # ... then 0 is in T + B exactly when T meets -B: one AND with B mirrored.
    bits, element_low, mirrored = sums[-1]
    shift = -(offset + element_low) - bits.bit_length() + 1
    aligned = total >> shift if shift >= 0 else total << -shift
    return bool(aligned & mirrored)
