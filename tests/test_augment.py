"""Tests for xpnet.datasets.augment_images and the transforms it is built from."""

import itertools

import numpy as np
import pytest

from xpnet.datasets import augment_images, load_digits
from xpnet.datasets.augment import flip_images, shift_images


def loop_shift(image, dy, dx):
    """For-loop reference: ``image (h, w[, c])`` moved dy rows down, dx columns right."""
    h, w = image.shape[:2]
    out = np.zeros_like(image)
    for r in range(h):
        for q in range(w):
            if 0 <= r - dy < h and 0 <= q - dx < w:
                out[r, q] = image[r - dy, q - dx]
    return out


def random_images(n=20, h=5, w=6, seed=0):
    """Distinct, asymmetric images flattened as ``(n, h * w)``, values 1..9 (no zeros)."""
    return np.random.default_rng(seed).integers(1, 10, size=(n, h * w)).astype(np.float64)


def shifted_versions(image, sy, sx):
    return [loop_shift(image, dy, dx) for dy in range(-sy, sy + 1) for dx in range(-sx, sx + 1)]


# ------------------------------------------------------------------------ shapes, labels
@pytest.mark.parametrize("include_original", [True, False])
def test_shapes_and_labels_follow_the_source_rows(include_original):
    X = random_images(n=7)
    y = np.array(list("abcdefg"))
    X_aug, y_aug = augment_images(X, (5, 6), y, copies=3, shift=1, seed=0,
                                  include_original=include_original)
    n_out = 7 * (3 + include_original)
    assert X_aug.shape == (n_out, 30) and y_aug.shape == (n_out,)
    np.testing.assert_array_equal(y_aug, y[np.arange(n_out) % 7])
    for row, label in zip(X_aug, y_aug):           # each row is a shift of its label's image
        source = X[list(y).index(label)].reshape(5, 6)
        assert any(np.array_equal(row.reshape(5, 6), v) for v in shifted_versions(source, 1, 1))


def test_without_y_returns_only_the_array():
    X = random_images(n=4)
    out = augment_images(X, (5, 6), copies=2, seed=0)
    assert isinstance(out, np.ndarray) and out.shape == (12, 30)


def test_include_original_puts_the_unchanged_originals_first():
    X = random_images(n=6)
    X_aug = augment_images(X, (5, 6), copies=2, shift=2, noise=0.1, flip=True, seed=1)
    np.testing.assert_array_equal(X_aug[:6], X)
    assert not np.array_equal(X_aug[6:12], X)
    without = augment_images(X, (5, 6), copies=2, shift=2, noise=0.1, flip=True, seed=1,
                             include_original=False)
    np.testing.assert_array_equal(without, X_aug[6:])


def test_dtype_float32_kept_and_integers_become_float64():
    X = random_images(n=3)
    assert augment_images(X.astype(np.float32), (5, 6), seed=0).dtype == np.float32
    assert augment_images(X.astype(np.int64), (5, 6), seed=0).dtype == np.float64


# --------------------------------------------------------------------------------- shift
def test_shift_zero_one_moves_every_pixel_one_column_right_with_zero_fill():
    image = np.array([[1., 2., 3.],
                      [4., 5., 6.]])
    out = shift_images(image[None, :, :, None], [0], [1])[0, :, :, 0]
    np.testing.assert_array_equal(out, [[0., 1., 2.],
                                        [0., 4., 5.]])          # no wrap-around of 3 and 6
    np.testing.assert_array_equal(out, loop_shift(image, 0, 1))


def test_shift_images_matches_the_loop_reference_for_every_offset():
    image = np.arange(1., 21.).reshape(4, 5)
    offsets = list(itertools.product(range(-3, 4), range(-4, 5)))
    dy, dx = np.array(offsets).T
    out = shift_images(np.repeat(image[None, :, :, None], len(offsets), axis=0), dy, dx)
    for k, (a, b) in enumerate(offsets):
        np.testing.assert_array_equal(out[k, :, :, 0], loop_shift(image, a, b),
                                      err_msg=f"offset ({a}, {b})")


def test_augment_shift_draws_every_offset_in_range_and_only_those():
    X = random_images(n=1, h=4, w=4)
    image = X[0].reshape(4, 4)
    X_aug = augment_images(X, (4, 4), copies=200, shift=(0, 1), seed=3, include_original=False)
    refs = shifted_versions(image, 0, 1)                 # dy = 0, dx in -1, 0, 1
    hits = [next(k for k, v in enumerate(refs) if np.array_equal(row.reshape(4, 4), v))
            for row in X_aug]
    assert set(hits) == {0, 1, 2}


def test_shift_moves_all_channels_together():
    rng = np.random.default_rng(0)
    image = rng.integers(1, 10, size=(4, 5, 3)).astype(float)
    out = shift_images(image[None], [1], [-2])[0]
    np.testing.assert_array_equal(out, loop_shift(image, 1, -2))
    X_aug = augment_images(image.reshape(1, -1), (4, 5, 3), copies=30, shift=1, seed=0,
                           include_original=False)
    refs = shifted_versions(image, 1, 1)
    assert all(any(np.array_equal(r.reshape(4, 5, 3), v) for v in refs) for r in X_aug)


# ---------------------------------------------------------------------------------- flip
def test_flip_images_is_image_reversed_columns():
    images = np.arange(2 * 3 * 4 * 2, dtype=float).reshape(2, 3, 4, 2)
    out = flip_images(images, np.array([True, False]))
    np.testing.assert_array_equal(out[0], images[0][:, ::-1])
    np.testing.assert_array_equal(out[1], images[1])


def test_augment_flip_mirrors_about_half_of_the_copies():
    X = random_images(n=1)
    image = X[0].reshape(5, 6)
    X_aug = augment_images(X, (5, 6), copies=400, shift=0, flip=True, seed=0,
                           include_original=False)
    mirrored = [np.array_equal(r.reshape(5, 6), image[:, ::-1]) for r in X_aug]
    unchanged = [np.array_equal(r.reshape(5, 6), image) for r in X_aug]
    assert all(m or u for m, u in zip(mirrored, unchanged))
    assert 0.4 < np.mean(mirrored) < 0.6


def test_flip_is_off_by_default():
    X = random_images(n=1)
    X_aug = augment_images(X, (5, 6), copies=50, shift=0, seed=0, include_original=False)
    np.testing.assert_array_equal(X_aug, np.repeat(X, 50, axis=0))


# --------------------------------------------------------------------------------- noise
@pytest.mark.parametrize("scale", [1.0, 16.0])
def test_noise_std_is_relative_to_the_value_range(scale):
    X = np.full((50, 64), 0.5)
    X[0, 0], X[0, 1] = 0.0, 1.0                          # value range [0, 1] (times scale)
    X *= scale
    X_aug = augment_images(X, (8, 8), copies=4, shift=0, noise=0.02, seed=0,
                           include_original=False)
    residual = (X_aug - np.tile(X, (4, 1)))[np.tile(X, (4, 1)) == 0.5 * scale]
    assert residual.size > 12000
    sigma = 0.02 * scale
    assert abs(residual.std() - sigma) < 0.03 * sigma    # ~5 standard errors of the std
    assert abs(residual.mean()) < 0.05 * sigma


def test_noise_is_clipped_to_the_data_range():
    X = load_digits().X[:50]
    X_aug = augment_images(X, (8, 8), copies=3, shift=1, noise=0.5, seed=0)
    assert X_aug.min() == X.min() == 0.0 and X_aug.max() == X.max() == 16.0
    noisy = X_aug[50:]
    assert (noisy == 0.0).mean() > 0.2 and (noisy == 16.0).mean() > 0.1   # clipping happened
    assert np.unique(noisy).size > 1000                                     # and noise too


# --------------------------------------------------------------------------- determinism
def test_same_seed_same_result_other_seed_other_result():
    X = load_digits().X[:30]
    kw = dict(copies=3, shift=1, flip=True, noise=0.05)
    a = augment_images(X, (8, 8), seed=5, **kw)
    np.testing.assert_array_equal(a, augment_images(X, (8, 8), seed=5, **kw))
    np.testing.assert_array_equal(
        a, augment_images(X, (8, 8), seed=np.random.default_rng(5), **kw))
    assert not np.array_equal(a, augment_images(X, (8, 8), seed=6, **kw))


def test_input_is_not_mutated_and_not_shared():
    X = load_digits().X[:20]
    y = np.arange(20)
    X_before, y_before = X.copy(), y.copy()
    for include_original in (True, False):
        X_aug, y_aug = augment_images(X, (8, 8), y, copies=2, shift=1, flip=True, noise=0.3,
                                      seed=0, include_original=include_original)
        X_aug += 100.0
        y_aug += 100
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)
    out = augment_images(X, (8, 8), copies=1, shift=0, include_original=False)
    assert not np.shares_memory(out, X)


def test_lists_are_accepted():
    X = [[1, 2, 3, 4], [5, 6, 7, 8]]
    X_aug, y_aug = augment_images(X, [2, 2], [0, 1], copies=1, shift=0)
    np.testing.assert_array_equal(X_aug, [[1, 2, 3, 4], [5, 6, 7, 8]] * 2)
    np.testing.assert_array_equal(y_aug, [0, 1, 0, 1])


# -------------------------------------------------------------------------------- errors
X16 = np.zeros((3, 16))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(image_shape=(4, 5)), ValueError, r"X has 16 features but image_shape \(4, 5\)"),
    (dict(image_shape=(4, 4, 2)), ValueError, "holds 32 values"),
    (dict(image_shape=(16,)), ValueError, "2 or 3 entries"),
    (dict(image_shape=(4, 0)), ValueError, "must be >= 1"),
    (dict(image_shape=16), TypeError, "image_shape must be a tuple"),
    (dict(image_shape=(4.0, 4)), TypeError, "image_shape must hold integers"),
    (dict(shift=-1), ValueError, "shift must be >= 0"),
    (dict(shift=4), ValueError, r"must be smaller than the image \(4 x 4\)"),
    (dict(shift=(0, 4)), ValueError, "must be smaller than the image"),
    (dict(shift=(1, 1, 1)), ValueError, "an int or a pair"),
    (dict(shift=1.0), TypeError, "shift must be a non-negative int"),
    (dict(shift=True), TypeError, "shift must be a non-negative int"),
    (dict(noise=-0.1), ValueError, "noise must be >= 0"),
    (dict(noise=float("nan")), ValueError, "noise must be finite"),
    (dict(noise=float("inf")), ValueError, "noise must be finite"),
    (dict(noise=True), TypeError, "noise must be a number"),
    (dict(noise="0.1"), TypeError, "noise must be a number"),
    (dict(copies=0), ValueError, "copies must be > 0"),
    (dict(copies=2.0), TypeError, "copies must be an integer"),
    (dict(copies=True), TypeError, "copies must be an integer"),
    (dict(flip=1), TypeError, "flip must be True or False"),
    (dict(include_original="yes"), TypeError, "include_original must be True or False"),
    (dict(y=[0, 1]), ValueError, "y has 2 labels but X has 3 samples"),
    (dict(seed=-1), ValueError, "seed must be a non-negative int"),
    (dict(seed=1.5), TypeError, "seed must be None"),
])
def test_bad_arguments_raise_clear_errors(kwargs, error, match):
    kwargs = dict(dict(image_shape=(4, 4)), **kwargs)
    with pytest.raises(error, match=match):
        augment_images(X16, **kwargs)


@pytest.mark.parametrize("X, match", [
    (np.zeros(16), "must be 2-D"),
    (np.array([[0.0, np.nan, 0.0, 0.0]]), "NaN or infinite"),
])
def test_bad_X_raises(X, match):
    with pytest.raises(ValueError, match=match):
        augment_images(X, (2, 2))
