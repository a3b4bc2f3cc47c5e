"""Every registered activation takes what a learner types, on every backend: Python numbers,
0-d, 1-d, 2-d and integer or boolean arrays, and returns floats of the input's shape (a Python
float for a Python number), finite at z = +-1000."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xpnet.backends import available_backends, resolve
from xpnet.ops import ACTIVATIONS

INPUTS = {"python float": 0.5, "python int": 2, "0-d float": np.array(0.5),
          "0-d int": np.array(3), "list of ints": [1, 2, 3], "1-d int": np.array([1, -2, 3]),
          "2-d int": [[1, -2], [3, 4]], "bool": np.array([True, False]),
          "numpy float32 scalar": np.float32(0.5), "extremes": [-1000.0, 1000.0]}


def _host(bk, out):
    return out if isinstance(out, float) else np.asarray(resolve(bk).to_numpy(out))


def _reference(name, z):
    """The activation on the same values as a float64 2-D column batch (the network's path)."""
    Z = np.asarray(z, dtype=np.float64).reshape(-1, 1)
    return np.asarray(resolve("numpy").to_numpy(ACTIVATIONS[name](Z, backend="numpy")))


@pytest.mark.parametrize("backend", available_backends())
@pytest.mark.parametrize("name", list(ACTIVATIONS))
@pytest.mark.parametrize("kind", list(INPUTS))
def test_an_activation_takes_any_numeric_input(backend, name, kind):
    z = INPUTS[kind]
    out = ACTIVATIONS[name](z, backend=backend)
    if isinstance(z, (int, float)) and not isinstance(z, bool):
        assert type(out) is float
    got = _host(backend, out)
    assert np.shape(got) == np.shape(z)
    assert np.asarray(got).dtype.kind == "f"
    assert np.all(np.isfinite(got))
    if not ACTIVATIONS[name].columnwise:   # softmax couples a column's rows
        np.testing.assert_allclose(np.ravel(got), _reference(name, z).ravel(), rtol=1.3e-6)


@pytest.mark.parametrize("backend", available_backends())
def test_sigmoid_of_python_numbers_and_integer_lists(backend):
    sigmoid = ACTIVATIONS["sigmoid"]
    assert math.isclose(sigmoid(0.5, backend=backend), 0.6224593312018546, rel_tol=1e-12)
    got = _host(backend, sigmoid([1, 2, 3], backend=backend))
    np.testing.assert_allclose(got, [0.7310585786300049, 0.8807970779778823,
                                     0.9525741268224334], rtol=1e-12)   # not [0, 0, 0]
    assert sigmoid(-1000.0, backend=backend) == 0.0 and sigmoid(1000.0, backend=backend) == 1.0


@pytest.mark.parametrize("backend", available_backends())
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_derivative_takes_scalars_too(backend, name):
    act = ACTIVATIONS[name]
    d = act.derivative(1.0, 0.3, backend=backend)
    assert type(d) is float
    z = np.array([0.3])
    expected = _host(backend, act.derivative(np.ones(1), z, backend=backend))
    assert math.isclose(d, float(np.ravel(expected)[0]), rel_tol=1e-12)


def test_bad_inputs_say_what_was_wrong():
    with pytest.raises(TypeError, match="number or an array of numbers"):
        ACTIVATIONS["sigmoid"]("a")
    with pytest.raises(ValueError, match="give arrays of one shape"):
        ACTIVATIONS["relu"].derivative([1.0, 2.0], [1.0, 2.0, 3.0])
