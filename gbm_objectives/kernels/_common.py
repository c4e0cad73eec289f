"""Scalar helpers shared by the kernels: the JIT options, float64 promotion,
clamping into float32 and ``xlogy``."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Largest finite float32; gradients are clamped into [-FLOAT32_MAX, FLOAT32_MAX].
FLOAT32_MAX = 3.4028234663852886e38
#: Smallest Hessian handed to a booster (XGBoost's own floor for logistic).
HESS_FLOOR = 1e-16
#: Margins are clipped here before ``exp`` so float64 never overflows.
MAX_EXP_ARG = 700.0

# ``error_model="numpy"`` drops the zero-division checks and ``contract`` lets LLVM
# fuse multiply-adds; both are needed for the loops to compile to SIMD code.
JIT = dict(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
INLINE = dict(cache=True, nogil=True, error_model="numpy", fastmath={"contract"}, inline="always")


@njit(**INLINE)
def f64(x):
    """``x`` as float64. Numba's ``float(x)`` keeps a float32 a float32, so
    arithmetic on float32 margins or labels (as XGBoost passes them) would
    silently run in single precision."""
    return np.float64(x)


@njit(**INLINE)
def clamp_grad(x):
    return min(max(x, -FLOAT32_MAX), FLOAT32_MAX)


@njit(**INLINE)
def clamp_hess(x):
    return min(max(x, HESS_FLOOR), FLOAT32_MAX)


@njit(**INLINE)
def xlogy(x, y):
    """x * log(y) with the convention 0 * log(0) = 0."""
    if x == 0.0:
        return 0.0
    return x * math.log(y)


@njit(**JIT)
def ordered_sum(values):
    """The sum of a 1-D float64 array, term by term in index order.

    NumPy's ``sum`` splits a reduction into SIMD lanes whose split depends on
    the buffer's address, so equal arrays in different buffers can sum
    differently in the last bit; this loop (no ``reassoc``) cannot, so a
    result computed in another process or after a copy is bit-identical.
    """
    total = 0.0
    for i in range(values.shape[0]):
        total += values[i]
    return total
