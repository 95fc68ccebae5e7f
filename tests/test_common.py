# Authors: The sparseclf developers
# SPDX-License-Identifier: BSD-3-Clause
"""scikit-learn's common estimator checks."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sparseclf import SparseMLPClassifier, TextClassifier

EXPECTED_FAILED_CHECKS = {}


@parametrize_with_checks(
    [
        SparseMLPClassifier(random_state=0),
        # Two hidden layers and a sampled softmax (an active set of half the
        # classes), so the sparse path meets the checks too.
        SparseMLPClassifier(
            hidden_layer_sizes=(32, 16), output_sparsity=0.5, random_state=0
        ),
        # String input: scikit-learn runs check_estimator_cloneable only and skips
        # the rest with a SkipTestWarning; tests/test_text.py covers them by hand.
        TextClassifier(random_state=0),
    ],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
