"""The declarative loss contract: every registered loss states its facts as
data that validation, test data and the adapters read."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest

from gbm_objectives import available_losses, get_loss
from gbm_objectives.ablation import levels_of
from gbm_objectives.domains import ClassLabels, Domain, Interval, RealLine
from gbm_objectives.losses import LeafRefit, Loss, get_loss_class
from gbm_objectives.testing import example_labels, example_margins


def build(name: str) -> Loss:
    required = [p.name for p in inspect.signature(get_loss_class(name).__init__).parameters.values()
                if p.name != "self" and p.default is inspect.Parameter.empty]
    return get_loss(name, **{p: 3 for p in required})


LOSSES = available_losses()


@pytest.mark.parametrize("name", LOSSES)
def test_example_labels_are_valid_and_domain_samples_pass_the_check(name, rng):
    loss = build(name)
    y, group = example_labels(loss, rng, 60, signal=rng.normal(size=60))
    margin = example_margins(loss, rng, y.shape[0])
    grad, hess = loss.grad_hess(y, margin, group=group)
    assert np.all(np.isfinite(grad)) and np.all(hess > 0)
    sample = loss.label_domain.sample(rng, 200)
    loss.label_domain.check(sample, name)
    assert loss.label_domain.contains(sample).all()


@pytest.mark.parametrize("name", LOSSES)
def test_facts_have_their_declared_types(name):
    loss = build(name)
    assert loss.task in ("regression", "binary", "multiclass", "ranking")
    assert isinstance(loss.label_domain, Domain)
    assert len(loss.output_names) == len(loss.output_links) == loss.n_outputs
    for booster in ("xgboost", "lightgbm"):
        builtin = loss.builtin_objective(booster)
        assert builtin is None or isinstance(builtin.get("objective"), str)
    with pytest.raises(ValueError, match="booster"):
        loss.builtin_objective("catboost")
    power = loss.variance_power
    assert power is None or 1.0 <= power <= 2.0
    refit = loss.leaf_refit
    if refit is not None:
        assert isinstance(refit, LeafRefit) and 0.0 < refit.quantile < 1.0
        assert refit.surrogate.leaf_refit is None and refit.surrogate.name == loss.name
    # A level statistic belongs to exactly the losses whose outputs are levels of alphas.
    assert loss.level_statistic in (None, "quantile", "expectile")
    assert (loss.level_statistic is not None) == (levels_of(loss) is not None)


@pytest.mark.parametrize("name", LOSSES)
def test_parameters_come_from_the_constructor(name):
    loss = build(name)
    assert type(loss)(**loss.get_params()) == loss
    assert type(loss)(**{**loss.get_params(), **loss.params}) == loss
    assert repr(loss) == f"{type(loss).__name__}({', '.join(f'{k}={v!r}' for k, v in loss.params.items())})"
    assert set(loss.params) <= set(loss.get_params())


def test_labels_outside_a_domain_name_the_loss_and_the_domain():
    with pytest.raises(ValueError, match=r"tweedie needs labels y >= 0; found min\(y\) = -1"):
        get_loss("tweedie").check_labels([1.0, -1.0])
    with pytest.raises(ValueError, match=r"gamma needs labels y > 0; found min\(y\) = 0"):
        get_loss("gamma").check_labels([1.0, 0.0])
    with pytest.raises(ValueError, match=r"logistic needs labels in \[0, 1\]; found labels in \[0, 2\]"):
        get_loss("logistic").check_labels([0.0, 2.0])
    with pytest.raises(ValueError, match=r"num_class=3 needs labels in \[0, 3\)"):
        get_loss("softmax", num_class=3).check_labels([0.0, 3.0])


def test_domains_describe_check_and_sample(rng):
    half_open = Interval(0.0, low_inclusive=False)
    assert str(half_open) == "y > 0" and str(Interval(0.0)) == "y >= 0" and str(Interval(0, 1)) == "y in [0, 1]"
    assert str(ClassLabels(4)) == "integer class labels in [0, 4)" and str(RealLine()) == "finite real numbers"
    assert half_open.contains(np.array([0.0, 1.0])).tolist() == [False, True]
    assert ClassLabels(3).contains(np.array([0.0, 1.5, 2.0, 3.0])).tolist() == [True, False, True, False]
    with pytest.raises(ValueError, match="integer class labels"):
        ClassLabels(3).check(np.array([0.0, 1.5]), "softmax")
    with pytest.raises(ValueError, match="low < high"):
        Interval(1.0, 1.0)
    sample = Interval(0.0, 1.0).sample(rng, 500)
    assert {0.0, 1.0} <= set(sample.tolist()) and ((sample > 0) & (sample < 1)).any()


@pytest.mark.parametrize("loss", [
    get_loss("quantile", alpha=0.8, curvature="mm"),
    get_loss("absolute_error", curvature="mm"),
    get_loss("multi_quantile", alphas=(0.05, 0.5, 0.95), curvature="mm"),
    get_loss("multi_quantile", alphas=(0.05, 0.5, 0.95), curvature="mm", coupling="chain", transform="softplus"),
    get_loss("multi_quantile", alphas=(0.1, 0.9), curvature="scaled"),
], ids=repr)
def test_global_sums_reproduce_a_single_machine_call(loss, rng):
    y, _ = example_labels(loss, rng, 400)
    margin = example_margins(loss, rng, 400)
    w = rng.uniform(0.5, 2.0, 400)
    whole = loss.global_sums(y, margin, w)
    # three uneven workers, as a distributed training splits rows
    cuts = [0, 90, 250, 400]
    parts = [loss.global_sums(y[a:b], margin[a:b], w[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
    np.testing.assert_allclose(np.sum(parts, axis=0), whole, rtol=1e-12)
    ref = [np.empty(margin.shape, np.float32) for _ in range(2)]
    loss.grad_hess_into(y, margin, w, *ref)
    for a, b in zip(cuts[:-1], cuts[1:]):
        part = [np.empty(margin[a:b].shape, np.float32) for _ in range(2)]
        loss.grad_hess_into(y[a:b], margin[a:b], w[a:b], *part, sums=whole)
        np.testing.assert_allclose(part[0], ref[0][a:b], rtol=1e-6)
        np.testing.assert_allclose(part[1], ref[1][a:b], rtol=1e-6)
        # without the global sums a worker's own rows give other gradients
        own = [np.empty(margin[a:b].shape, np.float32) for _ in range(2)]
        loss.grad_hess_into(y[a:b], margin[a:b], w[a:b], *own)
        assert not (np.allclose(own[0], ref[0][a:b], rtol=1e-6) and np.allclose(own[1], ref[1][a:b], rtol=1e-6))


def test_losses_without_global_sums_return_none():
    assert get_loss("quantile").global_sums(np.ones(3), np.zeros(3), np.empty(0)) is None


def test_links_carry_their_host_objectives_and_clip_responses():
    for name in LOSSES:
        link = build(name).link
        assert link.xgboost_objective and link.lightgbm_objective
    logit = get_loss("logistic").link
    assert np.all(np.isfinite(logit.response_to_margin(np.array([0.0, 0.5, 1.0]))))
    assert np.isfinite(get_loss("poisson").link.response_to_margin(np.array([0.0]))).all()


def test_example_data_rejects_bad_arguments(rng):
    with pytest.raises(ValueError, match="n must be a positive integer"):
        example_labels("tweedie", rng, 0)
    with pytest.raises(ValueError, match="signal must be 5 finite values"):
        example_labels("tweedie", rng, 5, signal=np.ones(4))


def test_every_loss_class_is_exported_and_listed_in_the_readme():
    import gbm_objectives
    from gbm_objectives import losses

    readme = (Path(gbm_objectives.__file__).resolve().parents[1] / "README.md").read_text()
    for name in LOSSES:
        cls = get_loss_class(name)
        assert getattr(losses, cls.__name__, None) is cls and cls.__name__ in losses.__all__, (
            f"export {cls.__name__} from gbm_objectives/losses/__init__.py (import and __all__)"
        )
        assert getattr(gbm_objectives, cls.__name__, None) is cls and cls.__name__ in gbm_objectives.__all__, (
            f"export {cls.__name__} from gbm_objectives/__init__.py (import and __all__)"
        )
        assert f"| `{name}` |" in readme, (
            f"add a row for `{name}` (parameters with defaults, link) to the loss table at the top of README.md"
        )
