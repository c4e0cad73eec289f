"""Numba kernels: gradient, Hessian and loss sums with respect to the raw margin.

Kernels take validated arrays only and write into preallocated float32
outputs; all checking happens at the boundary (:mod:`gbm_objectives.losses`).
One module per family, mirrored by :mod:`gbm_objectives.losses`.

The kernel template
-------------------
Every loss has a point function and two loops over rows::

    @njit(**INLINE)
    def _<loss>_point(r, param):             # scalar maths only, float64 in and out
        ...
        return g, h

    @njit(**JIT)
    def <loss>_grad_hess(y, margin, weight, param, grad, hess):
        ...                                  # writes grad[i], hess[i]; returns nothing

    @njit(**JIT)
    def <loss>_loss_sum(y, margin, weight, param):
        ...                                  # returns the weighted sum (float64)

(``expectile_grad_hess`` / ``expectile_loss_sum`` in ``regression.py`` are a
short real example.)

* Names: ``<loss>_grad_hess`` and ``<loss>_loss_sum``; helpers start with ``_``.
* Arguments, in this order: ``y, margin, weight`` (then ``offsets`` for
  grouped losses), the loss's parameters as scalars, then the outputs
  ``grad, hess``. ``weight`` is an empty array when unweighted: branch on
  ``weight.shape[0] > 0`` once, outside the loop, so each loop vectorises.
* Read every input through :func:`~._common.f64` (XGBoost passes float32
  margins and labels; Numba would otherwise compute in single precision).
* Write ``clamp_grad(g)`` and ``clamp_hess(h)``: float32 outputs never
  overflow and the Hessian is never below ``HESS_FLOOR``. Multiply by the
  weight last, so a zero weight never meets an infinity.
* Decorators: ``JIT`` for loops (cached, ``nogil``, ``error_model="numpy"``,
  contracted multiply-adds), ``INLINE`` for point functions; never
  ``fastmath=True`` (it breaks the finite-input guarantees). Hot
  ``exp``/``log`` calls use :mod:`._fastmath`, which vectorises.
* Multi-output losses take ``margin`` of shape (n, k) and write ``grad``,
  ``hess`` of the same shape.
"""
