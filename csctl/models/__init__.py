"""Pydantic models of every record kind and of the ledger's settings."""

import sys
import types


def _no_plugins() -> tuple[()]:
    return ()


def _skip_pydantic_plugin_discovery() -> None:
    """csctl uses no pydantic plugins, and looking for them is a tenth of a one-record command.

    At the first model it builds, pydantic asks `pydantic.plugin._loader.get_plugins()`, which imports
    `importlib.metadata` and reads every installed package's entry points: ~20 ms of a `ticket show`
    that takes ~200 (issue #8). That function is the loader's only name pydantic imports (2.6 to 2.14);
    `tests/test_startup.py` checks that models still build and that the metadata stays unread.
    """
    name = "pydantic.plugin._loader"
    if name not in sys.modules:
        loader = types.ModuleType(name, "No pydantic plugins in csctl (see csctl.models).")
        loader.get_plugins = _no_plugins  # type: ignore[attr-defined]
        sys.modules[name] = loader


_skip_pydantic_plugin_discovery()
