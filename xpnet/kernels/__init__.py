"""Kernels: ``loops`` (pure-Python for-loop baselines), ``cpu`` (Numba), ``gpu`` (CuPy).

``cpu`` imports numba at module import, so import it only through its backend; ``gpu`` takes the
``cupy`` module as an argument and imports nothing optional.
"""
