"""Folders replaced whole: the tools behind the CLI's run folders (``StagedFolder``).

A run is written into a hidden *partial* folder, ``.<name>.partial-<pid>-<host>-<token>``
beside its place, then put there in one step:

- **a new place**: one ``os.rename``;
- **a folder reused** (``--out DIR --force``): the files of ``DIR`` that the new run does not
  replace are hard-linked into the partial folder (copied where a link is refused), then
  :func:`exchange` swaps the two folders in one system call (Linux's ``renameat2`` with
  ``RENAME_EXCHANGE``): whatever happens, a kill -9 or a power loss included, ``DIR`` holds
  the old run or the new one, never a mix. The old run, now under the partial name, is then
  removed. Where the platform or the file system cannot swap (:func:`can_exchange`), the
  caller falls back to replacing the files one by one.

Partial folders left by a killed run are removed by a later run in the same folder
(:func:`remove_stale_partials`): those of a process that no longer runs on this machine, once
an hour old (a partial folder of another machine, the host tag differing, is left alone: its
run may still be going).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import socket
import stat
import tempfile
import time

from ._atomic import STALE_AGE_S, _pid_alive

__all__ = ["partial_prefix", "remove_stale_partials", "exchange", "can_exchange", "link_into"]

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.EXDEV, errno.EPERM,
                getattr(errno, "ENOTSUP", errno.EINVAL), getattr(errno, "EOPNOTSUPP", errno.EINVAL)}
#: ``.<name>.partial-<pid>-<host>-<mkdtemp's 8 characters>``; before the host tag, without it.
_PARTIAL = re.compile(r"\..+\.partial-(\d+)-(?:([0-9a-f]{6})-)?[a-z0-9_]{8}")
_renameat2 = []  # [the libc function or None], looked up once


def host_tag():
    """Six hex digits naming this machine in partial folders' names."""
    return hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]


def partial_prefix(place):
    """The name prefix of a partial folder for ``place`` (``tempfile.mkdtemp``'s prefix)."""
    return f".{os.path.basename(place)}.partial-{os.getpid()}-{host_tag()}-"


def is_partial(name):
    return _PARTIAL.fullmatch(name) is not None


def remove_stale_partials(folder, now=None):
    """Remove the partial folders in ``folder`` left by killed runs of this machine (module
    doc); returns the paths removed. Never raises: cleaning is a courtesy."""
    now, ours, removed = time.time() if now is None else now, host_tag(), []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                match = _PARTIAL.fullmatch(entry.name)
                if match and match.group(2) in (ours, None) and \
                        _stale(entry, int(match.group(1)), now):
                    shutil.rmtree(entry.path, ignore_errors=True)
                    removed.append(entry.path)
    except OSError:
        pass
    return removed


def _stale(entry, pid, now):
    try:
        if not entry.is_dir(follow_symlinks=False):
            return False
        age = now - entry.stat(follow_symlinks=False).st_mtime
    except OSError:
        return False
    return age > STALE_AGE_S and not _pid_alive(pid)


def _libc_renameat2():
    if not _renameat2:
        function = None
        if hasattr(os, "uname") and os.uname().sysname == "Linux":
            try:
                import ctypes
                function = ctypes.CDLL(None, use_errno=True).renameat2
                function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                                     ctypes.c_char_p, ctypes.c_uint]
            except (OSError, AttributeError):  # no glibc 2.28+: no swap, the fallback runs
                function = None
        _renameat2.append(function)
    return _renameat2[0]


def exchange(a, b):
    """Swap the paths ``a`` and ``b`` (two folders) in one step. Returns False, changing
    nothing, where the platform or the file system cannot; raises OSError on other errors."""
    function = _libc_renameat2()
    if function is None:
        return False
    import ctypes
    if function(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in _UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), a, None, b)


def can_exchange(folder):
    """Whether :func:`exchange` works in ``folder``: two empty folders made and swapped inside
    a partial-named probe folder (so a probe left by a kill is cleaned like a partial run)."""
    try:
        probe = tempfile.mkdtemp(dir=folder, prefix=partial_prefix("xpnet-swap-probe"))
    except OSError:
        return False
    try:
        a, b = os.path.join(probe, "a"), os.path.join(probe, "b")
        os.mkdir(a)
        os.mkdir(b)
        return exchange(a, b)
    except OSError:
        return False
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def link_into(source, folder, skip=()):
    """Hard-link every entry of the folder ``source`` whose name is not in ``skip`` into
    ``folder`` (recursively for subfolders; a copy where a link is refused, e.g. across file
    systems or with ``fs.protected_hardlinks``); symbolic links are recreated as links."""
    with os.scandir(source) as entries:
        for entry in entries:
            if entry.name in skip:
                continue
            _link_entry(entry, os.path.join(folder, entry.name))


def _link_entry(entry, dest):
    if entry.is_symlink():
        os.symlink(os.readlink(entry.path), dest)
    elif entry.is_dir(follow_symlinks=False):
        os.mkdir(dest)
        shutil.copystat(entry.path, dest, follow_symlinks=False)
        link_into(entry.path, dest)
    else:
        try:
            os.link(entry.path, dest, follow_symlinks=False)
        except OSError:
            if not stat.S_ISREG(entry.stat(follow_symlinks=False).st_mode):
                raise
            shutil.copy2(entry.path, dest, follow_symlinks=False)
