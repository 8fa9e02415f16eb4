"""Paging of `ListTasks` (docs/api.md, "Paging"): page sizes, and opaque page tokens.

A token names a position in the journal (its row sequence number, which only grows), so a page
is one indexed range read whatever the journal holds, and tasks accepted while a client pages
appear on a later page instead of shifting the ones it has not read yet.
"""

from __future__ import annotations

import base64
import binascii

from vyr.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 10_000
_PREFIX = "tasks-after:"


def page_size(requested: int) -> int:
    """The page size to serve: the default for 0, at most MAX_PAGE_SIZE (AIP-158 coerces)."""
    return min(requested, MAX_PAGE_SIZE) if requested else DEFAULT_PAGE_SIZE


def token_after(position: int) -> str:
    """The token of the page that starts after journal position `position`."""
    return base64.urlsafe_b64encode(f"{_PREFIX}{position}".encode()).decode().rstrip("=")


def position_of(token: str) -> int:
    """The journal position a token starts after (0 for "": from the first task)."""
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    position = text.removeprefix(_PREFIX)
    if not text.startswith(_PREFIX) or not position.isdigit():
        raise InvalidArgument(
            f"page_token {token!r} is not one this daemon returned (send a next_page_token"
            " back unchanged, or none for the first page)"
        )
    return int(position)
