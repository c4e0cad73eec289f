"""Vectorisable ``exp``, ``log`` and ``log1p`` for the kernels.

Numba lowers ``math.exp``/``math.log`` to scalar libm calls, which keep LLVM
from vectorising a loop (without Intel's SVML each call costs ~4 ns). These
versions use only arithmetic, comparisons and bit casts, so a loop that calls
them compiles to SIMD code. They follow fdlibm's algorithms (Cody-Waite range
reduction, the same polynomial degree/coefficients or a Taylor polynomial of
sufficient degree) and agree with libm to a few units in the last place of
float64 over the whole double range, including subnormal results, underflow
to 0, overflow to ``inf``, ``log(0) = -inf`` and ``log(inf) = inf``. Inputs
are assumed not to be NaN (the kernels only see finite data).
"""

from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from ._common import INLINE

_LOG2E = 1.4426950408889634
# ln 2 split so that n * _LN2_HI is exact for |n| < 2**11 (fdlibm's constants).
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_SQRT2 = 1.4142135623730951
_EXP_LO = -746.0  # exp(x) rounds to 0 below about -745.13
_EXP_HI = 710.0  # and overflows above about 709.78
_TWO54 = 18014398509481984.0
_SMALLEST_NORMAL = 2.2250738585072014e-308
_INF = float("inf")
_ROUND_MAGIC = 6755399441055744.0  # 1.5 * 2**52
_ROUND_MAGIC_BITS = 0x4338000000000000

# fdlibm e_log.c minimax coefficients of R(z) ~ log((1+s)/(1-s)) - 2s, z = s^2.
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01


@intrinsic
def _f64_from_bits(typingctx, bits):
    """Reinterpret the 64 bits of an int64 as a float64 (a free SIMD op)."""
    if bits != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def _bits_from_f64(typingctx, x):
    """Reinterpret the 64 bits of a float64 as an int64."""
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@njit(**INLINE)
def _pow2(n):
    """2.0 ** n for integer n in [-1022, 1023], built from the exponent bits."""
    return _f64_from_bits((n + 1023) << 52)


@njit(**INLINE)
def _round_scaled(x):
    """``n = round(x / ln 2)`` as float64 and as int64, for ``|x| < 2**50``.

    Adding 1.5 * 2**52 rounds to the nearest integer (ties to even, as
    ``round``) and leaves that integer in the low bits of the sum, so neither
    a rounding instruction nor two int/float conversions are needed.
    """
    t = x * _LOG2E + _ROUND_MAGIC
    return t - _ROUND_MAGIC, _bits_from_f64(t) - _ROUND_MAGIC_BITS


@njit(**INLINE)
def fast_exp(x):
    """``exp(x)`` for float64 ``x``, within ~2 ulp of libm, vectorisable."""
    x = min(max(x, _EXP_LO), _EXP_HI)
    fn, n = _round_scaled(x)
    # Cody-Waite: r = x - n ln2 with |r| <= ln2 / 2, computed in two exact-ish steps.
    r = (x - fn * _LN2_HI) - fn * _LN2_LO
    # Taylor polynomial of degree 12: truncation error < 2e-16 relative on |r| <= 0.347.
    p = 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    # Split 2^n into two in-range factors so that subnormal results, underflow
    # to zero (n down to -1077) and overflow to inf (n = 1024) all come out right.
    half = n >> 1
    return p * _pow2(half) * _pow2(n - half)


@njit(**INLINE)
def fast_log(x):
    """``log(x)`` for float64 ``x >= 0`` (fdlibm's algorithm, < 1 ulp), vectorisable.

    ``log(0) = -inf``, ``log(inf) = inf``; negative ``x`` gives NaN.
    """
    tiny = x < _SMALLEST_NORMAL
    xs = x * _TWO54 if tiny else x
    bits = _bits_from_f64(xs)
    k = (bits >> 52) - (1023 + 54 if tiny else 1023)
    # Mantissa in [1, 2), then folded into [sqrt(2)/2, sqrt(2)).
    m = _f64_from_bits((bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)
    big = m > _SQRT2
    m = 0.5 * m if big else m
    k = k + 1 if big else k
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    r = z * (_LG1 + z * (_LG2 + z * (_LG3 + z * (_LG4 + z * (_LG5 + z * (_LG6 + z * _LG7))))))
    hfsq = 0.5 * f * f
    dk = float(k)
    out = dk * _LN2_HI - ((hfsq - (s * (hfsq + r) + dk * _LN2_LO)) - f)
    if x == 0.0:
        out = -_INF
    if x == _INF:
        out = _INF
    if x < 0.0:
        out = (x - x) / (x - x)  # NaN, as libm
    return out


@njit(**INLINE)
def fast_log1p(x):
    """``log(1 + x)`` for float64 ``x > -1``, accurate for tiny ``x``, vectorisable."""
    u = 1.0 + x
    # log(u) is exact for u, not for 1 + x; the first-order term corrects the
    # rounding of 1 + x (the classic Goldberg trick).
    out = fast_log(u) - ((u - 1.0) - x) / u
    return x if u == 1.0 else out


@njit(**INLINE)
def fast_softplus(x):
    """``log(1 + exp(x))`` without overflow or cancellation, vectorisable."""
    return max(x, 0.0) + fast_log1p(fast_exp(-abs(x)))


@njit(**INLINE)
def fast_exp_nonpositive(x):
    """``exp(x)`` for ``x <= 0`` to ~3e-13 relative (degree-10 Taylor polynomial),
    for results that are rounded to float32 anyway; ``x < -708`` gives
    ``exp(-708)`` (~3e-308) instead of a subnormal. About 15% cheaper than
    :func:`fast_exp`."""
    x = max(x, -708.0)
    fn, n = _round_scaled(x)
    r = (x - fn * _LN2_HI) - fn * _LN2_LO
    p = 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return p * _pow2(n)


@njit(**INLINE)
def fast_sigmoid_pair(x):
    """``(sigmoid(x), sigmoid(-x))`` from one ``exp``, both to ~3e-13 relative
    precision (for float32 outputs); the smaller one is at least ~3e-308."""
    e = fast_exp_nonpositive(-abs(x))
    d = 1.0 / (1.0 + e)
    ed = e * d
    if x >= 0.0:
        return d, ed
    return ed, d
