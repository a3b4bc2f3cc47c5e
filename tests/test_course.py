"""The course companion (``xpnet.course``): each step against the numbers the course's own
notebooks print for their test cases (drawn with the global ``np.random.seed`` as the graders
do), on every backend, and each gradient against central differences."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet
import xpnet.course as C
from xpnet.backends import available_backends, resolve

BACKENDS = available_backends()


def host(x):
    return np.asarray(x if isinstance(x, (float, int)) else resolve(None).to_numpy(x)
                      if not hasattr(x, "get") else x.get())


def close(actual, expected, rtol=1e-7):
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=rtol,
                               atol=1e-8)


@pytest.fixture(params=BACKENDS)
def bk(request):
    return request.param


def _seeded(seed, *shapes):
    np.random.seed(seed)
    return [np.random.randn(*s) for s in shapes]


# ------------------------------------------------------------------- the graders' numbers
def test_initialize_parameters_deep_reproduces_the_assignment(bk):
    p = C.initialize_parameters_deep([5, 4, 3], seed=3, backend=bk)
    close(host(p["W1"])[0], [0.01788628, 0.0043651, 0.00096497, -0.01863493, -0.00277388],
          rtol=1e-6)
    close(host(p["W2"])[0], [-0.01185047, -0.0020565, 0.01486148, 0.00236716], rtol=1e-6)
    assert host(p["b1"]).shape == (4, 1) and not host(p["b2"]).any()


def test_the_seed_means_the_courses_np_random_seed():
    np.random.seed(7)
    expected = [np.random.randn(4, 3) * 10, np.random.randn(2, 4) * 10]
    state = np.random.get_state()[1].copy()
    p = C.initialize_parameters_deep([3, 4, 2], seed=7, init="large")
    np.testing.assert_array_equal(host(p["W1"]), expected[0])
    np.testing.assert_array_equal(host(p["W2"]), expected[1])
    np.testing.assert_array_equal(np.random.get_state()[1], state)   # global state untouched


def test_linear_and_activation_forward(bk):
    A, W, b = _seeded(1, (3, 2), (1, 3), (1, 1))
    Z, cache = C.linear_forward(A, W, b, backend=bk)
    close(host(Z), [[3.26295337, -1.23429987]])
    assert len(cache) == 3
    A, W, b = _seeded(2, (3, 2), (1, 3), (1, 1))
    close(host(C.linear_activation_forward(A, W, b, "sigmoid", backend=bk)[0]),
          [[0.96890023, 0.11013289]])
    out, cache = C.linear_activation_forward(A, W, b, "relu", backend=bk)
    close(host(out), [[3.43896131, 0.0]])
    assert len(cache) == 2 and len(cache[0]) == 3


def test_L_model_forward_and_cost(bk):
    X, W1, b1, W2, b2, W3, b3 = _seeded(6, (5, 4), (4, 5), (4, 1), (3, 4), (3, 1), (1, 3),
                                        (1, 1))
    AL, caches = C.L_model_forward(X, dict(W1=W1, b1=b1, W2=W2, b2=b2, W3=W3, b3=b3),
                                   backend=bk)
    close(host(AL), [[0.03921668, 0.70498921, 0.19734387, 0.04728177]])
    assert len(caches) == 3
    cost = C.compute_cost(np.array([[.8, .9, .4]]), np.asarray([[1, 1, 0]]), backend=bk)
    assert isinstance(cost, float)
    close(cost, 0.2797765635793422)


def test_linear_backward(bk):
    dZ, A, W, b = _seeded(1, (1, 2), (3, 2), (1, 3), (1, 1))
    dA_prev, dW, db = C.linear_backward(dZ, (A, W, b), backend=bk)
    close(host(dA_prev), [[0.51822968, -0.19517421], [-0.40506361, 0.15255393],
                          [2.37496825, -0.89445391]])
    close(host(dW), [[-0.10076895, 1.40685096, 1.64992505]])
    close(host(db), [[0.50629448]])


def test_L_model_backward_on_the_graders_case(bk):
    """The grader's ``AL`` is a random draw, not ``sigmoid(Z2)``: the course's ``dAL`` path."""
    np.random.seed(3)
    AL = np.random.randn(1, 2)
    Y = np.array([[1, 0]])
    A1, W1, b1, Z1 = (np.random.randn(*s) for s in ((4, 2), (3, 4), (3, 1), (3, 2)))
    A2, W2, b2, Z2 = (np.random.randn(*s) for s in ((3, 2), (1, 3), (1, 1), (1, 2)))
    grads = C.L_model_backward(AL, Y, [((A1, W1, b1), Z1), ((A2, W2, b2), Z2)], backend=bk)
    close(host(grads["dW1"]), [[0.41010002, 0.07807203, 0.13798444, 0.10502167],
                               [0, 0, 0, 0], [0.05283652, 0.01005865, 0.01777766, 0.0135308]])
    close(host(grads["db1"]), [[-0.22007063], [0], [-0.02835349]])
    close(host(grads["dA1"]), [[0.12913162, -0.44014127], [-0.14175655, 0.48317296],
                               [0.01663708, -0.05670698]])
    assert {"dA0", "dA1", "dW2", "db2", "dZ1", "dZ2"} <= set(grads)


def test_logistic_regression_steps(bk):
    w, b = np.array([[1.], [2.]]), 2.
    X, Y = np.array([[1., 2., -1.], [3., 4., -3.2]]), np.array([[1, 0, 1]])
    grads, cost = C.propagate(w, b, X, Y, backend=bk)
    close(host(grads["dw"]), [[0.99845601], [2.39507239]])
    close(grads["db"], 0.00145557813678)
    close(cost, 5.801545319394553, rtol=1e-12)
    params, grads, costs = C.optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009,
                                      backend=bk)
    close(host(params["w"]), [[0.19033591], [0.12259159]])
    close(params["b"], 1.92535983008)
    close(host(grads["dw"]), [[0.67752042], [1.41625495]])
    close(grads["db"], 0.219194504541)
    assert len(costs) == 1
    pred = C.predict_logistic(np.array([[0.1124579], [0.23106775]]), -0.3,
                              np.array([[1., -1.1, -3.2], [1.2, 2., 0.1]]), backend=bk)
    np.testing.assert_array_equal(pred, [[1., 1., 0.]])
    w0, b0 = C.initialize_with_zeros(2, backend=bk)
    assert host(w0).shape == (2, 1) and b0 == 0.0


def test_optimize_is_the_estimators_training():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    est = xpnet.LogisticRegression(learning_rate=0.1, iterations=250, dtype="float64",
                                   backend="numpy").fit(X, y)
    w, b = C.initialize_with_zeros(3, backend="numpy")
    params, _, costs = C.optimize(w, b, X.T, y.reshape(1, -1), 250, 0.1, backend="numpy")
    np.testing.assert_allclose(host(params["w"]), est.w_, rtol=1e-12)
    np.testing.assert_allclose(costs, est.cost_[::100], rtol=1e-12)
    d = C.model(X.T, y.reshape(1, -1), X.T, y.reshape(1, -1), 250, 0.1)
    np.testing.assert_array_equal(d["Y_prediction_test"], d["Y_prediction_train"])


def test_dropout_forward_reproduces_the_assignment(bk):
    X, W1, b1, W2, b2, W3, b3 = _seeded(1, (3, 5), (2, 3), (2, 1), (3, 2), (3, 1), (1, 3),
                                        (1, 1))
    A3, caches = C.L_model_forward(X, dict(W1=W1, b1=b1, W2=W2, b2=b2, W3=W3, b3=b3),
                                   keep_prob=0.7, seed=1, backend=bk)
    close(host(A3), [[0.36974721, 0.00305176, 0.04565099, 0.49683389, 0.36974721]])
    assert len(caches[0]) == 3 and len(caches[-1]) == 2     # the output layer never drops


# ---------------------------------------------------------------- gradients, numerically
def _net(seed=0, dims=(4, 5, 3, 1)):
    p = C.initialize_parameters_deep(list(dims), seed=seed, init="xavier")
    rs = np.random.RandomState(seed + 1)
    X = rs.randn(dims[0], 7)
    Y = (rs.rand(1, 7) < 0.5).astype(float)
    return p, X, Y


@pytest.mark.parametrize("hidden", ["relu", "tanh", "sigmoid", "leaky_relu"])
@pytest.mark.parametrize("lambd", [0.0, 0.7])
def test_L_model_backward_matches_central_differences(hidden, lambd):
    p, X, Y = _net()
    AL, caches = C.L_model_forward(X, p, hidden, backend="numpy")
    grads = C.L_model_backward(AL, Y, caches, hidden, lambd=lambd, backend="numpy")
    theta, _ = C.dictionary_to_vector(p)
    shapes = {k: v.shape for k, v in p.items()}

    def J(vec):
        q = C.vector_to_dictionary(vec, shapes)
        A, _ = C.L_model_forward(X, q, hidden, backend="numpy")
        return C.compute_cost_with_regularization(A, Y, q, lambd, backend="numpy")

    exact = np.concatenate([host(grads[f"d{k}"]).ravel() for k in shapes])
    assert C.gradient_check(J, theta.ravel(), exact) < 1e-7


def test_dropout_backward_matches_central_differences_with_frozen_masks():
    p, X, Y = _net(dims=(4, 6, 5, 1))
    AL, caches = C.L_model_forward(X, p, keep_prob=0.6, seed=3, backend="numpy")
    grads = C.L_model_backward(AL, Y, caches, backend="numpy")
    shapes = {k: v.shape for k, v in p.items()}

    def J(vec):   # the same seed draws the same masks
        A, _ = C.L_model_forward(X, C.vector_to_dictionary(vec, shapes), keep_prob=0.6,
                                 seed=3, backend="numpy")
        return C.compute_cost(A, Y, backend="numpy")

    exact = np.concatenate([host(grads[f"d{k}"]).ravel() for k in shapes])
    assert C.gradient_check(J, C.dictionary_to_vector(p)[0].ravel(), exact) < 1e-7
    assert np.any(host(grads["dA1"]) == 0)            # dropped units pass no gradient


def test_gradient_check_one_dimensional_as_the_notebook():
    x = 2
    diff = C.gradient_check(lambda t: t * x, 4, lambda t: x)
    close(diff, 2.919335883291695e-10, rtol=1e-6)
    assert C.gradient_check(lambda t: t * x, 4, lambda t: x + 1) > 0.1   # a wrong gradient
    diff, approx = C.gradient_check(lambda t: np.sum(t ** 3), np.array([1., 2.]),
                                    lambda t: 3 * t ** 2, return_approx=True)
    assert diff < 1e-8 and approx.shape == (2,)


def test_gradient_check_n_flags_a_wrong_gradient(capsys):
    p, X, Y = _net()
    AL, caches = C.L_model_forward(X, p)
    grads = C.L_model_backward(AL, Y, caches)
    assert C.gradient_check_n(p, grads, X, Y, print_msg=True) < 1e-7
    assert "works perfectly" in capsys.readouterr().out
    bad = dict(grads)
    bad["dW2"] = host(grads["dW2"]) * 2
    assert C.gradient_check_n(p, bad, X, Y) > 1e-3


def test_vector_and_dictionary_round_trip():
    p, _, _ = _net()
    theta, keys = C.dictionary_to_vector(p)
    assert theta.shape == (sum(v.size for v in p.values()), 1) and keys[0] == "W1"
    back = C.vector_to_dictionary(theta, {k: v.shape for k, v in p.items()})
    for k in p:
        np.testing.assert_array_equal(back[k], host(p[k]))
    with pytest.raises(ValueError, match="entries"):
        C.vector_to_dictionary(theta[1:], {k: v.shape for k, v in p.items()})


# ------------------------------------------------------------------------ optimization
def test_random_mini_batches_as_the_course(bk):
    rs = np.random.RandomState(1)
    X, Y = rs.randn(3, 148), (rs.rand(1, 148) < 0.5).astype(float)
    batches = C.random_mini_batches(X, Y, 64, seed=0, backend=bk)
    assert [b[0].shape for b in batches] == [(3, 64), (3, 64), (3, 20)]
    perm = np.random.RandomState(0).permutation(148)
    np.testing.assert_array_equal(host(batches[0][0]), X[:, perm[:64]])
    np.testing.assert_array_equal(host(batches[2][1]), Y[:, perm[128:]])


def _params_grads(seed=1):
    rs = np.random.RandomState(seed)
    p = {"W1": rs.randn(2, 3), "b1": rs.randn(2, 1), "W2": rs.randn(3, 3), "b2": rs.randn(3, 1)}
    g = {f"d{k}": rs.randn(*v.shape) for k, v in p.items()}
    return p, g


def test_momentum_and_adam_follow_the_formulas(bk):
    p, g = _params_grads()
    v = C.initialize_velocity(p, backend=bk)
    out, v = C.update_parameters_with_momentum(p, g, v, 0.9, 0.01, backend=bk)
    close(host(v["dW1"]), 0.1 * g["dW1"])
    close(host(out["W1"]), p["W1"] - 0.01 * 0.1 * g["dW1"])
    v, s = C.initialize_adam(p, backend=bk)
    for t in (1, 2):
        new, v, s, vc, sc = C.update_parameters_with_adam(p, g, v, s, t, 0.01, backend=bk)
    v_ref = 0.1 * g["db2"] * (1 + 0.9)
    s_ref = 0.001 * g["db2"] ** 2 * (1 + 0.999)
    close(host(v["db2"]), v_ref)
    close(host(s["db2"]), s_ref)
    close(host(vc["db2"]), v_ref / (1 - 0.9 ** 2))
    close(host(sc["db2"]), s_ref / (1 - 0.999 ** 2))
    close(host(new["b2"]), p["b2"] - 0.01 * (v_ref / (1 - 0.81)) /
          (np.sqrt(s_ref / (1 - 0.999 ** 2)) + 1e-8))
    close(host(C.update_parameters_with_gd(p, g, 0.5, backend=bk)["b1"]), p["b1"] - 0.5 * g["db1"])


def test_the_estimators_adam_exposes_its_corrected_moments():
    from xpnet.network.optimizers import make_optimizer
    from xpnet.network.params import FlatParams
    bk = resolve("numpy")
    theta = FlatParams(bk, [("W1", (2, 2))], "float64")
    grad = theta.zeros_like(prefix="d")
    grad.flat[...] = [1.0, -2.0, 0.5, 3.0]
    opt = make_optimizer("adam", beta1=0.9, beta2=0.99)
    opt.init(theta)
    opt.step(theta, grad, 0.1)
    fixed = opt.corrected()
    close(fixed["m"], grad.flat)                     # m_hat = g after one step
    close(fixed["v"], grad.flat ** 2)
    close(opt.state()["m"], 0.1 * grad.flat)


def test_learning_rate_decay_as_the_notebook():
    close(C.update_lr(0.5, 2, 1), 0.16666666666666666)
    close(C.schedule_lr_decay(0.5, 100, 1, time_interval=100), 0.25)
    close(C.schedule_lr_decay(0.5, 99, 1, time_interval=100), 0.5)
    from xpnet.network.schedules import make_schedule
    sched = make_schedule({"kind": "inverse_time", "decay_rate": 0.3, "time_interval": 10}, 1.0)
    assert [sched(e) for e in (0, 9, 10, 25)] == [1.0, 1.0, 1 / 1.3, 1 / 1.6]
    with pytest.raises(ValueError, match="time_interval"):
        C.schedule_lr_decay(0.5, 1, 1, time_interval=0)


# ------------------------------------------------------------------- xpnet's own names
def test_xpnet_forward_and_backward_take_the_plain_dict():
    p, X, Y = _net()
    arch = xpnet.Architecture((4, 5, 3, 1), "relu", "sigmoid")
    AL, caches = xpnet.forward(X, p, arch, backend="numpy")
    AL2, caches2 = C.L_model_forward(X, p, backend="numpy")
    np.testing.assert_allclose(host(AL), host(AL2), rtol=1e-12)
    grads = xpnet.backward(Y, caches, p, arch, backend="numpy")
    grads2 = C.L_model_backward(AL2, Y, caches2, backend="numpy")
    for k in ("dW1", "db1", "dW3"):
        np.testing.assert_allclose(host(grads[k]), host(grads2[k]), rtol=1e-9, atol=1e-15)
    new = xpnet.update_parameters(dict(p), grads, 0.1)
    np.testing.assert_allclose(new["W1"], host(p["W1"]) - 0.1 * host(grads["dW1"]))
    course = C.update_parameters(p, grads2, 0.1)
    np.testing.assert_allclose(host(course["W1"]), new["W1"], rtol=1e-9)


# ----------------------------------------------------------------------------- errors
def test_clear_errors():
    p, X, Y = _net()
    with pytest.raises(ValueError, match="W1, b1"):
        C.L_model_forward(X, {"W1": p["W1"]})
    with pytest.raises(ValueError, match="shapes do not fit"):
        C.linear_forward(X[:2], p["W1"], p["b1"])
    with pytest.raises(ValueError, match="probabilities"):
        C.compute_cost(np.array([[1.5, 0.2]]), [[1, 0]])
    with pytest.raises(ValueError, match="Y has shape"):
        C.compute_cost(np.array([[0.5, 0.2]]), [[1, 0, 1]])
    with pytest.raises(ValueError, match="seed"):
        C.initialize_parameters_deep([2, 3], seed=-1)
    with pytest.raises(ValueError, match="keep_prob"):
        C.L_model_forward(X, p, keep_prob=0)
    with pytest.raises(ValueError, match="t "):
        C.update_parameters_with_adam(p, {}, {}, {}, 0)
    with pytest.raises(ValueError, match="w must have shape"):
        C.propagate(np.zeros((3, 1)), 0.0, X, Y)
    with pytest.raises(TypeError, match="J must be a function"):
        C.gradient_check(3.0, 1.0, 1.0)
    assert C.compute_cost(np.array([[1.0, 0.0]]), [[0, 1]]) > 100      # finite, not nan


def test_the_course_accepts_the_estimators_ranges_and_names_what_it_refuses():
    """The course's betas, epsilon, learning rate and lambd are checked by the estimators'
    definitions: the edges both accept work, the values both refuse are named."""
    p, X, Y = _net()
    AL, caches = C.L_model_forward(X, p)
    grads = C.L_model_backward(AL, Y, caches)
    v, s = C.initialize_adam(p)
    out = C.update_parameters_with_adam(dict(p), grads, v, s, 1, 0.01, beta1=0.0,
                                        beta2=0.0, epsilon=1e-300)
    assert all(np.isfinite(host(a)).all() for a in out[0].values())
    for kw, name in (({"beta1": 1.0}, "beta1"), ({"beta2": -0.1}, "beta2"),
                     ({"epsilon": 0.0}, "epsilon"), ({"learning_rate": -1.0}, "learning_rate")):
        with pytest.raises(ValueError, match=name):
            C.update_parameters_with_adam(dict(p), grads, v, s, 1, **kw)
    with pytest.raises(ValueError, match="lambd"):
        C.L_model_backward(AL, Y, caches, lambd=-0.5)
    with pytest.raises(ValueError, match="lacks dW2"):
        C.update_parameters(dict(p), {"dW1": grads["dW1"], "db1": grads["db1"]}, 0.1)
    with pytest.raises(ValueError, match="s lacks dW1"):
        C.update_parameters_with_adam(dict(p), grads, v, {}, 1)
    with pytest.raises(ValueError, match="dZ has shape"):
        C.linear_backward(np.zeros((4, 2)), caches[0][0])
    with pytest.raises(ValueError, match="no examples"):
        C.compute_cost(np.zeros((1, 0)), np.zeros((1, 0)))
    with pytest.raises(ValueError, match="overflows a float"):
        C.update_lr(0.1, 10 ** 400, 1.0)
    with pytest.raises(ValueError, match="learning rate 0.0"):
        C.update_lr(0.1, 10 ** 300, 1e300)
    assert C.update_lr(0.1, 2, 1.0) == pytest.approx(0.1 / 3)


def test_xpnets_own_initializer_and_dropout_draw_as_the_course_on_request():
    arch = xpnet.Architecture((5, 4, 3), "relu", "sigmoid", keep_prob=0.7)
    params = xpnet.initialize_parameters(arch, init="random", legacy_seed=3, dtype="float64",
                                         backend="numpy")
    course = C.initialize_parameters_deep([5, 4, 3], seed=3)
    for k in ("W1", "W2"):
        np.testing.assert_array_equal(params[k], course[k])
    X = np.random.RandomState(0).randn(5, 6)
    AL, caches = xpnet.forward(X, params, arch, training=True, rng=np.random.RandomState(1))
    AL2, caches2 = C.L_model_forward(X, course, keep_prob=0.7, seed=1)
    np.testing.assert_allclose(AL, AL2, rtol=1e-12)
    np.testing.assert_array_equal(caches[0]["D"], caches2[0][2])
    with pytest.raises(ValueError, match="not both"):
        xpnet.initialize_parameters(arch, seed=1, legacy_seed=3)
