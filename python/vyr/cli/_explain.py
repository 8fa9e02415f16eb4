"""What the CLI says about an error: one `error:` line and at most one `hint:`.

Most errors carry both themselves (the message, and the hint of their class or instance). A few
messages come from the core, which cannot know what the CLI knows (which keys this node trusts,
that a stored artifact keeps its first manifest); those are rewritten here, so each fact and
each hint is said exactly once.
"""

from __future__ import annotations

import re
from typing import Any

from vyr.errors import ArtifactConflict, InvalidDigest, UntrustedSigner

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# The core's own advice, which the hint below replaces (it would otherwise appear twice).
_CORE_TRUST_ADVICE = re.compile(r": add its public key with 'vyr trust add'")
_CORE_CONFLICT_TAIL = re.compile(
    r"; remove nothing, re-sign under a new module or keep the stored one"
)
_CORE_INVALID_DIGEST = re.compile(r'invalid digest "(.*)": ')


def explain(error: BaseException, node: Any = None) -> tuple[str, str | None]:
    """(message, hint) for `error`; `node` (the one the command opened, if any) is asked only
    for what the message needs, e.g. the trusted key ids."""
    message, hint = str(error), getattr(error, "hint", None)
    if isinstance(error, UntrustedSigner):
        return _untrusted(message, node)
    if isinstance(error, ArtifactConflict):
        return _conflict(message)
    if isinstance(error, InvalidDigest):
        return message, _did_you_mean(message) or hint
    return message, hint


def _untrusted(message: str, node: Any) -> tuple[str, str]:
    message = _CORE_TRUST_ADVICE.sub("", message)
    signer = _DIGEST.search(message.partition("untrusted signer ")[2] or message)
    trusted = _trusted_ids(node)
    if trusted is not None:
        listed = ", ".join(trusted) if trusted else "no key yet"
        message += f"; this node trusts {listed}"
    who = signer[0] if signer else "the signer"
    return message, (
        f"if you trust the author of {who}, trust their public key: 'vyr trust add KEY.pub' "
        "(it prints the key id, which must match)"
    )


def _conflict(message: str) -> tuple[str, str]:
    digest = _DIGEST.search(message)
    message = _CORE_CONFLICT_TAIL.sub("", message)
    message += (
        " (the module was signed again, with other options or another key); a stored"
        " artifact keeps the manifest it was first put with"
    )
    reference = digest[0] if digest else "DIGEST"
    return message, (
        f"run the stored one as it is ('vyr run {reference}', per-run --env/--timeout/-- ARGS "
        "override its defaults), re-sign with its original options, or change the module bytes"
        " to make a new artifact"
    )


def _did_you_mean(message: str) -> str | None:
    from vyr.cli._values import digest_problem

    quoted = _CORE_INVALID_DIGEST.search(message)
    if quoted is None:
        return None
    problem = digest_problem(quoted[1])
    return problem[1] if problem is not None else None


def _trusted_ids(node: Any) -> list[str] | None:
    """The key ids `node` trusts, or None when that cannot be told."""
    if node is None:
        return None
    try:
        return [key_id for key_id, _ in node.trust_list()]
    except Exception:  # explaining one error must never raise another (e.g. a closed channel)
        return None
