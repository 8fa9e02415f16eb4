"""Where a node lives: `VYR_HOME`, else the XDG data directory."""

from __future__ import annotations

import os
from pathlib import Path


def default_home() -> Path:
    """The node home: `$VYR_HOME`, else `$XDG_DATA_HOME/vyr`, else `~/.local/share/vyr`."""
    explicit = os.environ.get("VYR_HOME")
    if explicit:
        return Path(explicit).expanduser()
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "vyr"
