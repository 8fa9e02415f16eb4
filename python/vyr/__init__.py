"""VYR: signed, digest-addressed WebAssembly tasks on one node.

Importing `vyr` is cheap; the Rust extension loads on first use of `Runtime` or the key helpers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vyr.errors import VyrError
from vyr.types import Artifact, Resources, State, StateBinding, TaskResult

if TYPE_CHECKING:
    from vyr.keys import generate_key, sign_module
    from vyr.runtime import Runtime, Task

__version__ = "0.1.0"
__all__ = [
    "Artifact",
    "Resources",
    "Runtime",
    "State",
    "StateBinding",
    "Task",
    "TaskResult",
    "VyrError",
    "generate_key",
    "sign_module",
]

_LAZY = {
    "Runtime": "vyr.runtime",
    "Task": "vyr.runtime",
    "generate_key": "vyr.keys",
    "sign_module": "vyr.keys",
    "Client": "vyr.client",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vyr' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
