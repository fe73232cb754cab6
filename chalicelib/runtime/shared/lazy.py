"""Deferred imports of heavy packages, one thread at a time.

The runtime imports boto3, Powertools and PyJWT inside functions, so a Lambda cold start
pays only for what the invoked handler uses. Python imports one module under a lock of
its own and, when two threads' imports of a package wait on each other, hands one of them
the package half initialised ("cannot import name ... from partially initialized
module"): Powertools' package and its metrics module import each other, so the local
stack's first concurrent requests (threads, where Lambda runs one request per container)
failed after their commit. Every deferred import goes through ``load``, which takes one
process-wide lock unless the module is already fully imported. Limit: a module loaded
this way must not, while it is imported, wait for another thread that calls ``load``
(that thread would wait for the lock for ever); boto3, Powertools and PyJWT do not.
"""

from __future__ import annotations

import importlib
import sys
import threading
from types import ModuleType
from typing import Any

__all__ = ["imported", "load"]

_importing = threading.RLock()


def load(name: str) -> ModuleType:
    """The module ``name``, imported now if it was not, never half initialised."""
    module = sys.modules.get(name)
    if module is not None and not getattr(
        getattr(module, "__spec__", None), "_initializing", False
    ):
        return module
    with _importing:
        return importlib.import_module(name)


def imported(module: str, *names: str) -> tuple[Any, ...]:
    """``names`` from ``module`` (``from module import names``), through ``load``."""
    loaded = load(module)
    return tuple(getattr(loaded, name) for name in names)
