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

# The token of a lent hold (`lend`), and the file beside the lock that holds it while it is lent.
LENT_VARIABLE = "CSCTL_LOCK_LENT"
LENT_NAME = "lent"


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
        fd = _opened_for_reading(lock_path)
    if fd is None:
        # A ledger nobody may write here (a checkout on a read-only mount, with no lock file) can still be read.
        yield
        return
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    try:
        if exclusive or not _lent(fd, lock_path):
            _acquire(fd, mode, timeout, what)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def _opened_for_reading(lock_path: Path) -> int | None:
    """The lock file opened read-only, where this user may not write it: a shared hold needs no more, and
    its owner may be writing the ledger meanwhile. None when there is no lock file to open."""
    try:
        return os.open(lock_path, os.O_RDONLY)
    except OSError:
        return None


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


@contextmanager
def lend(lock_path: Path) -> Iterator[dict[str, str]]:
    """The environment in which the processes this one starts, and waits for, read under this one's
    exclusive hold of the lock at `lock_path`, for as long as the block runs.

    The hold is lent by a one-time token, kept beside the lock until the block ends: a variable inherited
    by a process that outlives it, or copied from another command's, names no token on file.
    """
    from csctl.storage.atomic import write_atomic  # here: the root command imports this module early

    token = os.urandom(16).hex()
    lent = lock_path.with_name(LENT_NAME)
    write_atomic(lent, token.encode())
    try:
        yield {LENT_VARIABLE: token}
    finally:
        lent.unlink(missing_ok=True)


def _lent(fd: int, lock_path: Path) -> bool:
    """Whether the hold of the lock open on `fd` was lent to this process, and is held still.

    Reading under it is safe: nothing else can write while the lender holds the lock exclusively, and the
    lender itself waits for the process it started.
    """
    token = os.environ.get(LENT_VARIABLE)
    if not token:
        return False
    try:
        if lock_path.with_name(LENT_NAME).read_text(encoding="ascii") != token:
            return False
    except (OSError, UnicodeDecodeError):
        return False
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
                # A notice, not an error: errors alone start with "csctl: ". (With stderr closed, `2>&-`,
                # print would take stdout for it.)
                if sys.stderr is not None:
                    print(msg("lock.waiting", what=what), file=sys.stderr, flush=True)
                noticed = True
            time.sleep(_POLL)
