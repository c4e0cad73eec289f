"""LightGBM adapter under reuse patterns and awkward data: continued training,
tiny or constant data, NaN labels in every data set the callables see."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from gbm_objectives import get_loss
from gbm_objectives import lightgbm as glgb

PARAMS = dict(verbose=-1, num_threads=1, deterministic=True, force_col_wise=True, num_leaves=7)


@pytest.fixture(scope="module")
def counts():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(600, 4))
    y = rng.poisson(np.exp(1.0 + 0.5 * X[:, 0])).astype(float)
    return X, y


# ---------------------------------------------------------------------------
# init_model continuation
# ---------------------------------------------------------------------------


def test_continued_model_loss_equals_last_logged_loss(counts):
    X, y = counts
    loss = get_loss("poisson")
    first = glgb.train(loss, PARAMS, lgb.Dataset(X, y, free_raw_data=False), 15)
    ds = lgb.Dataset(X, y, free_raw_data=False)
    log: dict = {}
    cont = glgb.train(
        loss, PARAMS, ds, 10, init_model=first, valid_sets=[ds], valid_names=["train"],
        callbacks=[lgb.record_evaluation(log)],
    )
    assert cont.current_iteration() == 25
    margin = glgb.predict(cont, X, output="margin")
    assert loss.loss(y, margin) == pytest.approx(log["train"][loss.name][-1], rel=1e-6)
    # The first iteration of the continued model is the first model's, start included.
    np.testing.assert_allclose(
        glgb.predict(cont, X, output="margin", num_iteration=15), glgb.predict(first, X, output="margin"), rtol=1e-12
    )


def test_init_score_with_init_model_is_refused(counts):
    X, y = counts
    loss = get_loss("poisson")
    first = glgb.train(loss, PARAMS, lgb.Dataset(X, y, free_raw_data=False), 5)
    with pytest.raises(ValueError, match="init_score= cannot be combined with init_model="):
        glgb.train(loss, PARAMS, lgb.Dataset(X, y), 5, init_model=first, init_score=loss.init_score(y))
