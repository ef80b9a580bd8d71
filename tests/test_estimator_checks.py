"""scikit-learn's estimator contract (its estimator checks) on poxscan's 2-D estimators.

The selectors and the family column picker run every check scikit-learn has for a transformer:
array-likes, sparse refusal, NaN/inf refusal, cloning, pickling, ``n_features_in_``, feature
names, fit idempotence. :class:`~poxscan.pipelines.calibration.ScoreCalibrator` maps 1-D
scores and the image estimators take images, so the contract's 2-D checks do not apply to them.
"""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import estimator_checks_generator

from poxscan.pipelines.family_selector import FamilyColumnSelector
from poxscan.pipelines.selectors import SELECTION_METHODS, KBestSelector, PCAReducer

ESTIMATORS = [
    *(KBestSelector(method=m, k=3) for m in SELECTION_METHODS),
    PCAReducer(k=2),
    FamilyColumnSelector(),
]

#: Checks that cannot apply, with the reason. (Not run, rather than skipped inside the check.)
NOT_APPLICABLE = {
    # Needs SCIPY_ARRAY_API=1 and an array-API library; poxscan's estimators are NumPy-only.
    "check_array_api_input": "poxscan estimators compute with NumPy only",
}


def _checks():
    for estimator in ESTIMATORS:
        for est, check in estimator_checks_generator(estimator, legacy=True):
            name = getattr(check, "func", check).__name__
            if name in NOT_APPLICABLE:
                continue
            yield pytest.param(est, check, id=f"{est!r}-{name}")


@pytest.mark.parametrize(("estimator", "check"), list(_checks()))
def test_sklearn_estimator_contract(estimator, check):
    check(estimator)
