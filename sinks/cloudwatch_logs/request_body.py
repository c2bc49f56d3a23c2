"""PutLogEvents bodies written by orjson instead of botocore's serializer.

botocore walks every event through its JSON serializer (the shapes of a structure, then
``json.dumps`` escaping every non-ASCII character and quote): ~5 us an event, the largest
part of this output's CPU. The client still builds, signs and sends the request; two of
its events swap only the body: ``before-parameter-build`` takes ``logEvents`` out of the
parameters (botocore serializes the rest), ``before-call`` writes the body with them.
The JSON is the same document (UTF-8 instead of ``\\u`` escapes, which the JSON protocol
accepts); ``tests/unit/sinks/cloudwatch_logs/test_request_body.py`` compares them.

The output passes ``logEvents`` as an ``orjson.Fragment`` of the array it already encoded
for its journal: the body then copies those bytes instead of encoding every event again.
"""

from __future__ import annotations

from typing import Any

import orjson

_EVENTS = "logtide.log_events"


def _take_events(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    context[_EVENTS] = params.pop("logEvents")


def _write_body(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    body = orjson.loads(params["body"]) if params["body"] else {}
    body["logEvents"] = context.pop(_EVENTS)
    params["body"] = orjson.dumps(body)


def write_bodies_with_orjson(client: Any) -> None:
    """Make ``client`` (a botocore CloudWatch Logs client) write its PutLogEvents bodies."""
    events = client.meta.events
    events.register("before-parameter-build.cloudwatch-logs.PutLogEvents", _take_events)
    events.register("before-call.cloudwatch-logs.PutLogEvents", _write_body)
