"""The ledger lock: one `flock` on `.csctl/lock`, a file that is never deleted.

Writers hold it exclusively from the read to the write, so a person and a cron
job changing the same record never lose each other's change; multi-record
readers (`check`, reports, alerts) hold it shared and so see no half-done
batch. The kernel drops a `flock` when its holder dies, so a killed command
never blocks the next one.

A writer that runs git inside its hold (autocommit) lends the hold to the
csctl commands git runs (the pre-commit hook's `check`): they read without
taking the lock, which they would otherwise wait for until git gave up.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from csctl.errors import CsctlError, LockTimeout
from csctl.i18n import msg

# Say what we wait for once the wait is long enough to be noticed.
NOTICE_AFTER = 1.0
_POLL = 0.02

# What opening the lock file for writing meets in a ledger that may only be read.
_READ_ONLY = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})

# "pid:device:inode": the process that lends its exclusive hold, and the lock file it holds.
LENT_VARIABLE = "CSCTL_LOCK_LENT"


@contextmanager
def ledger_lock(
    lock_path: Path, *, exclusive: bool, timeout: float, what: str
) -> Iterator[None]:
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        if exclusive or err.errno not in _READ_ONLY:
            if isinstance(err, PermissionError):
                raise CsctlError(msg("lock.no_permission", path=lock_path)) from None
            raise CsctlError(msg("lock.cannot_open", path=lock_path, reason=err.strerror)) from None
        fd = None
    if fd is None:
        # A read-only ledger (a checkout on a shared mount, or one this user may not write) can still be read.
        yield
        return
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    try:
        if exclusive or not _lent(fd):
            _acquire(fd, mode, timeout, what)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def shared_if_free(lock_path: Path) -> int | None:
    """A shared hold of the lock, taken only if no writer holds it now and the lock file exists: its file
    descriptor (closing it releases the hold), else None."""
    try:
        fd = os.open(lock_path, os.O_RDWR)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def lend(lock_path: Path) -> dict[str, str]:
    """The environment in which a process this one starts, and waits for, reads under this one's exclusive
    hold of the lock at `lock_path`."""
    held = os.stat(lock_path)
    return {LENT_VARIABLE: f"{os.getpid()}:{held.st_dev}:{held.st_ino}"}


def _lent(fd: int) -> bool:
    """Whether a hold of the lock open on `fd` was lent to this process, and is held still.

    Reading under it is safe: nothing else can write while the lender holds the lock exclusively, and the
    lender itself waits for the process it started. The variable alone proves nothing (it may be inherited
    by a process that outlives the hold), so the lender must be alive and the lock held exclusively now.
    """
    try:
        pid, device, inode = (int(part) for part in os.environ.get(LENT_VARIABLE, "").split(":"))
    except ValueError:
        return False
    opened = os.fstat(fd)
    if pid <= 0 or (opened.st_dev, opened.st_ino) != (device, inode):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, someone else's
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    return False  # no writer holds it: taken shared the ordinary way


def _acquire(fd: int, mode: int, timeout: float, what: str) -> None:
    started = time.monotonic()
    noticed = False
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            waited = time.monotonic() - started
            if waited >= timeout:
                raise LockTimeout(msg("lock.timeout", seconds=f"{timeout:g}")) from None
            if not noticed and waited >= NOTICE_AFTER:
                # A notice, not an error: errors alone start with "csctl: ".
                print(msg("lock.waiting", what=what), file=sys.stderr, flush=True)
                noticed = True
            time.sleep(_POLL)
