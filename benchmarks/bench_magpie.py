"""MagpieFeaturizer against matminer, side by side in one run, on one core.

    .venv/bin/python benchmarks/bench_magpie.py [--data-dir ../shared/data] [--n 10000]

1. The same ``--n`` formulas sampled from matbench_mp_e_form: matminer's Ward-145
   set (Stoichiometry, ElementProperty "magpie", ValenceOrbital frac, IonProperty)
   on pymatgen ``Composition`` objects (its parsing not counted, in its favour)
   against MagpieFeaturizer on the same Compositions and on the formula strings
   (parsing counted). Throughput ratios are reported.
2. All 132,752 mp_e_form formulas through MagpieFeaturizer, parsing included.

matminer's IonProperty can take minutes on one large formula unit; each call gets
``--ion-limit`` seconds, and a call that runs out is charged that limit (so
matminer's time is a lower bound) and counted.
"""

from __future__ import annotations

import argparse
import os
import signal
import time
import warnings

import numpy as np
import pandas as pd


def _pin_one_core():
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


class _Timeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise _Timeout


def time_matminer(compositions, ion_limit):
    from matminer.featurizers.composition import (
        ElementProperty,
        IonProperty,
        Stoichiometry,
        ValenceOrbital,
    )

    fast = [Stoichiometry(), ElementProperty.from_preset("magpie"), ValenceOrbital(props=["frac"])]
    ion = IonProperty()
    ion.featurize(compositions[0])  # loads pymatgen's tables once; a cut-off load would repeat
    signal.signal(signal.SIGALRM, _on_alarm)
    per_composition, timed_out = [], 0
    for comp in compositions:
        start = time.perf_counter()
        for featurizer in fast:
            featurizer.featurize(comp)
        signal.setitimer(signal.ITIMER_REAL, ion_limit)
        try:
            ion.featurize(comp)
        except _Timeout:
            timed_out += 1
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        per_composition.append(time.perf_counter() - start)
    return np.array(per_composition), timed_out


def time_ours(samples, repeats=3):
    from skhybrid import MagpieFeaturizer
    from skhybrid.featurizers import _charge_balance, _composition_parsing

    best = np.inf
    for _ in range(repeats):
        # cold caches each time: no formula is known in advance
        _composition_parsing.parse_formula.cache_clear()
        _charge_balance.charge_balance_possible.cache_clear()
        _charge_balance._element_sums.cache_clear()
        start = time.perf_counter()
        MagpieFeaturizer().fit_transform(samples)
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("SKHYBRID_DATA_DIR", "../shared/data"))
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--ion-limit", type=float, default=1.0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    _pin_one_core()

    from pymatgen.core import Composition

    from skhybrid import MagpieFeaturizer

    path = os.path.join(args.data_dir, "matbench", "compositions", "matbench_mp_e_form.json.bz2")
    formulas = pd.read_json(path, orient="columns")["composition"].tolist()
    sample = pd.Series(formulas).sample(args.n, random_state=0).tolist()
    compositions = [Composition(f) for f in sample]
    MagpieFeaturizer().fit_transform(["NaCl"])  # load the element tables once, outside the timings

    ours_comp = time_ours(compositions)
    ours_str = time_ours(sample)
    mm_each, timed_out = time_matminer(compositions, args.ion_limit)
    mm = mm_each.sum()
    per = lambda t: 1e6 * t / args.n  # noqa: E731
    print(f"{args.n} mp_e_form compositions, one core")
    print(f"  matminer Ward-145 (Composition input) : {mm:8.2f} s  {per(mm):9.1f} us/comp "
          f"({timed_out} IonProperty calls cut at {args.ion_limit} s); median composition "
          f"{1e6 * np.median(mm_each):.0f} us")
    print(f"  skhybrid (Composition input)          : {ours_comp:8.3f} s  {per(ours_comp):9.1f} us/comp  "
          f"ratio {mm / ours_comp:6.0f}x")
    print(f"  skhybrid (formula strings, parsed)    : {ours_str:8.3f} s  {per(ours_str):9.1f} us/comp  "
          f"ratio {mm / ours_str:6.0f}x")
    print(f"  ratio against matminer's median composition (its heavy tail left out): "
          f"{np.median(mm_each) / (ours_comp / args.n):.0f}x (Composition input), "
          f"{np.median(mm_each) / (ours_str / args.n):.0f}x (strings)")

    all_time = time_ours(formulas, repeats=1)
    print(f"All {len(formulas)} mp_e_form formulas (strings, parsing included): {all_time:.2f} s "
          f"({1e6 * all_time / len(formulas):.1f} us each)")


if __name__ == "__main__":
    main()
