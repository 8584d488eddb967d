"""Pydantic models of every record kind and of the ledger's settings."""

import importlib
import importlib.machinery
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
    if name in sys.modules:
        return
    loader = types.ModuleType(name, "No pydantic plugins in csctl (see csctl.models).")
    loader.__spec__ = importlib.machinery.ModuleSpec(name, None)
    loader.get_plugins = _no_plugins  # type: ignore[attr-defined]

    def real_loader(attribute: str) -> object:
        # A pydantic that asks the loader for anything else gets the real one: slower, never broken.
        # (Not for the import system's own questions, such as whether it is a package.)
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        del sys.modules[name]
        return getattr(importlib.import_module(name), attribute)

    loader.__getattr__ = real_loader  # type: ignore[method-assign]
    sys.modules[name] = loader


_skip_pydantic_plugin_discovery()
