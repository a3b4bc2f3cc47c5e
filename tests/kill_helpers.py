"""Shared by the kill -9 tests (``test_faults``, ``test_model_files``): a child process run
until it reaches a write and then killed with SIGKILL, and the save it is killed in."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from xpnet import _atomic

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def child_env():
    env = {k: v for k, v in os.environ.items() if k != "XPNET_BACKEND"}
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


def anonymous_supported(folder):
    fd = _atomic._anonymous(str(folder), 0o600)
    if fd is None:
        return False
    os.close(fd)
    return True


def start_and_kill(script, ready, args, cwd):
    """Run ``script ARGS`` in a child until it creates ``ready``, then SIGKILL it; returns
    the child's pid."""
    child = subprocess.Popen([sys.executable, "-c", script, str(ready), *map(str, args)],
                             cwd=cwd, env=child_env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), f"the child never reached the write (exit {child.poll()}): " \
            f"{child.stderr.read().decode(errors='replace')[-2000:]}"
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stderr.close()
    ready.unlink()
    assert child.returncode == -signal.SIGKILL, child.returncode
    return child.pid


#: ``SAVE_CHILD READY SOURCE PATH HOW``: load SOURCE, save it to PATH, killed mid-write (HOW:
#: ``anonymous`` through O_TMPFILE, ``named`` through the named temporary file).
SAVE_CHILD = r"""
import sys, time
import numpy as np
import xpnet
from xpnet import _atomic
ready, source, path, how = sys.argv[1:5]
_atomic.USE_O_TMPFILE = how == "anonymous"
model = xpnet.load(source)
def slow(f, **arrays):                  # 1 MiB written, then wait to be killed
    f.write(b"PK\x03\x04" + bytes(2**20))
    f.flush()
    open(ready, "w").close()
    time.sleep(120)
np.savez_compressed = slow
model.save(path)
"""
