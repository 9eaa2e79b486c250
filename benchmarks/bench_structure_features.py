"""StructureFeaturizer against matminer's equivalent structure featurizers, side by side in one run.

    .venv/bin/python benchmarks/bench_structure_features.py [--n 60] [--data-dir ../shared/data]

The same structures (the first ``--n`` of matbench_phonons and of matbench_jdft2d, and ``--n // 6`` NOMAD
cells of about 60 atoms) go through each featurizer on one core (BLAS limited to one thread); times are the
process's CPU seconds per structure, so a busy machine does not bias the ratio (matminer's time over ours)
the way wall-clock time would. matminer's side is what MODNet featurizes structures with (De Breuck et al.
2021): ``DensityFeatures``, ``GlobalSymmetryFeatures``, ``StructuralHeterogeneity`` (the cheap level), and
``SiteStatsFingerprint`` over ``CrystalNNFingerprint("ops")``, ``OPSiteFingerprint``, ``AGNIFingerprints``
and ``GaussianSymmFunc`` with ``AverageBondLength``/``AverageBondAngle`` (the local level).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np


def _matminer_basic():
    from matminer.featurizers.structure import DensityFeatures, GlobalSymmetryFeatures, StructuralHeterogeneity

    return [DensityFeatures(), GlobalSymmetryFeatures(), StructuralHeterogeneity()]


def _matminer_local():
    from matminer.featurizers.site import (
        AGNIFingerprints,
        CrystalNNFingerprint,
        GaussianSymmFunc,
        OPSiteFingerprint,
    )
    from matminer.featurizers.structure import SiteStatsFingerprint

    return [SiteStatsFingerprint(CrystalNNFingerprint.from_preset("ops"), stats=("mean", "std_dev")),
            SiteStatsFingerprint(OPSiteFingerprint(), stats=("mean", "std_dev")),
            SiteStatsFingerprint(AGNIFingerprints(), stats=("mean", "std_dev")),
            SiteStatsFingerprint(GaussianSymmFunc(), stats=("mean", "std_dev"))]


def _time_matminer(featurizers, structures, limit):
    """CPU seconds per structure, featurizing one structure at a time (matminer's own loop, no multiprocessing)."""
    start = time.process_time()
    done = 0
    for structure in structures:
        for featurizer in featurizers:
            try:
                featurizer.featurize(structure)
            except Exception:  # matminer fails on some structures; the time spent still counts
                pass
        done += 1
        if time.process_time() - start > limit:
            break
    return (time.process_time() - start) / done, done


def _time_ours(level, structures):
    from skhybrid.featurizers import StructureFeaturizer

    featurizer = StructureFeaturizer(level=level)
    featurizer.fit_transform(structures[:2])  # imports and caches, as matminer's first call had
    start = time.process_time()
    featurizer.transform(structures)
    return (time.process_time() - start) / len(structures)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--limit", type=float, default=300.0, help="seconds per matminer set and data set at most")
    parser.add_argument("--data-dir", default=os.environ.get("SKHYBRID_DATA_DIR", "../shared/data"))
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    from skhybrid.datasets import load_matbench, load_nomad2018

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sets = {"matbench_phonons": load_matbench("matbench_phonons", data_home=args.data_dir).structures[:args.n],
                "matbench_jdft2d": load_matbench("matbench_jdft2d", data_home=args.data_dir).structures[:args.n],
                "NOMAD 2018": load_nomad2018(data_home=args.data_dir).structures[:max(2, args.n // 6)]}
    print("| data | atoms per cell | level | matminer (ms/structure) | StructureFeaturizer (ms/structure) | ratio |")
    print("|---|---:|---|---:|---:|---:|")
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, structures in sets.items():
            atoms = np.mean([len(s) for s in structures])
            for level, make in (("basic", _matminer_basic), ("local", _matminer_local)):
                theirs, done = _time_matminer(make(), structures, args.limit)
                ours = _time_ours(level, structures)
                print(f"| {name} | {atoms:.1f} | {level} | {1000 * theirs:.1f} (on {done}) | {1000 * ours:.2f} | "
                      f"{theirs / ours:.0f}x |", flush=True)


if __name__ == "__main__":
    main()
