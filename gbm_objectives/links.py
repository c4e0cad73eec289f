"""Link functions: map the response scale to the booster's raw margin and back."""

from __future__ import annotations

import numpy as np

from .kernels._common import MAX_EXP_ARG


class Link:
    """A link ``g``: ``margin = g(mean)`` and ``mean = g^-1(margin)``."""

    name: str = ""

    def link(self, mean: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def inverse(self, margin: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self).__name__)


class IdentityLink(Link):
    name = "identity"

    def link(self, mean: np.ndarray) -> np.ndarray:
        return np.asarray(mean, dtype=np.float64).copy()

    def inverse(self, margin: np.ndarray) -> np.ndarray:
        return np.asarray(margin, dtype=np.float64).copy()


class LogLink(Link):
    name = "log"

    def link(self, mean: np.ndarray) -> np.ndarray:
        return np.log(np.asarray(mean, dtype=np.float64))

    def inverse(self, margin: np.ndarray) -> np.ndarray:
        return np.exp(np.clip(np.asarray(margin, dtype=np.float64), -MAX_EXP_ARG, MAX_EXP_ARG))


class LogitLink(Link):
    name = "logit"

    def link(self, mean: np.ndarray) -> np.ndarray:
        p = np.asarray(mean, dtype=np.float64)
        return np.log(p) - np.log1p(-p)

    def inverse(self, margin: np.ndarray) -> np.ndarray:
        m = np.asarray(margin, dtype=np.float64)
        # exp(-logaddexp(0, -m)) is sigmoid without overflow for either sign.
        return np.exp(-np.logaddexp(0.0, -m))


class SoftmaxLink(Link):
    """Multiclass link: rows of class probabilities <-> rows of logits."""

    name = "softmax"

    def link(self, mean: np.ndarray) -> np.ndarray:
        return np.log(np.asarray(mean, dtype=np.float64))

    def inverse(self, margin: np.ndarray) -> np.ndarray:
        m = np.asarray(margin, dtype=np.float64)
        shifted = m - m.max(axis=-1, keepdims=True)
        e = np.exp(shifted)
        return e / e.sum(axis=-1, keepdims=True)
