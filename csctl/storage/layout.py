"""Where a ledger's parts are (SPEC §1), found with nothing heavy imported: the root command locates the
ledger before it imports the command it runs (see `worktree.look_early`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from csctl.errors import CsctlError
from csctl.i18n import msg

CONFIG_NAME = "csctl.toml"
RECORDS = "records"
TEMPLATES = "templates"
CACHE = ".csctl"
LOCK = "lock"  # the ledger lock's file, in CACHE (`storage.lock`)
# Set to 1, the derived index in CACHE is neither read nor written: every command reads the files.
NO_INDEX_VARIABLE = "CSCTL_NO_INDEX"


def ledger_root(explicit: str | None, env: Mapping[str, str], cwd: Path) -> Path:
    """`--ledger`, else `CSCTL_LEDGER`, else the nearest parent holding `csctl.toml`."""
    given = explicit or env.get("CSCTL_LEDGER")
    if given:
        root = Path(given).expanduser()
        if not (root / CONFIG_NAME).is_file():
            raise CsctlError(msg("ledger.not_here", root=root))
        return root.resolve()
    here = cwd.resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise CsctlError(msg("ledger.none"))


def index_wanted() -> bool:
    return os.environ.get(NO_INDEX_VARIABLE, "") in ("", "0")
