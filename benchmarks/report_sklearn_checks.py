"""scikit-learn's check_estimator over every public estimator: how many checks pass, fail as expected, are skipped.

    .venv/bin/python benchmarks/report_sklearn_checks.py

Prints the table of docs/benchmarks.md; the same estimators and expected failures as
tests/test_sklearn_checks.py, which runs them in the test suite.
"""

import sys
import warnings
from collections import Counter
from pathlib import Path

from sklearn.utils.estimator_checks import check_estimator

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_sklearn_checks import ESTIMATORS  # noqa: E402


def main():
    print("| estimator | checks run | passed | expected failures | skipped |")
    print("|---|---:|---:|---:|---:|")
    for estimator, expected in ESTIMATORS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = check_estimator(estimator, expected_failed_checks=expected, on_fail=None)
        counts = Counter(r["status"] for r in results)
        label = type(estimator).__name__
        if hasattr(estimator, "weights") and estimator.weights == "oof":
            label += " (weights='oof')"
        print(f"| {label} | {len(results)} | {counts['passed']} | {counts['xfail']} | {counts['skipped']} |")
        if counts["failed"]:
            print(f"  UNEXPECTED FAILURES: {[r['check_name'] for r in results if r['status'] == 'failed']}")


if __name__ == "__main__":
    main()
