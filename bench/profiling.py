"""Where a bench scenario's CPU goes: the real ``logtide --once`` under cProfile, by stage.

(Not named ``profile.py``: the standard library's ``cProfile`` imports ``profile``, and this
folder comes first on the path of a script run from it.)

    bench/profiling.py SCENARIO [--lines 300000] [--top 15] [--keep DIR/SCENARIO]
    bench/profiling.py SCENARIO --report DIR/SCENARIO     # the tables again, no run
    bench/profiling.py --summary DIR                      # one table, every kept scenario
    bench/profiling.py SCENARIO --py-spy                  # also a sampling cross-check

SCENARIO is one of bench/run.py's --once scenarios (a, a-cri, b, c, t, eks, eks-cw, aws, lua-0,
lua-1, ml, rewrite_tag, python, python-batch). The workload and config are the ones
bench/run.py builds; the child is this script in ``--child`` mode, which runs the CLI's
``main()`` with one ``cProfile.Profile`` on the main thread (the event loop) and one per
other thread (the executors doing sqlite, fsync and file appends), started by
``threading.setprofile``. Every function's own time is put in one stage by the module it
lives in; a built-in (``orjson.loads``, ``list.append``...) by its name where that says the
stage, else by the module of each caller, in proportion to the time spent under that caller.
Time blocked (epoll, locks, sleep, fsync) is reported apart: it is not CPU.

cProfile adds a fixed cost to every Python call (a stage of many small calls looks bigger
than it is; ``--py-spy`` samples instead): read the shares as a ranking with a few points
of slack, and plain ``bench/run.py`` runs for records per CPU-second.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

STARTUP = "start-up (imports, config, SQL compile)"
STAGES = ("read/split", "JSON decode", "parser", "filters", "stream SQL", "serialize",
          "output write/upload", "checkpoint/ack", "engine (router, runners)",
          "event loop + threads", "GC", STARTUP, "other")  # fmt: skip
WAIT = "waiting (not CPU)"
ORDER = ("a", "a-cri", "b", "c", "t", "eks", "eks-cw", "aws", "lua-0", "lua-1", "ml", "rewrite_tag",
         "python", "python-batch")  # fmt: skip

# Built-ins whose name says the stage, whoever calls them.
BUILTIN_STAGES: tuple[tuple[str, str], ...] = (
    (r"orjson\.loads|json\.decoder|_json\.scanstring|scan_once", "JSON decode"),
    (r"orjson\.dumps|_json\.encode", "serialize"),
    (r"posix\.fsync|posix\.fdatasync", WAIT),
    (r"'poll' of 'select|select\.select|time\.sleep|'acquire' of '_thread|'wait' of|'get' of"
     r" '_queue", WAIT),
    (r"sqlite3", "checkpoint/ack"),
    (r"gc\.collect", "GC"),
    (r"marshal\.loads|_imp\.|builtins\.compile|builtins\.__build_class__|'read' of '_io\.Buf"
     r"feredReader' objects>$|_io\.open_code", STARTUP),
)  # fmt: skip

# Python modules by path (the first match wins).
MODULE_STAGES: tuple[tuple[str, str], ...] = (
    (r"/inputs/tail/(checkpointer|checkpoint_db|inflight)\.py", "checkpoint/ack"),
    (r"/inputs/tail/decoder", "parser"),
    (r"/inputs/", "read/split"),
    (r"/agent/parsers/", "parser"),
    (r"/agent/filters/", "filters"),
    (r"/streamsql/(processor|windows|aggregate|snapshot|values)\.py|<streamsql ", "stream SQL"),
    (r"/streamsql/|/sqlglot/", STARTUP),
    (r"/agent/core/serialize\.py|/sinks/formats\.py|/sinks/s3/(serialize|body)\.py",
     "serialize"),
    (r"/sinks/|/botocore/|/aiohttp/|/yarl/|/multidict/|/http/|/email/|/ssl\.py"
     r"|/urllib/|/json/", "output write/upload"),
    (r"/agent/core/events\.py", "checkpoint/ack"),
    (r"/agent/engine/|/agent/core/(metrics|reclaim|retry)\.py", "engine (router, runners)"),
    (r"/asyncio/|/selectors\.py|/threading\.py|/concurrent/|/queue\.py|/contextvars|"
     r"/weakref\.py|/_weakrefset\.py", "event loop + threads"),
    (r"<frozen |/importlib/|/agent/config/|/agent/cli\.py|/agent/core/|/re/|/sre_|/typing\.py"
     r"|/dataclasses\.py|/enum\.py|/inspect\.py|/ast\.py|/functools\.py|/abc\.py|/argparse"
     r"|/linecache|/tokenize|/encodings/|/pathlib\.py|/posixpath\.py|/genericpath\.py"
     r"|/os\.py|/logging/|/collections/", STARTUP),
)  # fmt: skip

# Helpers several stages call at run time: their time goes to their callers' stages.
SHARED = r"/agent/core/(record_accessor|timestamps|tags|emitter)\.py|/agent/engine/emitter\.py"

Key = tuple[str, int, str]


def _name(key: Key) -> str:
    file, line, func = key
    return func if file == "~" else f"{file}:{line}({func})"


def _stage_of_module(key: Key) -> str | None:
    path = key[0]
    for pattern, stage in MODULE_STAGES:
        if re.search(pattern, path):
            if stage == "filters":  # one row per filter: which one costs is the question
                name = re.search(r"/agent/filters/(\w+)", path)
                return f"filters: {name[1] if name else '?'}"
            return stage
    return None


def stage_of(key: Key) -> str | None:
    """The stage a function's own time belongs to; None for a built-in or shared helper
    whose time is split among its callers."""
    file, _, func = key
    if file == "~":
        for pattern, stage in BUILTIN_STAGES:
            if re.search(pattern, func):
                return stage
        return None
    if re.search(SHARED, file):
        return None
    return _stage_of_module(key) or "other"


def _shares(table: dict[Key, Any], key: Key, depth: int = 0) -> dict[str, float]:
    """Fractions of ``key``'s own time per stage: its own stage, or its callers' (in
    proportion to the time spent under each), walking up through helpers."""
    stage = stage_of(key)
    if stage is not None:
        return {stage: 1.0}
    callers = table[key][4] if key in table else {}
    under = sum(c[3] for c in callers.values())
    if depth > 5 or not under:
        return {"other": 1.0}
    out: dict[str, float] = defaultdict(float)
    for caller, figures in callers.items():
        for name, part in _shares(table, caller, depth + 1).items():
            out[name] += part * figures[3] / under
    return out


def by_stage(stats: pstats.Stats) -> dict[str, float]:
    """Own time (seconds) per stage."""
    table: dict[Key, Any] = stats.stats  # type: ignore[attr-defined]
    totals: dict[str, float] = defaultdict(float)
    for key, figures in table.items():
        for stage, part in _shares(table, key).items():
            totals[stage] += figures[2] * part
    return dict(totals)


def top_functions(stats: pstats.Stats, count: int) -> list[tuple[str, float, str]]:
    table: dict[Key, Any] = stats.stats  # type: ignore[attr-defined]
    rows = sorted(table.items(), key=lambda item: -item[1][2])
    out = []
    for key, figures in rows:
        stage = stage_of(key) or "(by caller)"
        if stage == WAIT:
            continue
        out.append((_name(key), figures[2], stage))
        if len(out) == count:
            break
    return out


# --- the child: the CLI under a profiler, every thread ---------------------------------


def child(out_dir: Path, argv: list[str]) -> int:
    from logtide.agent.cli import main

    others: list[cProfile.Profile] = []

    def start(*_: object) -> None:
        profile = cProfile.Profile()
        others.append(profile)
        profile.enable()  # replaces this hook in the new thread

    threading.setprofile(start)
    main_profile = cProfile.Profile()
    main_profile.enable()
    try:
        code = main(argv)
    finally:
        main_profile.disable()
        threading.setprofile(None)
    main_profile.dump_stats(str(out_dir / "main.pstats"))
    for n, profile in enumerate(others):
        profile.dump_stats(str(out_dir / f"thread{n}.pstats"))
    return code


# --- the parent: workload, child, report -------------------------------------------------


@contextmanager
def scenario(name: str, root: Path, lines: int) -> Iterator[Path]:
    """Builds ``name``'s workload and config under ``root`` as bench/run.py does; yields
    the config (with any server it needs running)."""
    import python_filter
    from eks import write_tree
    from workload import LUA_FILTER, REWRITE_TAG, write_config, write_logs

    def tail(kind: str, fmt: str = "docker", extra: str = "", **values: str) -> Path:
        conf = write_config(root, kind, fmt, **values)
        if extra:
            conf.write_text(conf.read_text().replace("[OUTPUT]", extra + "[OUTPUT]", 1))
        write_logs(root / "logs" / "app.log", lines, fmt)
        return conf

    simple: dict[str, Callable[[], Path]] = {
        "a": lambda: tail("file"),
        "a-cri": lambda: tail("file", "cri"),
        "c": lambda: tail("null"),
        "t": lambda: tail("parse-null"),
        "ml": lambda: tail("multiline-null"),
        "lua-0": lambda: tail("null", extra=LUA_FILTER.format(code=0)),
        "lua-1": lambda: tail("null", extra=LUA_FILTER.format(code=1)),
        "rewrite_tag": lambda: tail("null", extra=REWRITE_TAG),
        "eks": lambda: write_tree(root, lines),
    }
    if name in simple:
        yield simple[name]()
    elif name in ("python", "python-batch"):
        batch = name == "python-batch"
        (root / "callback.py").write_text(
            python_filter.BATCH if batch else python_filter.PER_RECORD
        )
        section = python_filter.FILTER.format(path="callback.py", batch="On" if batch else "Off")
        yield tail("null", extra=section)
    elif name == "aws":
        sys.path.insert(0, str(HERE.parent))
        from tests.support.fake_imds import FakeImds, fake_imds

        with fake_imds(FakeImds(tags={"Name": "bench-node", "team": "logs"})) as imds:
            yield tail("aws-filter", imds=imds.url)
    elif name in ("b", "eks-cw"):
        from eks import CLOUDWATCH_OUTPUT, LOG_GROUP, NODE

        from logtide.agent.testing import moto_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        with moto_server() as moto:
            if name == "eks-cw":
                output = CLOUDWATCH_OUTPUT.format(
                    region=moto.region, endpoint=moto.endpoint, group=LOG_GROUP, node=NODE
                )
                yield write_tree(root, lines, output)
            else:
                moto.client("s3").create_bucket(Bucket="bench-logs")
                yield tail("aws", bucket="bench-logs", region=moto.region, endpoint=moto.endpoint)
    else:
        raise SystemExit(f"unknown scenario {name!r}")


def load(paths: list[Path]) -> pstats.Stats | None:
    if not paths:
        return None
    stats = pstats.Stats(str(paths[0]))
    for path in paths[1:]:
        stats.add(str(path))
    return stats


def report(name: str, lines: int, result: Any, main: pstats.Stats, threads: pstats.Stats | None,
           top: int) -> None:  # fmt: skip
    on_loop = by_stage(main)
    off_loop = by_stage(threads) if threads else {}
    busy_loop = sum(v for k, v in on_loop.items() if k != WAIT)
    busy_threads = sum(v for k, v in off_loop.items() if k != WAIT)
    busy = busy_loop + busy_threads
    run = "(from kept .pstats)"
    if result is not None:
        run = (f"profiled run {result.wall_s:.2f} s wall, {result.cpu_s:.2f} CPU-s, peak RSS "
               f"{result.peak_rss_mib:.1f} MiB")  # fmt: skip
    print(f"\n## {name}: {lines:,} lines, {run}")
    print(f"own time: event loop thread {busy_loop:.2f} s, other threads {busy_threads:.2f} s "
          f"(+ waiting: {on_loop.get(WAIT, 0):.2f} s loop, {off_loop.get(WAIT, 0):.2f} s "
          "threads)\n")  # fmt: skip
    print("| stage | loop s | threads s | % of own time |")
    print("|---|---:|---:|---:|")
    for stage in STAGES:
        names = [stage]
        if stage == "filters":
            names = sorted(k for k in {*on_loop, *off_loop} if k.startswith("filters: "))
        for name in names:
            a, b = on_loop.get(name, 0.0), off_loop.get(name, 0.0)
            if a + b >= 0.005:
                print(f"| {name} | {a:.2f} | {b:.2f} | {100 * (a + b) / busy:.1f}% |")
    print(f"\nTop {top} functions by own time (event loop thread):\n")
    print("| function | own s | stage |")
    print("|---|---:|---|")
    for func, own, stage in top_functions(main, top):
        short = re.sub(r"^.*?/(agent|sinks|streamsql|site-packages|python3\.\d+)/", r"\1/", func)
        print(f"| `{short}` | {own:.2f} | {stage} |")


def summary(root: Path) -> None:
    """One table: the share of each stage per scenario, from ``root/<scenario>/`` folders
    left by ``--keep``."""
    shares: dict[str, dict[str, float]] = {}
    for folder in sorted(p for p in root.iterdir() if (p / "main.pstats").exists()):
        totals: dict[str, float] = defaultdict(float)
        for path in folder.glob("*.pstats"):
            for stage, own in by_stage(pstats.Stats(str(path))).items():
                if stage != WAIT:
                    totals[stage.split(":")[0]] += own
        busy = sum(totals.values())
        shares[folder.name] = {stage: 100 * own / busy for stage, own in totals.items()}
    names = sorted(shares, key=lambda n: (n not in ORDER, ORDER.index(n) if n in ORDER else 0, n))
    print("| stage | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for stage in STAGES:
        row = [shares[n].get(stage, 0.0) for n in names]
        if max(row) >= 0.5:
            print(f"| {stage} | " + " | ".join(f"{v:.0f}%" for v in row) + " |")


# Stacks of py-spy --native that end waiting: an idle thread, not CPU.
IDLE_STACK = r"PyThread_acquire_lock_timed|pthread_cond_(timed)?wait|epoll_wait"


def sampled(raw: Path) -> dict[str, float]:
    """Share of CPU samples per stage from ``py-spy record --native -f raw``: each sample
    goes to the stage of its deepest frame that has one (orjson's native frames under a
    decoder or filter count as JSON decode); idle stacks are left out."""
    counts: dict[str, float] = defaultdict(float)
    for line in raw.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        frames = stack.split(";")
        if re.search(IDLE_STACK, ";".join(frames[-4:])):
            continue
        stage = "other"
        for frame in reversed(frames):
            where = re.search(r"\((.*?):\d+\)$", frame)
            if where is None:
                if "gc_collect" in frame:
                    stage = "GC"
                    break
                continue
            path = "/" + where[1]
            found = None if re.search(SHARED, path) else _stage_of_module((path, 0, ""))
            if found:
                stage = found.split(":")[0]
                break
        if stage in ("parser", "filters") and any("orjson" in f for f in frames[-3:]):
            stage = "JSON decode"
        counts[stage] += int(number)
    total = sum(counts.values())
    return {stage: 100 * n / total for stage, n in counts.items()}


def run_py_spy(conf: Path, out: Path) -> None:
    """The scenario once more under ``py-spy record`` (pip install py-spy; not a project
    dependency): a sampling cross-check without cProfile's per-call cost."""
    from measure import LOGTIDE, child_env

    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    raw = out / "py-spy.raw"
    argv = [spy, "record", "--native", "-r", "250", "-f", "raw", "-o", str(raw), "--",
            sys.executable, LOGTIDE, "-c", str(conf), "--once"]  # fmt: skip
    subprocess.run(argv, cwd=conf.parent, env=child_env(), check=True, capture_output=True)
    print("\npy-spy samples (no per-call cost), share of CPU samples:\n")
    print("| stage | % |\n|---|---:|")
    for stage, share in sorted(sampled(raw).items(), key=lambda kv: -kv[1]):
        print(f"| {stage} | {share:.1f}% |")


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--summary":
        summary(Path(sys.argv[2]))
        return 0
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        return child(Path(sys.argv[2]), sys.argv[4:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario")
    parser.add_argument("--lines", type=int, default=300_000)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--keep", help="a folder to leave the .pstats files in")
    parser.add_argument("--report", help="only print the tables of a --keep folder")
    parser.add_argument("--py-spy", action="store_true", help="also sample a run with py-spy")
    args = parser.parse_args()
    from measure import run_command, warm_up

    if args.report:
        kept = Path(args.report)
        threads = load(sorted(kept.glob("thread*.pstats")))
        main_stats = load([kept / "main.pstats"])
        assert main_stats is not None
        report(args.scenario, args.lines, None, main_stats, threads, args.top)
        return 0
    keep = Path(args.keep) if args.keep else None
    with (
        tempfile.TemporaryDirectory(prefix=f"profile-{args.scenario}-") as tmp,
        scenario(args.scenario, Path(tmp), args.lines) as conf,
    ):
        out = keep or Path(tmp) / "pstats"
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("*.pstats"):
            old.unlink()
        warm_up(conf)
        argv = [sys.executable, __file__, "--child", str(out), "--", "-c", str(conf), "--once"]
        result = run_command(argv, conf.parent, args.lines, args.scenario)
        main_stats = load([out / "main.pstats"])
        assert main_stats is not None
        threads = load(sorted(out.glob("thread*.pstats")))
        report(args.scenario, args.lines, result, main_stats, threads, args.top)
        if args.py_spy:
            for folder in ("state", "out"):
                shutil.rmtree(conf.parent / folder, ignore_errors=True)
                (conf.parent / folder).mkdir()
            run_py_spy(conf, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
