"""Kernels: ``loops`` (pure-Python for-loop baselines), ``cpu`` (Numba), ``gpu`` (CuPy).

``cpu`` and ``gpu`` import their optional dependency at module import, so import them only
through their backends.
"""
