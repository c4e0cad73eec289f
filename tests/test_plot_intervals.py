"""plot_interval_ablation: the plot of the interval panel, checked against the table it draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("lightgbm")
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402

from gbm_objectives.ablation import ablate_losses  # noqa: E402
from gbm_objectives.plotting import plot_interval_ablation  # noqa: E402

MQ = "multi_quantile(alphas=(0.1, 0.5, 0.9))"
ME = "multi_expectile(alphas=(0.1, 0.5, 0.9))"
FAST = {"backend": "lightgbm", "cv": 2, "num_boost_round": 5, "params": {"num_threads": 1}, "progress": False}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(240, 3))
    y = X[:, 0] + rng.normal(size=240) * (1.0 + np.abs(X[:, 1]))
    return X, y


@pytest.fixture(scope="module")
def panel(data):
    X, y = data
    return ablate_losses(X, y, [MQ, ME], **FAST)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _points(ax) -> np.ndarray:
    (scatter,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    return np.asarray(scatter.get_offsets(), dtype=np.float64)


def _bars(ax) -> np.ndarray:
    """(value, row position) of each bar, in drawing order."""
    return np.array([[p.get_width(), p.get_y() + p.get_height() / 2.0] for p in ax.patches])


def _suptitle(fig) -> str:
    """The figure title (``Figure.get_suptitle`` is new in matplotlib 3.8; the title is one of its texts)."""
    (text,) = fig.texts
    return text.get_text()


def _nominal_lines(ax) -> list[float]:
    return [float(line.get_xdata()[0]) for line in ax.get_lines() if line.get_linestyle() == "--"]


def test_every_row_of_the_table_is_a_point_and_two_bars(panel):
    n = len(panel)
    assert n == 6  # two level sets, separate quantiles / expectiles, constant quantiles / expectiles
    axes = plot_interval_ablation(panel)
    assert axes.shape == (3,)
    rows = np.arange(n)[::-1]  # best (first) row on top
    np.testing.assert_allclose(_points(axes[0]), np.column_stack([panel["coverage"], rows]))
    for ax, column in ((axes[1], "mean_width"), (axes[2], panel.attrs["metric"])):
        np.testing.assert_allclose(_bars(ax), np.column_stack([panel[column], rows]))
    assert [t.get_text() for t in axes[0].get_yticklabels()] == list(panel["config"])
    for ax in axes:  # one shared row axis
        assert ax.get_yticks().tolist() == rows.tolist()
    # The nominal coverage of the quantile levels: 0.9 - 0.1.
    assert _nominal_lines(axes[0]) == [pytest.approx(0.8)]
    assert "nominal 80%" in axes[0].get_xlabel() and "2-fold CV" in axes[0].get_xlabel()
    assert axes[2].get_xlabel().startswith("interval score (80%)")
    assert "levels 0.1, 0.5, 0.9 [lightgbm]" in _suptitle(axes[0].figure)


def test_error_bars_are_the_fold_standard_deviations(panel):
    axes = plot_interval_ablation(panel)
    (bars,) = [c for c in axes[0].collections if isinstance(c, LineCollection)]
    spans = np.array([[seg[:, 0].min(), seg[:, 0].max()] for seg in bars.get_segments()])
    sd = panel["coverage_std"].to_numpy()
    np.testing.assert_allclose(spans, np.column_stack([panel["coverage"] - sd, panel["coverage"] + sd]))
    for ax, column in ((axes[1], "mean_width"), (axes[2], "interval_score")):
        (err,) = [c for c in ax.collections if isinstance(c, LineCollection)]
        widths = np.array([seg[:, 0].max() - seg[:, 0].min() for seg in err.get_segments()])
        np.testing.assert_allclose(widths, 2.0 * panel[f"{column}_std"].to_numpy())


def test_metric_picks_the_right_panel(panel):
    axes = plot_interval_ablation(panel, "pinball_0.9")
    np.testing.assert_allclose(_bars(axes[2])[:, 0], panel["pinball_0.9"])
    assert axes[2].get_xlabel().startswith("pinball_0.9")


def test_expectile_sets_alone_have_no_nominal_coverage(data):
    X, y = data
    expectiles = ablate_losses(X, y, [ME], **FAST)
    assert expectiles.attrs["metric"] == "expectile"
    axes = plot_interval_ablation(expectiles)
    assert _nominal_lines(axes[0]) == []
    assert "nominal" not in axes[0].get_xlabel()
    np.testing.assert_allclose(_bars(axes[2])[:, 0], expectiles["expectile"])
    assert len(axes[0].collections[-1].get_offsets()) == len(expectiles) == 3


def test_a_table_read_back_from_csv(panel, tmp_path):
    path = tmp_path / "ablation.intervals.csv"
    panel.to_csv(path, index=False)
    table = pd.read_csv(path)
    assert not table.attrs
    axes = plot_interval_ablation(table)  # no attrs: ranked column interval_score, no nominal line unless given
    np.testing.assert_allclose(_bars(axes[2])[:, 0], panel["interval_score"])
    assert _nominal_lines(axes[0]) == []
    axes = plot_interval_ablation(table, coverage=0.8, title="read back")
    assert _nominal_lines(axes[0]) == [pytest.approx(0.8)]
    assert _suptitle(axes[0].figure) == "read back"
    axes[0].figure.savefig(tmp_path / "plot.png")
    assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_draws_into_given_axes(panel):
    fig, given = plt.subplots(1, 3)
    axes = plot_interval_ablation(panel, axes=list(given))
    assert list(axes) == list(given)
    assert len(given[1].patches) == len(panel)
    assert given[2].get_legend() is not None and fig.legends == []


def test_refuses_a_table_that_is_not_an_interval_panel(data, panel):
    X, y = data
    points = ablate_losses(X, y, ["squared_error"], **FAST)
    with pytest.raises(ValueError, match="task 'regression'.*plot_ablation"):
        plot_interval_ablation(points)
    points.attrs = {}
    with pytest.raises(ValueError, match="no column 'coverage', 'mean_width'.*plot_ablation"):
        plot_interval_ablation(points)
    with pytest.raises(ValueError, match="no column 'mean_width'"):
        plot_interval_ablation(panel.drop(columns="mean_width"))
    with pytest.raises(ValueError, match="no column 'pinball'"):
        plot_interval_ablation(panel.drop(columns="pinball"), "pinball")
    with pytest.raises(ValueError, match=r"a DataFrame\), got dict"):
        plot_interval_ablation(panel.to_dict())
    with pytest.raises(ValueError, match="no rows"):
        plot_interval_ablation(panel.iloc[:0])
    with pytest.raises(ValueError, match="'coverage' of the interval table is not numeric"):
        plot_interval_ablation(panel.assign(coverage=panel["coverage"].map("{:.0%}".format)))


def test_refuses_bad_arguments(panel):
    with pytest.raises(ValueError, match="metric must be one of interval_score.*got 'mae'"):
        plot_interval_ablation(panel, "mae")
    for bad in (0.0, 1.0, 1.5, True, "90%"):
        with pytest.raises(ValueError, match="coverage must be a number in \\(0, 1\\)"):
            plot_interval_ablation(panel, coverage=bad)
    _, two = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="axes must be 3 matplotlib Axes"):
        plot_interval_ablation(panel, axes=list(two))


def test_the_coverage_axis_is_zoomed_to_the_points_and_the_nominal_line():
    """Coverages of 85% and 90% must be told apart: the axis spans the points, their SD and the nominal
    coverage, not 0-100%."""
    table = pd.DataFrame({"config": ["a", "b", "c"], "kind": ["model", "reference", "baseline"],
                          "coverage": [0.85, 0.87, 0.80], "coverage_std": [0.01, 0.02, 0.0],
                          "mean_width": [1.0, 1.2, 2.0], "interval_score": [2.0, 2.1, 3.0]})
    axes = plot_interval_ablation(table, coverage=0.9)
    low, high = axes[0].get_xlim()
    assert 0.7 < low <= 0.80 and 0.90 <= high < 1.0
    assert high - low < 0.25
    plt.close("all")
