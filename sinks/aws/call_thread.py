"""The thread an output's botocore calls run on, so the event loop never blocks on AWS.

botocore is synchronous. Each :class:`~logtide.sinks.aws.client.AwsClients` owns one
:class:`CallThread`, and every call of that output (serialising, signing, the HTTP exchange,
parsing the answer) runs on it in order, as the output sends one request at a time anyway.
One thread per output, not a pool: every thread that allocates grows a malloc arena of its
own.

The thread is a daemon. A call still waiting on a silent server when the agent stops would
otherwise hold the process until its read timeout ran out; the awaiting task is cancelled
and its answer dropped, which loses nothing, since no checkpoint moves before an answer.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

_Job = tuple[Future[Any], Callable[[], Any]]


class CallThread:
    """Runs blocking calls in order on one daemon thread, started on the first call."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    async def run(self, call: Callable[[], T]) -> T:
        """``call()``'s result (or exception), computed on the thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
            self._thread.start()
        done: Future[T] = Future()
        self._jobs.put((done, call))
        return await asyncio.wrap_future(done)

    def close(self, last: Callable[[], object] | None = None) -> None:
        """Let the thread end once the calls queued before are done, running ``last``
        (closing connections) after them. Does not wait: a call still in flight when an
        output stops must not hold the stop past its grace period."""
        if self._thread is not None:
            if last is not None:
                self._jobs.put((Future(), last))
            self._jobs.put(None)
            self._thread = None

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            done, call = job
            if not done.set_running_or_notify_cancel():
                continue
            try:
                done.set_result(call())
            except BaseException as exc:
                done.set_exception(exc)
