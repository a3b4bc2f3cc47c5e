"""Logistic regression: the course's for-loop algorithm and the vectorized form agree."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet


@pytest.fixture
def data(rng):
    X = rng.standard_normal((40, 3))
    y = (X @ np.array([1.5, -2.0, 0.5]) + 0.3 > 0).astype(int)
    return X, y


def test_loop_and_vectorized_agree(data):
    X, y = data
    loop = xpnet.LogisticRegression(learning_rate=0.5, iterations=30, vectorized=False).fit(X, y)
    vec = xpnet.LogisticRegression(learning_rate=0.5, iterations=30, vectorized=True,
                                   backend="numpy").fit(X, y)
    np.testing.assert_allclose(vec.cost_, loop.cost_, rtol=1e-10)
    np.testing.assert_allclose(vec.w_, loop.w_, rtol=1e-10)
    np.testing.assert_allclose(vec.b_, loop.b_, rtol=1e-10)


def test_learns_and_cost_decreases(data, vbackend):
    X, y = data
    model = xpnet.LogisticRegression(learning_rate=0.5, iterations=1000, backend=vbackend)
    model.fit(X, y)
    assert model.cost_[0] == pytest.approx(np.log(2))
    assert np.all(np.diff(model.cost_) <= 1e-12)
    assert model.score(X, y) >= 0.95
    assert model.predict_proba(X).shape == (40, 2)


def test_rejects_three_classes(rng):
    with pytest.raises(ValueError, match="2"):
        xpnet.LogisticRegression().fit(rng.standard_normal((6, 2)), [0, 1, 2, 0, 1, 2])
