"""Fluent Bit's command line, where order matters: ``-p`` and ``-m`` apply to the plugin
named by the ``-i``/``-F``/``-o`` before them."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.config.model import Section
from agent.core.errors import ConfigError, Location
from agent.core.options import Entry

CLI = Location("<command line>", 0)

USAGE = """\
usage: logtide [-c FILE] [-i INPUT [-t TAG] [-p KEY=VALUE]...] [-F FILTER [-m MATCH] [-p ...]]
               [-o OUTPUT [-m MATCH] [-p ...]] [-R PARSERS_FILE] [-T SQL] [-f SECONDS]
               [--once] [-D] [-v|-vv|-q] [-l LOG_FILE] [-V] [-h [PLUGIN]]
       logtide demo [--duration S] [--rate N] [--pods N] [--keep]
       logtide athena ddl|query ...

  -c, --config FILE     configuration file (classic .conf or .yaml)
                        (default: /fluent-bit/etc/fluent-bit.conf)
  -i, --input NAME      add an input plugin
  -F, --filter NAME     add a filter plugin
  -o, --output NAME     add an output plugin
  -p, --prop KEY=VALUE  set a property of the last -i/-F/-o plugin
  -m, --match PATTERN   Match of the last filter/output (default *)
  -t, --tag TAG         Tag of the last input
  -R, --parser FILE     parsers file
  -T, --sp-task SQL     add a stream-processor task
  -f, --flush SECONDS   flush interval
  -D, --dry-run         validate the configuration and exit
      --once            read inputs to their end, deliver everything, exit (1 if anything
                        could not be delivered)
  -v, -vv               more logging; -q only errors
  -l, --log-file FILE   write the agent's log to FILE
  -V, --version         print the version
  -h, --help [PLUGIN]   this help, or a plugin's options
"""

_WITH_VALUE = {
    "-c": "config",
    "--config": "config",
    "-i": "input",
    "--input": "input",
    "-F": "filter",
    "--filter": "filter",
    "-o": "output",
    "--output": "output",
    "-p": "prop",
    "--prop": "prop",
    "-m": "match",
    "--match": "match",
    "-t": "tag",
    "--tag": "tag",
    "-R": "parser",
    "--parser": "parser",
    "-T": "sp_task",
    "--sp-task": "sp_task",
    "-f": "flush",
    "--flush": "flush",
    "-l": "log_file",
    "--log-file": "log_file",
}


@dataclass
class Arguments:
    config: str | None = None
    sections: list[Section] = field(default_factory=list)
    parsers_files: list[str] = field(default_factory=list)
    stream_tasks: list[str] = field(default_factory=list)
    flush: str | None = None
    dry_run: bool = False
    once: bool = False
    verbosity: int = 0
    quiet: bool = False
    log_file: str | None = None
    version: bool = False
    help: bool = False
    help_plugin: str | None = None


def parse_args(argv: list[str]) -> Arguments:
    args = Arguments()
    last: Section | None = None
    position = 0
    while position < len(argv):
        flag = argv[position]
        position += 1
        value: str | None = None
        if flag.startswith("--") and "=" in flag:
            flag, value = flag.split("=", 1)
        if flag in ("-h", "--help"):
            args.help = True
            if position < len(argv) and not argv[position].startswith("-"):
                args.help_plugin = argv[position]
                position += 1
            continue
        simple = {"-D": "dry_run", "--dry-run": "dry_run", "--once": "once", "-q": "quiet"}
        if flag in simple:
            setattr(args, simple[flag], True)
            continue
        if flag in ("-V", "--version"):
            args.version = True
            continue
        if flag in ("-v", "-vv", "-vvv", "--verbose"):
            args.verbosity += 1 if flag == "--verbose" else len(flag) - 1
            continue
        target = _WITH_VALUE.get(flag)
        if target is None:
            raise ConfigError(f"unknown option {flag!r}; see logtide -h", CLI)
        if value is None:
            if position >= len(argv):
                raise ConfigError(f"option {flag} needs a value", CLI)
            value = argv[position]
            position += 1
        last = _apply(args, target, flag, value, last)
    return args


def _apply(
    args: Arguments, target: str, flag: str, value: str, last: Section | None
) -> Section | None:
    if target in ("input", "filter", "output"):
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
    elif target == "config":
        args.config = value
    elif target == "flush":
        args.flush = value
    elif target == "log_file":
        args.log_file = value
    return last
