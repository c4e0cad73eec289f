"""Numba kernels: gradient, Hessian and loss sums with respect to the raw margin.

Kernels take validated arrays only and write into preallocated float32 outputs;
all checking happens in :mod:`gbm_objectives.losses`.
"""
