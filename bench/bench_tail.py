"""Benchmark: tail + docker parser + parser filter -> null on the article's app logs.

Scenario ``t`` of ``bench/run.py`` on its own: N lines (default 1,000,000) of the sample
order app's JSON in docker json-file format through ``logtide -c <conf> --once``
(``--repeat`` times, measured as bench/README.md describes); reports records/s (wall and
per CPU second) and the peak RSS of the logtide process. ``--in-process`` runs the tail and
the parser filter without the engine. Run by hand: ``python bench/bench_tail.py``.
Aim: >= 150,000 records/s on one core, peak RSS <= 80 MiB.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path

from run import scenario_tail
from workload import write_logs


async def _in_process(log: Path) -> tuple[int, float]:
    """tail + parser filter without the engine: the input's own ceiling."""
    # Plugins are built the way the test suite builds them (tests/support/plugins.py).
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from logtide.agent.core.errors import Location
    from logtide.agent.core.events import Chunk
    from logtide.agent.core.options import Entry
    from logtide.agent.filters.parser import ParserFilter
    from logtide.agent.inputs.tail import TailInput
    from logtide.agent.parsers.base import ParserSection
    from logtide.agent.parsers.multiline import MultilineRegistry
    from logtide.agent.parsers.registry import ParserRegistry
    from tests.support.plugins import build, plugin_context

    where = Location("bench", 1)
    dummy = ParserSection(where, (Entry("Name", "dummy", where), Entry("Format", "json", where)))
    parsers = ParserRegistry.from_sections([dummy])
    count = 0
    async with plugin_context(
        once=True, parsers=parsers, multiline_parsers=MultilineRegistry()
    ) as context:
        tail = build(
            TailInput,
            context,
            path=str(log),
            parser="docker",
            docker_mode="on",
            read_from_head="on",
        )
        parser = build(
            ParserFilter, context, match="*", parser="dummy", key_name="log", reserve_data="true"
        )

        async def emit(chunk: Chunk) -> None:
            nonlocal count
            count += len(parser(chunk.tag, chunk.events))
            chunk.ack.settle(True)

        started = time.perf_counter()
        await tail.run(emit)
        await tail.close()
    return count, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs; the fastest is shown")
    parser.add_argument(
        "--in-process", action="store_true", help="tail + parser filter only, no engine/CLI"
    )
    args = parser.parse_args()
    if args.in_process:
        with tempfile.TemporaryDirectory(prefix="bench-tail-") as tmp:
            log = Path(tmp) / "app.log"
            write_logs(log, args.lines, "docker")
            count, wall = asyncio.run(_in_process(log))
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"in-process: {count:,} records in {wall:.2f} s -> {count / wall:,.0f} records/s")
        print(f"peak RSS:   {rss:.1f} MiB")
        return 0
    result = scenario_tail(args.lines, args.repeat)
    runs = sorted(v for k, v in result.extra.items() if k.endswith("_wall_s"))
    print(f"lines:            {args.lines:,}")
    print(f"wall:             {result.wall_s:.2f} s  -> {result.records_per_s:,.0f} records/s")
    print(
        f"cpu (user+sys):   {result.cpu_s:.2f} s  -> {result.records_per_cpu_s:,.0f} records/CPU-s"
    )
    print(f"peak RSS:         {result.peak_rss_mib:.1f} MiB")
    print(f"runs (wall s):    {', '.join(f'{v:.2f}' for v in runs)}; the fastest is shown")
    return 0


if __name__ == "__main__":
    sys.exit(main())
