"""S3 is exactly-once across kill -9, even when another output holds the checkpoint back.

The article's chunks go to S3 (CA) and CloudWatch (the rest); the tail checkpoint moves
only once both accepted them. With CloudWatch down, S3 has uploaded everything while the
checkpoint still sits at 0, so a restart reads every line again: the S3 output must
recognise what it already holds (its watermarks) and add nothing twice.
"""

from __future__ import annotations

from tests.faults.agent import wait_for
from tests.faults.conftest import World
from tests.support.fault_proxy import Forward, Request, Response, http_error


async def cloudwatch_down(request: Request, forward: Forward) -> Response | None:
    if request.operation:  # CloudWatch Logs calls carry X-Amz-Target; S3 calls do not
        return await http_error(503, "ServiceUnavailableException")(request, forward)
    return await forward(request)


def test_restart_after_kill_adds_nothing_twice_to_s3(world: World) -> None:
    world.proxy.inject(cloudwatch_down, times=None)
    agent = world.agent()
    writer = world.writer("app.log", ca_ratio=0.4)
    agent.wait_files(1)
    for _ in range(5):
        writer.write(400)
    wait_for(lambda: not world.s3_tally([writer]).lost, 60, 0.5, "every CA line in S3")
    assert world.s3_tally([writer]).duplicates == 0
    assert world.cw_tally([writer]).delivered == 0  # so the checkpoint never moved
    agent.kill9()

    world.proxy.clear()
    agent.start()
    world.wait_delivered([writer], timeout=90)
    held = agent.counter("output", "s3.0", "already_held_records")
    code, _ = agent.terminate()  # stopping uploads whatever the restart buffered
    assert code == 0
    s3, cw = world.s3_tally([writer]), world.cw_tally([writer])
    assert (s3.duplicates, len(s3.lost), s3.unexpected) == (0, 0, 0), s3.summary()
    assert (cw.duplicates, len(cw.lost)) == (0, 0), cw.summary()
    assert held == len(writer.written.ca)
