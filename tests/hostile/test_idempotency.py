"""Issue 13 item 5: an idempotency key reused with a different request is refused.

Today the daemon returns the first task for any request with the same key, so a client that
retries with changed input silently gets someone else's result. Fixed: the daemon keeps a digest
of the request with the key; the same request gets the same task, another one is refused with
`FAILED_PRECONDITION` ("idempotency key reused with a different request"), also after a restart.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from vyr.errors import VyrError
from vyr.types import Resources

from harness.daemon import Daemon, start_daemon
from harness.guests import Signed, sign_guests

ITEM_5 = "issue 13 item 5: a reused idempotency key with another request returns the first task"
REUSED = "idempotency key reused with a different request"
FIRST: dict[str, Any] = {"input_ref": b"first", "args": ["0"], "env": {"K": "1"}}
CHANGES: dict[str, dict[str, Any]] = {
    "input": {"input_ref": b"second"},
    "args": {"args": ["3"]},
    "env": {"env": {"K": "2"}},
    "resources": {"resources": Resources(timeout_s=7)},
    "deterministic": {"deterministic": True},
}
_keys = itertools.count()


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Signed:
    return sign_guests(tmp_path_factory.mktemp("idempotency-guests"), ("hello",))


@pytest.fixture(scope="module")
def served(signed: Signed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """A client to one daemon for this module, and hello's digest there."""
    from vyr.client import Client

    daemon = start_daemon(tmp_path_factory.mktemp("idempotency") / "home")
    try:
        with Client(daemon.endpoint) as client:
            client.trust_add(signed.public_key)
            yield client, client.put_module_file(signed.module("hello")).digest
    finally:
        daemon.kill()


def _assert_refused(client: Any, digest: str, key: str, request: dict[str, Any]) -> None:
    with pytest.raises(VyrError) as refused:
        client.submit_task(digest, idempotency_key=key, **request)
    assert refused.value.grpc_status == "FAILED_PRECONDITION", repr(refused.value)
    assert REUSED in str(refused.value)


def test_the_same_request_with_the_same_key_is_the_same_task(served: tuple[Any, str]) -> None:
    """The control: a retry of the identical request returns the first task and runs once."""
    client, digest = served
    key = f"same-{next(_keys)}"
    first = client.submit_task(digest, idempotency_key=key, **FIRST)
    again = client.submit_task(digest, idempotency_key=key, **FIRST)
    assert again.id == first.id
    assert first.wait(10).stdout == b"FIRST"
    assert [t.id for t in client.list_tasks()].count(first.id) == 1


@pytest.mark.parametrize("changed", sorted(CHANGES))
def test_a_key_reused_with_a_different_request_is_refused(
    served: tuple[Any, str], changed: str
) -> None:
    client, digest = served
    key = f"changed-{changed}-{next(_keys)}"
    first = client.submit_task(digest, idempotency_key=key, **FIRST)
    first.wait(10)
    _assert_refused(client, digest, key, {**FIRST, **CHANGES[changed]})


def test_a_key_reused_with_a_different_request_is_refused_after_a_restart(
    tmp_path: Path, signed: Signed, daemons: list[Daemon]
) -> None:
    from vyr.client import Client

    home = tmp_path / "home"
    daemon = start_daemon(home)
    daemons.append(daemon)
    with Client(daemon.endpoint) as client:
        client.trust_add(signed.public_key)
        digest = client.put_module_file(signed.module("hello")).digest
        client.submit_task(digest, idempotency_key="restart", **FIRST).wait(10)
    assert daemon.terminate() == 0
    daemon = start_daemon(home)
    daemons.append(daemon)
    with Client(daemon.endpoint) as client:
        _assert_refused(client, digest, "restart", {**FIRST, "input_ref": b"changed"})
