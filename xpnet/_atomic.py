"""Atomic file writes: the new content is written aside, then ``os.replace`` puts it in place.

A crash or an error mid-write never leaves a half-written file where the user's file was, and
an interrupted write leaves no temporary file behind for good:

- **Where the platform has it (Linux), the content is written to an anonymous file**
  (``O_TMPFILE`` in the target's folder): it has no name while it is written, so a process
  killed at any point of the write (``kill -9``, power loss) leaves nothing visible; the kernel
  frees it. Once written it gets a temporary name (``linkat`` through ``/proc/self/fd``) and
  ``os.replace`` moves that name over the target at once.
- **Elsewhere** (no ``O_TMPFILE``, a file system without it, no ``/proc``) it is written to a
  named temporary file ``.{name}.{pid}.{token}.tmp`` beside the target.
- **Stale temporary files are cleaned**: every write first removes, for that same target, the
  temporary files older than an hour whose creating process (the ``pid`` in the name) no longer
  runs on this machine, or that are older than a day whatever their pid says (the pid may have
  been reused, or the file may come from another machine). They can be left by a kill during
  the fallback's write, or in the microseconds between ``linkat`` and ``os.replace``. The
  ``.{name}.XXXXXXXX.tmp`` files of xpnet versions before this scheme are removed after a day.

Permissions: a new file gets the mode that ``open`` would give it (``0o666`` less the umask,
and the folder's default ACL); replacing an existing file keeps that file's mode (a ``chmod
600`` model stays private, and its content is never readable by others, even while written).
Writing through a symbolic link writes to the file it points to (``os.path.realpath``); the link
stays a link. With ``fsync=True`` the data, then the folder entry, reach the disk before
``atomic_open`` returns.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import time

__all__ = ["atomic_open", "remove_stale_temps"]

STALE_AGE_S = 3600.0          # a dead process's temporary file is removed after an hour
ABANDONED_AGE_S = 86400.0     # any temporary file of the pattern is removed after a day
USE_O_TMPFILE = True          # tests set it False to exercise the named fallback
_CHUNK = 1 << 20
_OURS = re.compile(r"(\d+)\.[0-9a-f]{8}")
_LEGACY = re.compile(r"[a-z0-9_]{8}")  # tempfile.mkstemp's names, used before this scheme


@contextlib.contextmanager
def atomic_open(path, mode="w", fsync=False, **open_kwargs):
    """``with atomic_open(path, "wb") as fh: ...`` writes ``path`` all at once or not at all.

    ``mode`` and ``open_kwargs`` are those of ``open`` (``"w"``/``"wb"``, ``encoding=``,
    ``newline=``); ``fsync=True`` makes the new file durable before returning."""
    target = os.path.realpath(os.fspath(path))
    folder, name = os.path.split(target)
    if os.path.exists(target) and not os.path.isfile(target) and not os.path.isdir(target):
        raise ValueError(f"{os.fspath(path)!r} is a FIFO, socket or device, not a file: "
                         "refusing to replace it; save to a regular file")
    remove_stale_temps(folder, name)
    temp = _Temp(folder, name, _existing_mode(target))
    try:
        with os.fdopen(temp.fd, mode, closefd=False, **open_kwargs) as fh:
            yield fh
        if fsync:
            os.fsync(temp.fd)
        temp.publish(target, fsync)
    except OSError as exc:
        if exc.errno == errno.ENOSPC and exc.filename is None:
            err = OSError(errno.ENOSPC, f"No space left on device: cannot write {target!r} "
                          "(the file there, if any, is unchanged)")
            err.filename = target
            raise err from exc
        raise
    finally:
        temp.close()


class _Temp:
    """The file being written: anonymous (``O_TMPFILE``) or named, open as ``fd``."""

    def __init__(self, folder, name, keep_mode):
        self.folder, self.name, self.path = folder, name, None
        create = 0o666 if keep_mode is None else 0o600  # the umask applies to 0o666
        self.fd = _anonymous(folder, create)
        if self.fd is None:
            self.path, self.fd = _named(folder, name, create)
        if keep_mode is not None:
            try:
                _chmod(self.fd, self.path, keep_mode)
            except BaseException:
                self.close()
                raise

    def publish(self, target, fsync):
        """Give the written file the target's name (one ``os.replace``)."""
        if self.path is None:
            self.path = self._link()
        os.replace(self.path, target)
        self.path = None
        if fsync:
            _fsync_folder(self.folder)

    def _link(self):
        """A name for the anonymous file; a named copy where the link is refused."""
        dir_fd = os.open(self.folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            for _ in range(100):
                name = _temp_name(self.name)
                try:
                    os.link(f"/proc/self/fd/{self.fd}", name, dst_dir_fd=dir_fd,
                            follow_symlinks=True)
                    return os.path.join(self.folder, name)
                except FileExistsError:
                    continue
                except OSError:
                    return self._copy()
        finally:
            os.close(dir_fd)
        raise FileExistsError(errno.EEXIST, "no free temporary name", self.folder)

    def _copy(self):
        path, fd = _named(self.folder, self.name, 0o600)
        try:
            _chmod(fd, path, stat.S_IMODE(os.fstat(self.fd).st_mode))
            os.lseek(self.fd, 0, os.SEEK_SET)
            while chunk := os.read(self.fd, _CHUNK):
                os.write(fd, chunk)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            _unlink(path)
            raise
        os.close(self.fd)
        self.fd = fd
        return path

    def close(self):
        """Close the file; remove its name unless it became the target."""
        with contextlib.suppress(OSError):
            os.close(self.fd)
        if self.path is not None:
            _unlink(self.path)


def _anonymous(folder, create):
    if not (USE_O_TMPFILE and hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")):
        return None
    try:
        return os.open(folder, os.O_TMPFILE | os.O_RDWR, create)
    except OSError:  # a file system without O_TMPFILE; the named file says what else is wrong
        return None


def _named(folder, name, create):
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        path = os.path.join(folder, _temp_name(name))
        try:
            return path, os.open(path, flags, create)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", folder)


def _temp_name(name):
    return f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"


def remove_stale_temps(folder, name, now=None):
    """Remove the stale temporary files of target ``name`` in ``folder`` (see the module doc);
    returns the paths removed. Never raises: cleaning is a courtesy, not part of the write."""
    prefix, now = f".{name}.", time.time() if now is None else now
    removed = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if (entry.name.startswith(prefix) and entry.name.endswith(".tmp")
                        and _is_stale(entry, entry.name[len(prefix):-4], now)):
                    _unlink(entry.path)
                    removed.append(entry.path)
    except OSError:
        pass
    return removed


def _is_stale(entry, middle, now):
    ours, legacy = _OURS.fullmatch(middle), _LEGACY.fullmatch(middle)
    try:
        if not (ours or legacy) or not entry.is_file(follow_symlinks=False):
            return False
        age = now - entry.stat(follow_symlinks=False).st_mtime
    except OSError:  # gone meanwhile (another save's cleaning, or its own replace)
        return False
    if age > ABANDONED_AGE_S:
        return True
    return bool(ours) and age > STALE_AGE_S and not _pid_alive(int(ours.group(1)))


def _pid_alive(pid):
    """Whether process ``pid`` runs on this machine (True when it cannot be known)."""
    if os.name == "nt" or pid == os.getpid():
        return True  # Windows' os.kill(pid, 0) would send CTRL_C_EVENT, not probe
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except OSError:  # PermissionError: it runs, as another user
        return True
    return True


def _existing_mode(target):
    """The permission bits of the regular file at ``target``, or None where there is none."""
    try:
        st = os.stat(target)
    except OSError:
        return None
    return stat.S_IMODE(st.st_mode) if stat.S_ISREG(st.st_mode) else None


def _chmod(fd, path, mode):
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)
    else:
        os.chmod(path, mode)


def _fsync_folder(folder):
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _unlink(path):
    with contextlib.suppress(OSError):
        os.unlink(path)


def _umask():
    """The process's umask, read without changing it where Linux says it (``/proc``)."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        with open("/proc/self/status") as fh:
            return int(next(ln for ln in fh if ln.startswith("Umask:")).split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
