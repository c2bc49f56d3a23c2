"""Fluent Bit 5.1.1's stock parsers (the ``conf/parsers.conf`` its image ships as
``/fluent-bit/etc/parsers.conf``), known by name without a ``Parsers_File``.

Each definition gives the same records as Fluent Bit's: the regular expressions are built
here from the pieces the access-log and syslog formats share, so a fix to one piece reaches
every parser that uses it. A configuration's own ``[PARSER]`` of the same name replaces the
stock one (:class:`logtide.agent.parsers.registry.ParserRegistry`).

``python -m logtide.agent.parsers.stock`` writes them in Fluent Bit's ``[PARSER]`` format;
the container image runs it to put ``/fluent-bit/etc/parsers.conf`` where configs written
for Fluent Bit's image (the Helm chart's) look for it.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StockParser:
    """One stock parser: the ``[PARSER]`` properties it sets, nothing else."""

    name: str
    format: str
    regex: str | None = None
    time_key: str | None = None
    time_format: str | None = None
    time_keep: bool = False

    def entries(self) -> list[tuple[str, str]]:
        """``(key, value)`` pairs in ``[PARSER]`` order (what the registry resolves)."""
        pairs = [("Name", self.name), ("Format", self.format)]
        if self.regex is not None:
            pairs.append(("Regex", self.regex))
        if self.time_key is not None:
            pairs.append(("Time_Key", self.time_key))
        if self.time_format is not None:
            pairs.append(("Time_Format", self.time_format))
        if self.time_keep:
            pairs.append(("Time_Keep", "On"))
        return pairs


def _timed(name: str, regex: str, key: str, fmt: str, *, keep: bool = False) -> StockParser:
    return StockParser(name, "regex", regex, time_key=key, time_format=fmt, time_keep=keep)


def _group(name: str, body: str = "[^ ]*") -> str:
    return f"(?<{name}>{body})"


def _spaced(*parts: str) -> str:
    """Space-separated fields: a bare name is a ``[^ ]*`` group, ``"name"`` the same group
    in double quotes, ``"name*"`` a quoted group that may hold spaces (no quote); any other
    part is taken as written."""
    out = []
    for part in parts:
        field = _FIELD.fullmatch(part)
        if field is None:
            out.append(part)
        elif field.group(3):
            out.append(f'"{_group(field.group(2), _NO_QUOTE)}"')
        elif field.group(1):
            out.append(f'"{_group(field.group(2))}"')
        else:
            out.append(_group(field.group(2)))
    return " ".join(out)


_FIELD = re.compile(r'(")?(\w+)(\*)?(?(1)")')
_NO_QUOTE = r"[^\"]*"
_BRACKETED = r"[^\]]*"

# strptime formats the stock parsers use.
CLF_TIME = "%d/%b/%Y:%H:%M:%S %z"  # 10/Oct/2000:13:55:36 -0700
ISO_MILLIS = "%Y-%m-%dT%H:%M:%S.%L"  # 2024-05-01T10:00:00.123 (UTC)
ISO_MILLIS_ZONED = ISO_MILLIS + "%z"
BSD_SYSLOG_TIME = "%b %d %H:%M:%S"  # no year: Fluent Bit takes the current one

# The quoted HTTP request line: method, then an optional path and protocol.
_REQUEST_PATH = r"(?<method>\S+)(?: +(?<path>[^\"]*?)(?: +\S*)?)?"
_REQUEST = f'"{_REQUEST_PATH}"'
# apache2 reads the path as one space-free token followed by the protocol.
_REQUEST_SPLIT = r'"(?<method>\S+)(?: +(?<path>[^ ]*) +\S*)?"'
_TIME_BRACKETED = rf"\[{_group('time', _BRACKETED)}\]"
_REFERER_AGENT = rf'"{_group("referer", _NO_QUOTE)}" "{_group("agent", _NO_QUOTE)}"'
_STATUS_SIZE = _spaced("code", "size")

# Apache's common/combined log: host, ident (ignored), user, [time], request, status, size.
_CLF_HEAD = _spaced("^" + _group("host"), "[^ ]*", "user", _TIME_BRACKETED)


def _access_logs() -> list[StockParser]:
    apache = f"{_CLF_HEAD} {_REQUEST} {_STATUS_SIZE}(?: {_REFERER_AGENT})?$"
    apache2 = (
        f"{_CLF_HEAD} {_REQUEST_SPLIT} {_STATUS_SIZE}"
        rf'(?: "{_group("referer", _NO_QUOTE)}" "{_group("agent", ".*")}")?$'
    )
    nginx = (
        _spaced("^" + _group("remote"), "host", "user", _TIME_BRACKETED, _REQUEST, _STATUS_SIZE)
        + f"(?: {_REFERER_AGENT})"
    )
    ingress = (
        _spaced(
            "^" + _group("host"),
            "-",
            "user",
            _TIME_BRACKETED,
            _REQUEST,
            _STATUS_SIZE,
            _REFERER_AGENT,
            "request_length",
            "request_time",
            rf"\[{_group('proxy_upstream_name')}\]",
        )
        + rf" (\[{_group('proxy_alternative_upstream_name')}\] )?"
        + _spaced(
            "upstream_addr",
            "upstream_response_length",
            "upstream_response_time",
            "upstream_status",
            "reg_id",
        )
        + ".*$"
    )
    apache_error = (
        rf"^\[[^ ]* {_group('time', _BRACKETED)}\] \[{_group('level', _BRACKETED)}\]"
        rf"(?: \[pid {_group('pid', _BRACKETED)}\])?"
        rf"( \[client {_group('client', _BRACKETED)}\])? {_group('message', '.*')}$"
    )
    return [
        _timed("apache", apache, "time", CLF_TIME),
        _timed("apache2", apache2, "time", CLF_TIME),
        StockParser("apache_error", "regex", apache_error),
        _timed("nginx", nginx, "time", CLF_TIME),
        _timed("k8s-nginx-ingress", ingress, "time", CLF_TIME),
    ]


def _envoys() -> list[StockParser]:
    protocol = _group("protocol", r"\S+")
    head = rf'^\[{_group("start_time", _BRACKETED)}\] "{_REQUEST_PATH} {protocol}"'
    envoy = _spaced(
        head,
        "code",
        "response_flags",
        "bytes_received",
        "bytes_sent",
        "duration",
        "x_envoy_upstream_service_time",
        '"x_forwarded_for"',
        '"user_agent*"',
        '"request_id*"',
        '"authority"',
        '"upstream_host"',
    )
    istio = _spaced(
        head,
        "response_code",
        "response_flags",
        "response_code_details",
        "connection_termination_details",
        '"upstream_transport_failure_reason"',
        "bytes_received",
        "bytes_sent",
        "duration",
        "x_envoy_upstream_service_time",
        '"x_forwarded_for"',
        '"user_agent*"',
        '"x_request_id*"',
        '"authority"',
        '"upstream_host"',
        "upstream_cluster",
        "upstream_local_address",
        "downstream_local_address",
        "downstream_remote_address",
        "requested_server_name",
        "route_name",
    )
    return [
        _timed("envoy", envoy, "start_time", ISO_MILLIS_ZONED, keep=True),
        _timed("istio-envoy-proxy", istio + "$", "start_time", ISO_MILLIS_ZONED, keep=True),
    ]


# BSD syslog (RFC 3164): <pri>Mmm dd hh:mm:ss [host] ident[pid]: message.
_BSD_PRI_TIME = r"^\<(?<pri>[0-9]+)\>(?<time>[^ ]* {1,2}[^ ]* [^ ]*)"
_BSD_TAIL = r"(?<ident>[a-zA-Z0-9_\/\.\-]*)(?:\[(?<pid>[0-9]+)\])?(?:[^\:]*\:)? *(?<message>.*)$"
# RFC 5424 header: <pri>1 time host ...
_IETF_HEAD = r"^\<(?<pri>[0-9]{1,5})\>1 (?<time>[^ ]+) (?<host>[^ ]+) "
_MAC = ":".join(["[0-9a-f]{2}"] * 6)


def _netfilter() -> str:
    """A kernel netfilter LOG line as rsyslog forwards it in RFC 5424."""
    optional = "".join(
        rf"\s?(({key}=)?{_group(name, body)})"
        for key, name, body in (
            ("SPT", "sport", "[0-9]*"),
            ("DPT", "dport", "[0-9]*"),
            ("LEN", "protolen", "[0-9]*"),
            ("WINDOW", "window", "[0-9]*"),
            ("RES", "res", "0?x?[0-9]*"),
        )
    )
    return (
        _IETF_HEAD
        + r"kernel - - - \[[0-9\.]*\] "
        + rf"{_group('logprefix')}\s?IN={_group('in')} OUT={_group('out')} "
        + f"MAC={_group('macsrc', _MAC)}:{_group('macdst', _MAC)}:"
        + _group("ethtype", "[0-9a-f]{2}:[0-9a-f]{2}")
        + " "
        + " ".join(
            f"{key}={_group(name)}"
            for key, name in (
                ("SRC", "saddr"),
                ("DST", "daddr"),
                ("LEN", "len"),
                ("TOS", "tos"),
                ("PREC", "prec"),
                ("TTL", "ttl"),
                ("ID", "id"),
            )
        )
        + r" (D*F*)\s*PROTO="
        + _group("proto")
        + optional
        + rf"\s?{_group('flag')}\s?((URGP=)?{_group('urgp', '[0-9]*')})"
    )


def _system_logs() -> list[StockParser]:
    rfc5424 = (
        _IETF_HEAD
        + r"(?<ident>[^ ]+) (?<pid>[-0-9]+) (?<msgid>[^ ]+) (?<extradata>(\[(.*?)\]|-)) "
        + r"(?<message>.+)$"
    )
    return [
        StockParser(
            "syslog-rfc5424",
            "regex",
            rfc5424,
            time_key="time",
            time_format=ISO_MILLIS_ZONED,
            time_keep=True,
        ),
        _timed(
            "syslog-rfc3164-local",
            f"{_BSD_PRI_TIME} {_BSD_TAIL}",
            "time",
            BSD_SYSLOG_TIME,
            keep=True,
        ),
        # Fluent Bit writes this one in /slashes/; the regex is the same without them.
        _timed(
            "syslog-rfc3164",
            f"/{_BSD_PRI_TIME} {_group('host')} {_BSD_TAIL}/",
            "time",
            BSD_SYSLOG_TIME,
            keep=True,
        ),
        StockParser(
            "kmsg-netfilter-log",
            "regex",
            _netfilter(),
            time_key="time",
            time_format=ISO_MILLIS_ZONED,
        ),
    ]


def _applications() -> list[StockParser]:
    mongodb = (
        r"^(?<time>[^ ]*)\s+(?<severity>\w)\s+(?<component>[^ ]+)\s+\[(?<context>[^\]]+)]"
        r"\s+(?<message>.*?) *(?<ms>(\d+))?(:?ms)?$"
    )
    # Kubernetes log file names: <pod>_<namespace>_<container>-<64 hex id>.log.
    dns_label = "[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
    kube_file = (
        r"(?<tag>[^.]+)?\.?"
        + _group("pod_name", rf"{dns_label}(?:\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
        + r"_(?<namespace_name>[^_]+)_(?<container_name>.+)-(?<docker_id>[a-z0-9]{64})\.log$"
    )
    return [
        StockParser("json", "json", time_key="time", time_format=CLF_TIME),
        StockParser("logfmt", "logfmt"),
        StockParser("docker", "json", time_key="time", time_format=ISO_MILLIS, time_keep=True),
        StockParser(
            "docker-daemon",
            "regex",
            r'time="(?<time>[^ ]*)" level=(?<level>[^ ]*) msg="(?<msg>[^ ].*)"',
            time_key="time",
            time_format=ISO_MILLIS,
            time_keep=True,
        ),
        StockParser(
            "mongodb", "regex", mongodb, time_key="time", time_format=ISO_MILLIS, time_keep=True
        ),
        StockParser(
            "cri",
            "regex",
            r"^(?<time>[^ ]+) (?<stream>stdout|stderr) (?<logtag>[^ ]*) (?<message>.*)$",
            time_key="time",
            time_format=ISO_MILLIS_ZONED,
            time_keep=True,
        ),
        StockParser("kube-custom", "regex", kube_file),
    ]


STOCK_PARSERS: dict[str, StockParser] = {
    parser.name: parser
    for parser in (*_access_logs(), *_applications(), *_envoys(), *_system_logs())
}


def render() -> str:
    """All stock parsers as Fluent Bit ``[PARSER]`` sections."""
    blocks = []
    for parser in STOCK_PARSERS.values():
        lines = ["[PARSER]"]
        lines += [f"    {key:<12} {value}" for key, value in parser.entries()]
        blocks.append("\n".join(lines))
    header = (
        "# Fluent Bit 5.1.1's stock parsers, as logtide knows them by name.\n"
        "# Written by `python -m logtide.agent.parsers.stock`."
    )
    return header + "\n\n" + "\n\n".join(blocks) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
