"""Reading a ``_bulk`` answer item by item, and answers that cannot be read so."""

from __future__ import annotations

import orjson
import pytest

from logtide.agent.core.errors import RetryableDeliveryError, is_retryable
from logtide.sinks.opensearch.response import parse, summary


def answer(*statuses: int, errors: bool = True) -> bytes:
    items = []
    for status in statuses:
        entry: dict[str, object] = {"_index": "i", "status": status}
        if status >= 300:
            entry["error"] = {
                "type": "mapper_parsing_exception" if status == 400 else "es_rejected_execution",
                "reason": "failed to parse field [n] of type [long]",
                "caused_by": {"type": "illegal_argument_exception", "reason": "For input: x"},
            }
        items.append({"create": entry})
    return orjson.dumps({"took": 3, "errors": errors, "items": items})


def test_items_are_accepted_resent_or_dropped_by_status() -> None:
    outcome = parse(answer(201, 200, 409, 429, 503, 400, 404), 7, "create")
    assert outcome.accepted == 2 and outcome.already_there == 1
    assert [(r.index, r.status) for r in outcome.retry] == [(3, 429), (4, 503)]
    assert [(r.index, r.status) for r in outcome.rejected] == [(5, 400), (6, 404)]
    assert outcome.rejected[0].reason == (
        "mapper_parsing_exception: failed to parse field [n] of type [long] "
        "(caused by illegal_argument_exception: For input: x)"
    )
    assert summary(outcome.rejected).startswith("1 x 400 mapper_parsing_exception")
    assert summary(outcome.rejected).endswith("; 1 other reason(s)")


def test_409_is_a_failure_for_index_and_errors_false_accepts_all() -> None:
    assert [r.status for r in parse(answer(409), 1, "index").rejected] == [409]
    assert parse(answer(201, 201, errors=False), 2, "create").accepted == 2


@pytest.mark.parametrize(
    "payload",
    [
        b"<html>502 Bad Gateway</html>",
        b"[]",
        orjson.dumps({"errors": False, "items": [{"create": {"status": 201}}]}),
        orjson.dumps({"errors": True, "items": [{"create": {}}, {"create": {"status": 201}}]}),
        orjson.dumps({"errors": True, "items": ["x", {"create": {"status": 201}}]}),
    ],
    ids=["not-json", "not-object", "short", "no-status", "not-map"],
)
def test_an_unreadable_answer_resends_the_whole_request(payload: bytes) -> None:
    with pytest.raises(RetryableDeliveryError) as caught:
        parse(payload, 2, "create")
    assert is_retryable(caught.value) and "\n" not in str(caught.value)
