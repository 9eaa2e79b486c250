"""Parity of MagpieFeaturizer with matminer on every composition of the shared data sets.

matminer's IonProperty enumerates oxidation states per atom and can take minutes
on large formula units. The rule: each composition gets ``ION_TIME_LIMIT`` seconds
(of CPU time) of matminer's IonProperty; where it does not finish, the other 142 features are
still compared and "compound possible" is checked against an independent
per-element enumeration (``_reference_charge_balance``). The counts are asserted.
"""

import signal
import warnings

import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Composition, Element

from skhybrid import MagpieFeaturizer

ION_TIME_LIMIT = 0.25
RTOL, ATOL = 1e-9, 1e-12


class _Timeout(Exception):
    pass


def _with_time_limit(func, arg, seconds):
    """``func(arg)``, or None after ``seconds`` of this process's CPU time.

    CPU time, not wall time: with a wall-clock limit the count depended on what else ran on the machine
    (107 of 1,000 timed out with CI beside a benchmark). SIGPROF also leaves SIGALRM to pytest-timeout.
    """
    def handler(signum, frame):
        raise _Timeout

    previous = signal.signal(signal.SIGPROF, handler)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        return func(arg)
    except _Timeout:
        return None
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def _reference_charge_balance(composition):
    """Independent check: the set of reachable total charges, grown one atom at a time."""
    reachable = {0}
    for element, amount in composition.element_composition.items():
        el = Element(element.symbol)
        states = el.common_oxidation_states or el.icsd_oxidation_states
        if not states:
            return False
        for _ in range(int(amount)):
            reachable = {r + s for r in reachable for s in states}
    return 0 in reachable


def _matminer_features(compositions):
    from matminer.featurizers.composition import (
        ElementProperty,
        IonProperty,
        Stoichiometry,
        ValenceOrbital,
    )

    fast = [Stoichiometry(), ElementProperty.from_preset("magpie"), ValenceOrbital(props=["frac"])]
    ion = IonProperty()
    # The first call loads pymatgen's oxidation-state tables (~0.3 s); a time limit that
    # interrupted it would leave them unloaded and time out every later call.
    ion.featurize(Composition("NaCl"))
    rows, timed_out = [], []
    for i, comp in enumerate(compositions):
        values = [v for f in fast for v in f.featurize(comp)]
        ionic = _with_time_limit(ion.featurize, comp, ION_TIME_LIMIT)
        if ionic is None:
            timed_out.append(i)
            ionic = [np.nan, np.nan, np.nan]
        rows.append(values + [float(v) for v in ionic])
    return np.array(rows, dtype=float), timed_out


def _compare(compositions, name):
    """Assert parity; return the indices where matminer's IonProperty ran out of time.

    The limit is CPU time, so the count depends on the processor, not on the machine's load; the
    bounds on it in the tests below guard against the comparison silently skipping much of the data.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = MagpieFeaturizer().fit_transform(compositions)
        reference, timed_out = _matminer_features(compositions)
    assert ours.shape == reference.shape == (len(compositions), 145)
    same = np.isclose(ours, reference, rtol=RTOL, atol=ATOL) | (np.isnan(ours) & np.isnan(reference))
    same[timed_out, -3:] = True  # matminer gave no answer there; checked below
    bad = np.argwhere(~same)
    names = MagpieFeaturizer().get_feature_names_out()
    details = [f"{compositions[r]}: {names[c]} ours={ours[r, c]} matminer={reference[r, c]}" for r, c in bad[:10]]
    assert len(bad) == 0, f"{name}: {len(bad)} mismatches, e.g. {details}"
    for i in timed_out:
        comp = compositions[i]
        assert bool(ours[i, -3]) == _reference_charge_balance(comp), comp
        assert np.isfinite(ours[i, -2:]).all()
    return timed_out


def test_parity_phonons(phonons):
    timed_out = _compare([s.composition for s in phonons.structures], "phonons")
    assert len(timed_out) <= 0.05 * len(phonons.structures)


def test_parity_jdft2d(jdft2d):
    timed_out = _compare([s.composition for s in jdft2d.structures], "jdft2d")
    assert len(timed_out) <= 0.05 * len(jdft2d.structures)


def test_parity_nomad(nomad):
    # 2,400 cells but 720 distinct compositions: equal compositions have equal features, compared once
    compositions = list(dict.fromkeys(s.composition for s in nomad.structures))
    timed_out = _compare(compositions, "nomad")
    assert len(timed_out) <= 0.05 * len(compositions)


def _mp_formulas(data_home, n):
    frame = pd.read_json(data_home / "matbench" / "compositions" / "matbench_mp_e_form.json.bz2", orient="columns")
    return frame["composition"].sample(n, random_state=0).tolist()


def _check_mp_sample(formulas):
    timed_out = _compare([Composition(f) for f in formulas], "mp_e_form")
    # strings go through our own parser: same values as from Composition objects
    from_strings = MagpieFeaturizer().fit_transform(formulas)
    from_compositions = MagpieFeaturizer().fit_transform([Composition(f) for f in formulas])
    np.testing.assert_array_equal(from_strings, from_compositions)
    return timed_out


def test_parity_mp_e_form_1000(data_home):
    timed_out = _check_mp_sample(_mp_formulas(data_home, 1_000))
    # 97 of these 1,000 run out of 0.25 s of CPU time on the development machine (large formula units);
    # the bound leaves room for a slower processor
    assert len(timed_out) <= 150


@pytest.mark.slow
@pytest.mark.timeout(1800)  # the full 10,000-formula parity takes about 10 minutes
def test_parity_mp_e_form_10000(data_home):
    """The issue's 10,000-formula sample (about 8 minutes, most of it matminer)."""
    timed_out = _check_mp_sample(_mp_formulas(data_home, 10_000))
    assert len(timed_out) <= 1_500
