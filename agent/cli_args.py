"""Fluent Bit's command line (every flag ``fluent-bit -h`` of 5.1.1 lists), where order
matters: ``-p``, ``-m`` and ``-t`` apply to the plugin named by the ``-i``/``-F``/``-o``
before them, and ``-h`` after one shows that plugin's options.

Parsing follows getopt_long as Fluent Bit uses it: short flags combine (``-vv``, ``-DH``),
a short flag's value may be attached (``-P2021``), a long one's may follow ``=``, and a long
flag may be shortened to any unambiguous prefix. Flags that mean nothing in logtide are
accepted with a one-line note, never an error, so Fluent Bit command lines run unchanged.
"""

from __future__ import annotations

import argparse
import textwrap
from dataclasses import dataclass, field

from logtide.agent.config.model import Section
from logtide.agent.core.errors import ConfigError, Location
from logtide.agent.core.options import Entry

CLI = Location("<command line>", 0)
HELP_COLUMN = 30
HELP_WIDTH = 100


@dataclass(frozen=True)
class Flag:
    short: str
    longs: tuple[str, ...]
    target: str
    metavar: str | None
    help: str
    ignored: str | None = None  # why logtide accepts the flag and does nothing with it

    @property
    def names(self) -> list[str]:
        return ([f"-{self.short}"] if self.short else []) + [f"--{name}" for name in self.longs]


# Service settings a flag sets, as Fluent Bit's own flags do: (key, fixed value or None).
_SERVICE = {
    "storage_path": ("storage.path", None),
    "http_server": ("HTTP_Server", "On"),
    "http_listen": ("HTTP_Listen", None),
    "http_port": ("HTTP_Port", None),
    "hot_reload": ("Hot_Reload", "On"),
}

FLAGS: tuple[Flag, ...] = (
    Flag("c", ("config",), "config", "FILE",
         "configuration file, classic .conf or .yaml (default: /fluent-bit/etc/fluent-bit.conf)"),
    Flag("i", ("input",), "input", "INPUT", "add an input plugin"),
    Flag("F", ("filter",), "filter", "FILTER", "add a filter plugin"),
    Flag("o", ("output",), "output", "OUTPUT", "add an output plugin"),
    Flag("p", ("prop",), "prop", "KEY=VALUE", "set a property of the last -i/-F/-o plugin"),
    Flag("m", ("match",), "match", "MATCH", "Match of the last filter or output (default *)"),
    Flag("t", ("tag",), "tag", "TAG", "Tag of the last input"),
    Flag("R", ("parser",), "parser", "FILE", "a parsers file (service Parsers_File)"),
    Flag("T", ("sp-task",), "sp_task", "SQL", "add a stream-processor task"),
    Flag("f", ("flush",), "flush", "SECONDS", "flush interval in seconds (default: 1)"),
    Flag("b", ("storage_path",), "storage_path", "PATH",
         "buffer every output's queue on disk under PATH (service storage.path)"),
    Flag("H", ("http", "http_server"), "http_server", None,
         "serve the monitoring HTTP API (service HTTP_Server On)"),
    Flag("L", ("http_listen",), "http_listen", "ADDRESS",
         "address of the HTTP server (default: 0.0.0.0)"),
    Flag("P", ("port", "http_port"), "http_port", "PORT",
         "TCP port of the HTTP server (default: 2020)"),
    Flag("Y", ("enable-hot-reload",), "hot_reload", None,
         "reload the configuration on SIGHUP or POST /api/v2/reload (service Hot_Reload On)"),
    Flag("w", ("workdir",), "workdir", "DIR", "change to DIR before reading the configuration"),
    Flag("l", ("log_file", "log-file"), "log_file", "FILE", "write the agent's log to FILE"),
    Flag("D", ("dry-run",), "dry_run", None, "validate the configuration and exit"),
    Flag("", ("once",), "once", None,
         "logtide: read inputs to their end, deliver everything, exit "
         "(1 if anything could not be delivered); tail reads a file with no checkpoint "
         "from its start unless the config says Read_from_Head Off"),
    Flag("v", ("verbose",), "verbose", None, "debug logging; -vv: trace (also per chunk)"),
    Flag("q", ("quiet",), "quiet", None, "log errors only"),
    Flag("V", ("version",), "version", None, "print the version and exit"),
    Flag("h", ("help",), "help", None,
         "this help; -h PLUGIN or -i/-F/-o PLUGIN -h: that plugin's options"),
    Flag("J", ("help-json",), "help_json", None,
         "this help's options as JSON; after -i/-F/-o PLUGIN: that plugin's"),
    # Accepted so Fluent Bit command lines run unchanged; each prints why it does nothing.
    Flag("d", ("daemon",), "ignored", None, "run in the background",
         "logtide stays in the foreground (run it under systemd or as a container)"),
    Flag("", ("supervisor",), "ignored", None, "run under a supervising parent process",
         "logtide runs as one process; its supervisor restarts the pipeline on reload"),
    Flag("C", ("custom",), "custom", "CUSTOM", "enable a custom plugin",
         "logtide has no custom plugins"),
    Flag("r", ("processor",), "custom", "PROCESSOR", "a processor plugin (for -h)",
         "logtide has no processor plugins"),
    Flag("e", ("plugin",), "ignored", "FILE", "load an external plugin (shared library)",
         "logtide cannot load shared-library plugins"),
    Flag("s", ("coro_stack_size",), "ignored", "BYTES", "coroutine stack size",
         "logtide's coroutines have no stack to size"),
    Flag("S", ("sosreport",), "ignored", None, "support report",
         "logtide has no support report; see -vv and /api/v1/metrics"),
    Flag("W", ("disable-thread-safety-on-hot-reload", "disable-thread-safety-on-hot-reloading"),
         "ignored", None, "disable thread safety on hot reloading",
         "logtide's pipeline runs on one event loop, so a reload needs no locking"),
    Flag("", ("enable-fips",), "ignored", None, "require OpenSSL FIPS mode",
         "logtide uses Python's ssl module as built and does not switch it to FIPS mode"),
    Flag("Z", ("enable-chunk-trace",), "ignored", None, "enable chunk tracing",
         "logtide has no chunk tracing"),
    Flag("", ("trace",), "ignored", "PIPELINE", "a trace pipeline at start-up",
         "logtide has no chunk tracing"),
    Flag("", ("trace-input",), "ignored", "INPUT", "input to trace at start-up",
         "logtide has no chunk tracing"),
    Flag("", ("trace-output",), "ignored", "OUTPUT", "output for tracing at start-up",
         "logtide has no chunk tracing"),
    Flag("", ("trace-output-property",), "ignored", "KEY=VALUE",
         "a property of the tracing output", "logtide has no chunk tracing"),
)  # fmt: skip

_SHORT = {flag.short: flag for flag in FLAGS if flag.short}
_LONG = {name: flag for flag in FLAGS for name in flag.longs}
_PLUGIN_KINDS = ("input", "filter", "output")


@dataclass
class Arguments:
    config: str | None = None
    sections: list[Section] = field(default_factory=list)
    parsers_files: list[str] = field(default_factory=list)
    stream_tasks: list[str] = field(default_factory=list)
    service: list[Entry] = field(default_factory=list)
    flush: str | None = None
    workdir: str | None = None
    dry_run: bool = False
    once: bool = False
    verbosity: int = 0
    quiet: bool = False
    log_file: str | None = None
    version: bool = False
    help: bool = False
    help_json: bool = False
    help_plugin: str | None = None
    help_kind: str | None = None
    notes: list[str] = field(default_factory=list)


class HelpFormatter(argparse.HelpFormatter):
    """One look for every ``logtide`` help page (the main one and the subcommands')."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=HELP_COLUMN, width=HELP_WIDTH)

    def _split_lines(self, text: str, width: int) -> list[str]:
        # Paths such as /fluent-bit/etc/fluent-bit.conf must not break at their hyphens.
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


def usage() -> str:
    """The main help, laid out by the same formatter as the subcommands'."""
    parser = argparse.ArgumentParser(
        prog="logtide",
        usage="logtide [-c FILE] [-i INPUT [-t TAG] [-p KEY=VALUE]...]\n"
        "               [-F FILTER [-m MATCH] [-p KEY=VALUE]...]\n"
        "               [-o OUTPUT [-m MATCH] [-p KEY=VALUE]...] [OPTION]...\n"
        "       logtide demo [OPTION]...\n"
        "       logtide athena {ddl,query} [OPTION]...",
        description="Run a Fluent Bit configuration: inputs -> parsers -> filters -> "
        "stream tasks -> outputs.\nFluent Bit's command line works unchanged.",
        formatter_class=HelpFormatter,
        add_help=False,
    )
    used = parser.add_argument_group("options")
    ignored = parser.add_argument_group("accepted for compatibility, ignored with a note")
    for flag in FLAGS:
        group = ignored if flag.ignored else used
        help_text = f"{flag.help}: {flag.ignored}" if flag.ignored else flag.help
        if flag.metavar is None:
            group.add_argument(*flag.names, action="store_true", help=help_text)
        else:
            group.add_argument(*flag.names, metavar=flag.metavar, help=help_text)
    return parser.format_help()


def _long(name: str) -> Flag:
    """``name`` or, as getopt_long allows, an unambiguous prefix of one."""
    if name in _LONG:
        return _LONG[name]
    matches = {id(flag): flag for key, flag in _LONG.items() if key.startswith(name)}
    if len(matches) == 1:
        return next(iter(matches.values()))
    if not matches:
        raise ConfigError(f"unknown option '--{name}'; see logtide -h", CLI)
    names = sorted(f"--{key}" for key in _LONG if key.startswith(name))
    raise ConfigError(f"option '--{name}' is ambiguous: {', '.join(names)}", CLI)


def _steps(word: str) -> list[tuple[str, Flag, str | None]]:
    """One command-line word as (flag as written, flag, attached value) steps."""
    if word.startswith("--") and len(word) > 2:
        name, sep, value = word[2:].partition("=")
        return [(f"--{name}", _long(name), value if sep else None)]
    if not word.startswith("-") or len(word) < 2:
        raise ConfigError(f"unexpected argument {word!r}; see logtide -h", CLI)
    steps: list[tuple[str, Flag, str | None]] = []
    letters = word[1:]
    for index, letter in enumerate(letters):
        flag = _SHORT.get(letter)
        if flag is None:
            raise ConfigError(f"unknown option '-{letter}'; see logtide -h", CLI)
        rest = letters[index + 1 :]
        if flag.metavar is not None and rest:
            steps.append((f"-{letter}", flag, rest))
            break
        steps.append((f"-{letter}", flag, None))
    return steps


def parse_args(argv: list[str]) -> Arguments:
    args = Arguments()
    last: Section | None = None
    position = 0
    while position < len(argv):
        word = argv[position]
        position += 1
        steps = _steps(word)
        for index, (written, flag, attached) in enumerate(steps):
            value = attached
            at_end = index == len(steps) - 1
            if flag.target in ("help", "help_json"):
                setattr(args, flag.target, True)
                following = argv[position] if at_end and position < len(argv) else None
                if following is not None and not following.startswith("-"):
                    args.help_plugin = following
                elif last is not None and last.kind in _PLUGIN_KINDS:
                    args.help_plugin, args.help_kind = str(last.entries[0].value), last.kind
                return args  # as in Fluent Bit, help ends the command line
            if flag.metavar is not None and value is None:
                if position >= len(argv):
                    raise ConfigError(f"option {written} needs a value", CLI)
                value = argv[position]  # getopt takes the next word whatever it looks like
                position += 1
            if flag.ignored:
                note = f"{written} is ignored: {flag.ignored}"
                if note not in args.notes:
                    args.notes.append(note)
            last = _apply(args, flag, written, value, last)
    return args


def _apply(
    args: Arguments, flag: Flag, written: str, value: str | None, last: Section | None
) -> Section | None:
    target = flag.target
    if target in ("dry_run", "once", "quiet", "version"):
        setattr(args, target, True)
    elif target == "verbose":
        args.verbosity += 1
    elif target in _SERVICE:
        key, fixed = _SERVICE[target]
        args.service.append(Entry(key, fixed or str(value), CLI))
    elif target == "custom":
        # Properties after -C/-r belong to that (ignored) plugin, not the one before it.
        return Section(flag.longs[0], CLI, [Entry("Name", str(value), CLI)])
    elif target != "ignored":
        assert value is not None
        return _apply_value(args, target, written, value, last)
    return last


def _apply_value(
    args: Arguments, target: str, flag: str, value: str, last: Section | None
) -> Section | None:
    if target in _PLUGIN_KINDS:
        section = Section(target, CLI, [Entry("Name", value, CLI)])
        if target != "input":
            section.entries.append(Entry("Match", "*", CLI))
        args.sections.append(section)
        return section
    if target == "prop":
        if last is None:
            raise ConfigError(f"{flag} {value!r} must follow -i, -F or -o", CLI)
        key, sep, prop = value.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{flag} expects KEY=VALUE, got {value!r}", CLI)
        last.entries.append(Entry(key.strip(), prop, CLI))
        return last
    if target in ("match", "tag"):
        wanted = ("filter", "output") if target == "match" else ("input",)
        if last is None or last.kind not in wanted:
            raise ConfigError(
                f"{flag} must follow {'-F or -o' if target == 'match' else '-i'}", CLI
            )
        key = "Match" if target == "match" else "Tag"
        last.entries = [e for e in last.entries if e.key != key]
        last.entries.append(Entry(key, value, CLI))
        return last
    if target == "parser":
        args.parsers_files.append(value)
    elif target == "sp_task":
        args.stream_tasks.append(value)
    elif target in ("config", "flush", "log_file", "workdir"):
        setattr(args, target, value)
    return last
