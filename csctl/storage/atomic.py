"""The one way csctl puts bytes on disk: whole files, atomically, durably.

A temp file in the target's own folder (so `os.replace` never crosses a file
system), written, fsynced, then renamed over the target (or linked, for a file
that must not exist yet), then the folder fsynced so the rename itself survives
a power cut. Temp names start with a dot and end in `.tmp`, never `.toml`, so no
reader mistakes them for records. Records, `csctl.toml`, the templates of a new
ledger and `--output` files all go through `write_atomic` or `create_exclusive`.

`CSCTL_TEST_CRASH_AT=k` (read once, at import; for the crash tests only) ends
the process with `os._exit(CRASH_EXIT)` just before its k-th step that touches
the disk (create, write, fsync, replace, link, unlink), as a power cut or a
SIGKILL would at that moment.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from csctl.errors import CsctlError
from csctl.i18n import msg

CRASH_HOOK = "CSCTL_TEST_CRASH_AT"
CRASH_EXIT = 86
_crash_at = int(os.environ.get(CRASH_HOOK) or 0)
_steps_taken = 0

# `.<target name>.<8 hex>.tmp`, as `_temp_name` makes them.
_TEMP = re.compile(r"\..+\.[0-9a-f]{8}\.tmp")


def _crash_point() -> None:
    """The test hook: stop dead before the `CSCTL_TEST_CRASH_AT`-th step (free when unset)."""
    if _crash_at:
        global _steps_taken
        _steps_taken += 1
        if _steps_taken == _crash_at:
            os._exit(CRASH_EXIT)


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        _crash_point()
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        _crash_point()
        written = os.write(fd, view)
        view = view[written:]


@contextmanager
def _temp_beside(path: Path, data: bytes) -> Iterator[Path]:
    """A durable temp file holding `data` next to `path`; removed if still there on exit."""
    temp = _temp_name(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            kept_mode: int | None = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            kept_mode = None
        _crash_point()
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        try:
            if kept_mode is not None:
                # Keep the permissions someone gave the file (customer data may be 0600).
                os.fchmod(fd, kept_mode)
            _write_all(fd, data)
            _crash_point()
            os.fsync(fd)
        finally:
            os.close(fd)
        yield temp
    except OSError as err:
        raise _disk_error(path, err) from err
    finally:
        if os.path.lexists(temp):
            _crash_point()
            temp.unlink(missing_ok=True)


def _sync_after_rename(path: Path) -> None:
    try:
        _fsync_dir(path.parent)
    except OSError as err:
        raise CsctlError(msg("atomic.unsynced", path=path, reason=err.strerror or str(err))) from err


def _disk_error(path: Path, err: OSError) -> CsctlError:
    reason = msg("atomic.disk_full") if err.errno == errno.ENOSPC else (err.strerror or str(err))
    return CsctlError(msg("atomic.not_written", path=path, reason=reason))


def write_atomic(path: Path, data: bytes) -> None:
    """Replace (or create) `path` with `data`: readers see the old bytes or the new, never a mix."""
    with _temp_beside(path, data) as temp:
        try:
            _crash_point()
            os.replace(temp, path)
        except OSError as err:
            raise _disk_error(path, err) from err
    _sync_after_rename(path)


def create_exclusive(path: Path, data: bytes) -> bool:
    """Create `path` holding `data` unless it exists; False (and nothing written) if it does.

    `os.link` fails on an existing name, so a new record can never overwrite
    one made a moment earlier by another process or clone.
    """
    with _temp_beside(path, data) as temp:
        try:
            _crash_point()
            os.link(temp, path)
        except FileExistsError:
            return False
        except OSError as err:
            raise _disk_error(path, err) from err
    _sync_after_rename(path)
    return True


def remove_durably(path: Path) -> None:
    """Remove a file, the removal itself synced to disk."""
    try:
        _crash_point()
        path.unlink()
    except OSError as err:
        raise CsctlError(msg("atomic.not_removed", path=path, reason=err.strerror or str(err))) from err
    _sync_after_rename(path)


def remove_stale_temps(folder: Path) -> None:
    """Remove the temp files a killed writer left in `folder`.

    Only for a caller holding the ledger's exclusive lock: every ledger writer
    holds it, so no temp file there can belong to a write still going on.
    """
    try:
        names = os.listdir(folder)
    except OSError:
        return  # a folder not made yet holds nothing; any other trouble shows when writing
    for name in names:
        if _TEMP.fullmatch(name):
            _crash_point()
            (folder / name).unlink(missing_ok=True)
