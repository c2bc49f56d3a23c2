"""A ``_bulk`` answer, item by item: accepted, to be sent again, or rejected for good.

The answer holds one entry per action, in request order: ``{"<action>": {"status": N,
"error": {"type": ..., "reason": ...}}}``, and ``errors: true`` when any failed.
2xx is accepted. 409 for ``create`` means a document with that ``_id`` is already indexed
(a re-send of a ``Generate_ID``/``Id_Key`` document): accepted, as Fluent Bit treats it.
429 (a full write queue) and 5xx are transient: only those items are sent again. Anything
else (400 mapping errors, 404 for a missing index without auto-create) fails the same way
every time: those items are dropped and counted. An answer that is not that shape (not
JSON, no items, another count) tells nothing per item: the whole request is sent again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from logtide.agent.core.errors import RetryableDeliveryError


@dataclass(slots=True)
class ItemResult:
    index: int
    status: int
    reason: str


@dataclass(slots=True)
class Outcome:
    accepted: int = 0
    already_there: int = 0
    retry: list[ItemResult] = field(default_factory=list)
    rejected: list[ItemResult] = field(default_factory=list)


def retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


def _reason(entry: dict[str, Any]) -> str:
    error = entry.get("error")
    if isinstance(error, dict):
        kind = str(error.get("type") or "error")
        reason = " ".join(str(error.get("reason") or "").split())
        cause = error.get("caused_by")
        if isinstance(cause, dict) and cause.get("reason"):
            reason += f" (caused by {cause.get('type')}: {' '.join(str(cause['reason']).split())})"
        return f"{kind}: {reason}" if reason else kind
    if error:
        return " ".join(str(error).split())
    return f"status {entry.get('status')}"


def parse(payload: bytes, count: int, action: str) -> Outcome:
    """Classify each of the ``count`` items; raise :class:`RetryableDeliveryError` when the
    answer cannot be read item by item."""
    try:
        answer = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise RetryableDeliveryError(
            f"bulk answer is not JSON: {payload[:200]!r}; sending the request again"
        ) from None
    if not isinstance(answer, dict):
        raise RetryableDeliveryError("bulk answer is not a JSON object; sending it again")
    items = answer.get("items")
    if not isinstance(items, list) or len(items) != count:
        got = len(items) if isinstance(items, list) else "no"
        raise RetryableDeliveryError(
            f"bulk answer has {got} items for {count} actions; sending the request again"
        )
    outcome = Outcome()
    if answer.get("errors") is False:
        outcome.accepted = count
        return outcome
    for position, item in enumerate(items):
        entry = next(iter(item.values()), None) if isinstance(item, dict) and item else None
        status = entry.get("status") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or not isinstance(status, int):
            raise RetryableDeliveryError(
                f"bulk answer item {position} has no status; sending the request again"
            )
        if 200 <= status < 300:
            outcome.accepted += 1
        elif status == 409 and action == "create":
            outcome.already_there += 1
        elif retryable_status(status):
            outcome.retry.append(ItemResult(position, status, _reason(entry)))
        else:
            outcome.rejected.append(ItemResult(position, status, _reason(entry)))
    return outcome


def summary(results: list[ItemResult]) -> str:
    """``N x 400 mapper_parsing_exception: ...`` for the commonest reason, and how many
    other reasons there were."""
    counts: dict[tuple[int, str], int] = {}
    for result in results:
        key = (result.status, result.reason)
        counts[key] = counts.get(key, 0) + 1
    (status, reason), n = max(counts.items(), key=lambda kv: kv[1])
    others = len(counts) - 1
    tail = f"; {others} other reason(s)" if others else ""
    return f"{n} x {status} {reason}{tail}"
