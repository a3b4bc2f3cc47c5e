"""Peer libraries timed beside xpnet: PyTorch on the CPU and, with a CUDA GPU, on the GPU.

PyTorch is optional: it is imported only here, only when a peer row is built, and its rows
simply do not appear where it is not installed. Rows are named ``torch`` (CPU) and
``torch-cuda``; GPU rows call ``torch.cuda.synchronize()`` before the timer stops.
"""

from __future__ import annotations

import importlib
import importlib.util

from .registry import Impl

PEER_LIBRARIES = ("torch",)


def _torch():
    """The torch module, or None when it is not installed (or fails to import)."""
    if importlib.util.find_spec("torch") is None:
        return None
    try:
        return importlib.import_module("torch")
    except ImportError:  # pragma: no cover - a broken install
        return None


def torch_devices():
    """``["cpu"]`` plus ``"cuda"`` when a GPU is visible; ``[]`` without PyTorch."""
    torch = _torch()
    if torch is None:
        return []
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    return devices


def _row_name(library, device):
    return library if device == "cpu" else f"{library}-{device}"


def _noop():
    return None


def peer_impls(library, work):
    """The rows of one peer library for a group whose peer function is ``work(inputs, device)``."""
    if library != "torch":
        raise ValueError(f"unknown peer library {library!r}; choose one of "
                         f"{', '.join(PEER_LIBRARIES)}")
    impls = []
    for device in torch_devices():
        sync = _torch().cuda.synchronize if device == "cuda" else _noop

        def prepare(inputs, device=device):
            return work(inputs, device)
        impls.append(Impl(_row_name(library, device), "peer", device, prepare, sync))
    return impls


def peer_names():
    """Names of the peer rows available on this machine."""
    return [_row_name("torch", device) for device in torch_devices()]
