"""The one way csctl puts bytes on disk: whole files, atomically, durably.

A temp file in the target's own folder (so `os.replace` never crosses a file
system), written, flushed and fsynced, then renamed over the target, then the
folder fsynced so the rename itself survives a power cut. Temp names start with
a dot and end in `.tmp`, never `.toml`, so no reader mistakes them for records.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from csctl.errors import CsctlError


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _temp_beside(path: Path, data: bytes) -> Iterator[Path]:
    """A durable temp file holding `data` next to `path`; removed if still there on exit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temp, "xb") as handle:
            if path.exists():
                # Keep the permissions someone gave the file (customer data may be 0600).
                os.fchmod(handle.fileno(), stat.S_IMODE(path.stat().st_mode))
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        yield temp
    except OSError as err:
        raise _disk_error(path, err) from err
    finally:
        temp.unlink(missing_ok=True)


def _sync_after_rename(path: Path) -> None:
    try:
        _fsync_dir(path.parent)
    except OSError as err:
        raise CsctlError(
            f"{path}: written, but its folder could not be synced to disk ({err.strerror}); "
            "it may not survive a power cut"
        ) from err


def _disk_error(path: Path, err: OSError) -> CsctlError:
    reason = "the disk is full" if err.errno == errno.ENOSPC else (err.strerror or str(err))
    return CsctlError(f"{path}: cannot write: {reason}; the file was left as it was")


def write_atomic(path: Path, data: bytes) -> None:
    """Replace (or create) `path` with `data`: readers see the old bytes or the new, never a mix."""
    with _temp_beside(path, data) as temp:
        try:
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
            os.link(temp, path)
        except FileExistsError:
            return False
        except OSError as err:
            raise _disk_error(path, err) from err
    _sync_after_rename(path)
    return True
