"""The ``logtide`` command: Fluent Bit's flags, plus ``--once`` and ``--dry-run``."""

from __future__ import annotations

import asyncio
import ctypes
import gc
import importlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

from logtide.agent.cli_args import CLI, Arguments, parse_args, usage
from logtide.agent.config.loader import load_file, load_string
from logtide.agent.config.model import ConfigDocument, Section
from logtide.agent.core.descriptors import raise_open_file_limit
from logtide.agent.core.errors import ConfigError, LogtideError
from logtide.agent.core.options import Entry, did_you_mean
from logtide.agent.core.plugins import REGISTRY, Kind, load_plugin
from logtide.agent.engine.plan import Plan, build_plan
from logtide.agent.logs import configure

DEFAULT_CONFIG = "/fluent-bit/etc/fluent-bit.conf"
# mallopt(3)'s parameter number for the arena limit (glibc malloc.h).
_M_ARENA_MAX = -8
SUBCOMMANDS = {
    "demo": "logtide.agent.companions.demo:main",
    "athena": "logtide.agent.companions.athena.cli:main",
}
log = logging.getLogger("logtide")


def package_version() -> str:
    try:
        return version("logtide")
    except PackageNotFoundError:
        return "0+unknown"


def build_document(args: Arguments) -> ConfigDocument:
    """The config file (if any) with the command line's plugins and settings added."""
    service = [Entry("Parsers_File", p, CLI) for p in args.parsers_files]
    if args.flush:
        service.append(Entry("Flush", args.flush, CLI))
    service.extend(args.service)
    has_plugins = any(s.kind in ("input", "output") for s in args.sections)
    path = args.config or (None if has_plugins else DEFAULT_CONFIG)
    if path:
        document = load_file(path, extra_service=service)
    else:
        document = load_string("", name="<command line>", extra_service=service)
    targets = {"input": document.inputs, "filter": document.filters, "output": document.outputs}
    for section in args.sections:
        targets[section.kind].append(section)
    for index, sql in enumerate(args.stream_tasks):
        entries = [Entry("Name", f"cli_task_{index}", CLI), Entry("Exec", sql, CLI)]
        document.stream_tasks.append(Section("stream_task", CLI, entries))
    return document


def plugin_help(name: str, kind: str | None = None) -> str:
    """A plugin's options; ``kind`` narrows a name several kinds share (``-i tail -h``)."""
    kinds: list[Kind] = [
        k
        for k in ("input", "filter", "output")
        if kind in (None, k) and name.lower() in REGISTRY[k]
    ]
    if not kinds:
        names = sorted({n for table in REGISTRY.values() for n in table})
        raise ConfigError(
            f"unknown plugin '{name}'{did_you_mean(name, names)}; available: {', '.join(names)}"
        )
    blocks = []
    for kind in kinds:
        cls = load_plugin(kind, name)
        lines = [f"{kind} plugin '{cls.name}': {cls.description}", ""]
        width = max(len(o.name) for o in cls.options)
        for option in cls.options:
            default = option.default_text()
            extra = f" [{'/'.join(option.choices)}]" if option.choices else ""
            flags = " (required)" if option.required else " (repeatable)" if option.multiple else ""
            lines.append(
                f"  {option.name:<{width}}  {option.type:<5}  default {default:<12} "
                f"{option.description}{extra}{flags}"
            )
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def general_help() -> str:
    lines = [usage(), "plugins:"]
    kinds: tuple[Kind, ...] = ("input", "filter", "output")
    for kind in kinds:
        lines.append(f"  {kind + 's:':<9} {', '.join(sorted(REGISTRY[kind]))}")
    return "\n".join(lines) + "\n"


def _log_settings(args: Arguments, plan: Plan) -> None:
    """The agent's log as the flags and ``[SERVICE]`` set it, then a warning for each part
    of the plan that can never get a record (at start, and at each reload)."""
    service = plan.service
    if args.quiet:
        level = "error"
    elif args.verbosity:
        level = "debug" if args.verbosity == 1 else "trace"
    else:
        level = service.log_level
    configure(level, args.log_file or service.log_file, service.log_format)
    for spec in plan.unmatched():
        # Fluent Bit warns the same way: such an instance is valid but never gets a record.
        log.warning("%s has no Match or Match_Regex: it takes no record", spec.label)


async def _run(args: Arguments, plan: Plan) -> int:
    from logtide.agent.engine.reload import Supervisor
    from logtide.agent.progress import Progress

    supervisor = Supervisor(
        plan,
        lambda: build_plan(build_document(args)),
        once=args.once,
        version=package_version(),
        on_reload=lambda new: _log_settings(args, new),
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _caught, sig, supervisor.request_stop)
    loop.add_signal_handler(signal.SIGHUP, _caught, signal.SIGHUP, supervisor.request_reload)
    progress = Progress(supervisor.view, sys.stderr) if args.once and not args.quiet else None
    if progress is not None and sys.stderr.isatty():
        supervisor.tasks.spawn(progress.run(), "progress")
    try:
        code = await supervisor.run()
    except LogtideError as exc:
        log.error("%s", exc)
        return 1
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
    if progress is not None:
        progress.finish()
    log.info("[engine] service has stopped (exit code %d)", code)
    return code


def _caught(sig: signal.Signals, action: Callable[[], object]) -> None:
    # Said before acting: a stop that then hangs on an output shows what started it.
    log.info("[engine] caught signal (%s)", sig.name)
    action()


def _tune_gc() -> None:
    """Records are acyclic dicts that reference counting frees, but their allocations still
    trigger the cyclic collector, which then walks every live object (imported modules
    included): about a third of the CPU at 100k records/s. Freeze what start-up built and
    collect young objects far less often.

    Safe because no cycle holding much memory waits on that schedule: while records flow,
    50,000 allocations take milliseconds, and a successful request leaves only small cycles
    (parsers, futures). The one large kind, a failed request holding its body, comes when
    nothing flows; whoever retries it releases it at once (``logtide.agent.core.reclaim``)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 10, 10)


def _one_malloc_arena() -> None:
    """glibc gives each thread that allocates a malloc arena of its own, and each arena keeps
    what it freed: the outputs' call and journal threads, allocating request bodies and
    answers, added ~8 MiB of peak RSS (bench scenario ``b``). Python's small objects do not
    come from malloc, so one shared arena costs no contention we could measure. Must run
    before any thread starts; a libc without ``mallopt``, or ``MALLOC_ARENA_MAX`` set by the
    operator, keeps its own behaviour."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return
    mallopt(_M_ARENA_MAX, 1)


def _subcommand(argv: list[str]) -> int:
    module_name, _, func = SUBCOMMANDS[argv[0]].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            print(f"logtide: '{argv[0]}' is not available in this build yet", file=sys.stderr)
            return 2
        raise
    result: int = getattr(module, func)(argv[1:])
    return result


def _change_dir(path: str) -> None:
    """``-w``: as in Fluent Bit, relative paths in the config then start from ``path``."""
    try:
        os.chdir(path)
    except OSError as exc:
        raise ConfigError(f"-w {path}: {exc.strerror}", CLI) from None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        return _subcommand(argv)
    try:
        args = parse_args(argv)
        for note in args.notes:
            print(f"logtide: note: {note}", file=sys.stderr)
        if args.help_json:
            from logtide.agent.help_json import help_json

            sys.stdout.write(help_json(package_version(), args.help_kind, args.help_plugin))
            return 0
        if args.help:
            plugin = args.help_plugin
            sys.stdout.write(plugin_help(plugin, args.help_kind) if plugin else general_help())
            return 0
        if args.version:
            print(f"logtide v{package_version()} (Fluent Bit-compatible)")
            return 0
        if args.workdir:
            _change_dir(args.workdir)
        document = build_document(args)
        plan = build_plan(document)
        _log_settings(args, plan)
    except LogtideError as exc:
        print(f"logtide: error: {exc}", file=sys.stderr)
        return 1
    if args.dry_run:
        print("configuration test is successful")
        return 0
    log.info(
        "[logtide] version=%s, pid=%d, %d input(s), %d output(s)",
        package_version(),
        os.getpid(),
        len(plan.inputs),
        len(plan.outputs),
    )
    _one_malloc_arena()
    raise_open_file_limit()
    _tune_gc()
    try:
        return asyncio.run(_run(args, plan))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
