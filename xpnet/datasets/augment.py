"""Data augmentation for image data stored one flattened image per row.

``augment_images(X, image_shape, y)`` makes ``copies`` randomly altered versions of every image
of ``X (n_samples, n_features)`` (random shifts with zero fill, optional horizontal flips,
Gaussian noise) and returns them, after the originals, with their labels. ``shift_images`` and
``flip_images`` are the deterministic transforms it is built from.

Images are row-major: ``n_features == h * w`` (or ``h * w * channels``, channels last), as
``load_digits()`` stores its 8x8 images, so ``X.reshape(-1, h, w)`` shows them.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import check_positive, check_X, check_y
from .synthetic import _rng

__all__ = ["augment_images", "shift_images", "flip_images"]


# -------------------------------------------------------------------------- validation
def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _check_image_shape(image_shape, n_features):
    """``image_shape`` as ``(h, w, channels)`` ints; its product must be ``n_features``."""
    if not isinstance(image_shape, (tuple, list)):
        raise TypeError(f"image_shape must be a tuple (h, w) or (h, w, channels), got "
                        f"{image_shape!r} ({type(image_shape).__name__})")
    if len(image_shape) not in (2, 3):
        raise ValueError(f"image_shape must have 2 or 3 entries (h, w[, channels]), got "
                         f"{tuple(image_shape)!r}")
    if not all(_is_int(v) for v in image_shape):
        raise TypeError(f"image_shape must hold integers, got {tuple(image_shape)!r}")
    shape = tuple(int(v) for v in image_shape) + (1,) * (3 - len(image_shape))
    if min(shape) < 1:
        raise ValueError(f"image_shape entries must be >= 1, got {tuple(image_shape)!r}")
    if shape[0] * shape[1] * shape[2] != n_features:
        raise ValueError(f"X has {n_features} features but image_shape {tuple(image_shape)!r} "
                         f"holds {shape[0] * shape[1] * shape[2]} values; n_features must be "
                         "h * w (* channels)")
    return shape


def _check_shift(shift, h, w):
    """``shift`` (an int, or a pair ``(rows, cols)``) as a pair of ints ``0 <= s < size``."""
    pair = tuple(shift) if isinstance(shift, (tuple, list)) else (shift, shift)
    if len(pair) != 2:
        raise ValueError(f"shift must be an int or a pair (rows, cols), got {shift!r}")
    if not all(_is_int(s) for s in pair):
        raise TypeError(f"shift must be a non-negative int or a pair of them, got {shift!r}")
    sy, sx = int(pair[0]), int(pair[1])
    if sy < 0 or sx < 0:
        raise ValueError(f"shift must be >= 0, got {shift!r}")
    if sy >= h or sx >= w:
        raise ValueError(f"shift={shift!r} must be smaller than the image ({h} x {w}): a "
                         "shift that large can move the whole image out of the frame")
    return sy, sx


def _check_bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return bool(value)


# --------------------------------------------------------------------------- transforms
def shift_images(images, dy, dx):
    """Move each image ``dy[i]`` rows down and ``dx[i]`` columns right, zero-filling the gap.

    ``images (m, h, w, c)``; ``dy, dx (m,)`` ints (negative: up / left), ``|dy| < h``,
    ``|dx| < w``. Returns a new ``(m, h, w, c)`` array ``out[i, r, q] = images[i, r - dy[i],
    q - dx[i]]`` where that pixel exists, else 0 (no wrap-around).
    """
    m, h, w, _ = images.shape
    dy, dx = np.asarray(dy, dtype=np.intp), np.asarray(dx, dtype=np.intp)
    py, px = int(np.abs(dy).max(initial=0)), int(np.abs(dx).max(initial=0))
    padded = np.pad(images, ((0, 0), (py, py), (px, px), (0, 0)))
    rows = (np.arange(h) + py)[None, :] - dy[:, None]                 # (m, h)
    cols = (np.arange(w) + px)[None, :] - dx[:, None]                 # (m, w)
    return padded[np.arange(m)[:, None, None], rows[:, :, None], cols[:, None, :]]


def flip_images(images, mask):
    """Mirror the images where ``mask (m,)`` is True left to right (``image[:, ::-1]``).

    ``images (m, h, w, c)``; returns a new array of the same shape.
    """
    out = images.copy()
    out[mask] = images[mask][:, :, ::-1]
    return out


def _add_noise(images, sigma, low, high, rng):
    """``clip(images + N(0, sigma^2), low, high)``, in place; returns ``images``."""
    images += rng.normal(0.0, sigma, size=images.shape)
    return np.clip(images, low, high, out=images)


# ------------------------------------------------------------------------------- public
def augment_images(X, image_shape, y=None, *, copies=1, shift=1, flip=False, noise=0.0,
                   seed=None, include_original=True):
    """Randomly shifted, flipped and noisy copies of the images in ``X``, with their labels.

    Parameters
    ----------
    X : array-like ``(n_samples, n_features)``, one row-major image per row (finite numbers).
    image_shape : ``(h, w)`` or ``(h, w, channels)`` (channels last); ``h * w * channels``
        must equal ``n_features``. For ``load_digits()``: ``(8, 8)``.
    y : optional labels ``(n_samples,)`` (any dtype); when given, ``(X_aug, y_aug)`` is
        returned with ``y_aug[i]`` the label of the source row of ``X_aug[i]``.
    copies : int >= 1, augmented versions made of every image.
    shift : int >= 0, or a pair ``(rows, cols)``: each copy is moved by offsets drawn
        uniformly from ``[-shift, shift]`` (independently for rows and columns, and for every
        copy of every image); pixels moved in from outside are 0 (zero fill, no wrap-around).
        Must be smaller than the image's height and width. 0 disables shifting.
    flip : bool, mirror each copy left to right with probability 0.5. Off by default: a
        mirrored digit is often another symbol (or no digit at all), so use it only for data
        whose classes are symmetric (objects, faces), never for digits or text.
    noise : float >= 0, standard deviation of additive Gaussian noise *relative to the value
        range of X*: ``sigma = noise * (X.max() - X.min())`` (so ``noise=0.05`` is 5 % of the
        range, 0.8 for the 0..16 digits, 0.05 for 0..1 images). The noisy copies are clipped
        to ``[X.min(), X.max()]``. 0 disables it.
    seed : None, an int >= 0 or a ``numpy.random.Generator``; the same seed gives the same
        output.
    include_original : bool, put the unchanged ``X`` first.

    Returns
    -------
    ``X_aug (n_out, n_features)`` with ``n_out = n_samples * (copies + include_original)``, or
    ``(X_aug, y_aug)`` when ``y`` is given. Rows are ordered block by block: the originals
    (if included), then copy 1 of every sample, copy 2, ...; the source row of ``X_aug[i]`` is
    ``i % n_samples``, i.e. ``index = np.tile(np.arange(n_samples), copies +
    include_original)`` and ``y_aug = y[index]``. ``X_aug`` is float (float32 input stays
    float32, anything else becomes float64). ``X`` and ``y`` are never modified.

    The offsets, then the flips, then the noise are drawn from ``np.random.default_rng(seed)``;
    each copy is shifted, then flipped, then made noisy. Shifting is vectorized (one gather
    over a zero-padded array), so the cost is a few passes over ``n_out`` images.
    """
    X = check_X(X)
    n, n_features = X.shape
    h, w, c = _check_image_shape(image_shape, n_features)
    if y is not None:
        y = check_y(y, n)
    copies = check_positive("copies", copies, integer=True)
    sy, sx = _check_shift(shift, h, w)
    flip = _check_bool("flip", flip)
    noise = check_positive("noise", noise, allow_zero=True)
    include_original = _check_bool("include_original", include_original)
    images = _augmented(X.reshape(n, h, w, c), copies, (sy, sx), flip, noise, _rng(seed))
    flat = images.reshape(-1, n_features)                  # a new array, never a view of X
    X_aug = np.concatenate([X, flat], axis=0) if include_original else flat
    if y is None:
        return X_aug
    return X_aug, y[np.tile(np.arange(n), copies + include_original)]


def _augmented(images, copies, shift, flip, noise, rng):
    """``copies`` augmented versions of ``images (n, h, w, c)``: ``(copies * n, h, w, c)``,
    copy ``k`` of image ``j`` at row ``k * n + j``."""
    low, high = images.min(), images.max()
    out = np.tile(images, (copies, 1, 1, 1))
    m = len(out)
    dy = rng.integers(-shift[0], shift[0], size=m, endpoint=True)
    dx = rng.integers(-shift[1], shift[1], size=m, endpoint=True)
    out = shift_images(out, dy, dx)
    if flip:
        out = flip_images(out, rng.random(m) < 0.5)
    if noise > 0:
        out = _add_noise(out, noise * (high - low), low, high, rng)
    return out
