"""Partition projection, as Athena evaluates it, for objects listed locally.

A table's partitions come from its ``TBLPROPERTIES``: ``storage.location.template`` says where
each partition lives and ``projection.<column>.*`` which values exist (``date`` with a Java
date format and a range, ``integer``, ``enum``, ``injected``). Without projection, partitions
are read from Hive-style ``column=value`` path segments (what ``MSCK REPAIR TABLE`` finds).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from logtide.agent.companions.athena.table import AthenaError, TableSpec

# Java DateTimeFormatter letters Athena accepts in projection formats, with strptime twins.
_JAVA_TO_STRPTIME = {
    "yyyy": ("%Y", r"\d{4}"),
    "yy": ("%y", r"\d{2}"),
    "MM": ("%m", r"\d{2}"),
    "dd": ("%d", r"\d{2}"),
    "HH": ("%H", r"\d{2}"),
    "mm": ("%M", r"\d{2}"),
    "ss": ("%S", r"\d{2}"),
    "DDD": ("%j", r"\d{3}"),
}
_JAVA_TOKEN = re.compile(r"yyyy|yy|MM|dd|HH|mm|ss|DDD|'[^']*'|.", re.S)
_RELATIVE = re.compile(r"^NOW(?:([+-])(\d+)(YEARS?|MONTHS?|WEEKS?|DAYS?|HOURS?|MINUTES?))?$")
_UNIT_SECONDS = {"WEEK": 7 * 86400, "DAY": 86400, "HOUR": 3600, "MINUTE": 60}


def java_to_strptime(pattern: str) -> tuple[str, str]:
    """``yyyy/MM/dd/HH`` -> (``%Y/%m/%d/%H``, a regex matching such values)."""
    fmt: list[str] = []
    rx: list[str] = []
    for token in _JAVA_TOKEN.findall(pattern):
        if token in _JAVA_TO_STRPTIME:
            directive, regex = _JAVA_TO_STRPTIME[token]
            fmt.append(directive)
            rx.append(regex)
        elif token.startswith("'") and len(token) > 1:
            literal = token[1:-1] or "'"
            fmt.append(literal.replace("%", "%%"))
            rx.append(re.escape(literal))
        elif token.isalpha():
            raise AthenaError(f"date projection format {pattern!r}: letter {token!r} unsupported")
        else:
            fmt.append(token.replace("%", "%%"))
            rx.append(re.escape(token))
    return "".join(fmt), "".join(rx)


def _add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, 28))


def range_bound(text: str, fmt: str, now: datetime) -> datetime:
    """One end of a date projection range: a formatted date or ``NOW[+-N<UNIT>]``."""
    text = text.strip()
    match = _RELATIVE.match(text.upper())
    if match is None:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            raise AthenaError(
                f"date projection range bound {text!r} does not match its format"
            ) from None
    sign, amount, unit = match.groups()
    if not sign:
        return now
    count = int(amount) * (1 if sign == "+" else -1)
    unit = unit.rstrip("S")
    if unit == "YEAR":
        return _add_months(now, 12 * count)
    if unit == "MONTH":
        return _add_months(now, count)
    return now + timedelta(seconds=count * _UNIT_SECONDS[unit])


@dataclass(frozen=True, slots=True)
class Projected:
    """How one partition column's values are found in a key and which of them exist."""

    name: str
    kind: str
    regex: str
    strptime: str = ""
    low: datetime | None = None
    high: datetime | None = None
    values: tuple[str, ...] = ()
    int_range: tuple[int, int] | None = None

    def accepts(self, value: str) -> bool:
        if self.kind == "date":
            try:
                moment = datetime.strptime(value, self.strptime).replace(tzinfo=UTC)
            except ValueError:
                return False
            return (self.low is None or moment >= _floor(self.low, self.strptime)) and (
                self.high is None or moment <= self.high
            )
        if self.kind == "enum":
            return value in self.values
        if self.kind == "integer" and self.int_range is not None:
            return value.lstrip("-").isdigit() and (
                self.int_range[0] <= int(value) <= self.int_range[1]
            )
        return True


def _floor(moment: datetime, fmt: str) -> datetime:
    """A range start, truncated to the format's granularity (``NOW-7DAYS`` keeps that day)."""
    return datetime.strptime(moment.strftime(fmt), fmt).replace(tzinfo=UTC)


def _projected(spec: TableSpec, name: str, now: datetime) -> Projected:
    props = spec.properties
    kind = props.get(f"projection.{name}.type", "").lower()
    if kind == "date":
        pattern = props.get(f"projection.{name}.format")
        if not pattern:
            raise AthenaError(f"table {spec.name}: projection.{name}.format is required")
        fmt, regex = java_to_strptime(pattern)
        bounds = props.get(f"projection.{name}.range", "").split(",")
        if len(bounds) != 2:
            raise AthenaError(f"table {spec.name}: projection.{name}.range must be 'start,end'")
        low, high = (range_bound(b, fmt, now) for b in bounds)
        return Projected(name, kind, regex, fmt, low, high)
    if kind == "integer":
        bounds = props.get(f"projection.{name}.range", "").split(",")
        try:
            low_int, high_int = (int(b) for b in bounds)
        except ValueError:
            raise AthenaError(
                f"table {spec.name}: projection.{name}.range must be 'min,max'"
            ) from None
        return Projected(name, kind, r"-?\d+", int_range=(low_int, high_int))
    if kind == "enum":
        values = tuple(v.strip() for v in props.get(f"projection.{name}.values", "").split(","))
        return Projected(name, kind, "|".join(re.escape(v) for v in values), values=values)
    if kind == "injected":
        return Projected(name, kind, r"[^/]+")
    raise AthenaError(
        f"table {spec.name}: partition column {name} needs projection.{name}.type "
        "(date, integer, enum or injected) when projection.enabled is true"
    )


class KeyPartitioner:
    """Maps object keys of a table to partition values (or None when not in the table)."""

    def __init__(self, spec: TableSpec, now: datetime | None = None) -> None:
        self.spec = spec
        self.names = [p.name for p in spec.partitions]
        self.projected: dict[str, Projected] = {}
        self.injected: list[str] = []
        self._regex: re.Pattern[str] | None = None
        if not self.names:
            return
        if spec.projection_enabled:
            moment = now or datetime.fromtimestamp(time.time(), UTC)
            for name in self.names:
                self.projected[name] = _projected(spec, name, moment)
            self.injected = [n for n, p in self.projected.items() if p.kind == "injected"]
            template = spec.properties.get("storage.location.template") or "".join(
                f"{name}=${{{name}}}/" for name in self.names
            )
            self._regex = self._template_regex(template)

    def _template_regex(self, template: str) -> re.Pattern[str]:
        base = f"s3://{self.spec.bucket}/{self.spec.prefix}"
        if template.startswith("s3://"):
            if not template.startswith(f"s3://{self.spec.bucket}/"):
                raise AthenaError(
                    f"table {self.spec.name}: storage.location.template is outside the bucket"
                )
            relative = template[len(f"s3://{self.spec.bucket}/") :]
        else:
            relative = base[len(f"s3://{self.spec.bucket}/") :] + template
        out: list[str] = []
        seen: set[str] = set()
        position = 0
        for match in re.finditer(r"\$\{([^}]+)\}", relative):
            out.append(re.escape(relative[position : match.start()]))
            name = match.group(1).lower()
            if name not in self.projected:
                raise AthenaError(
                    f"table {self.spec.name}: storage.location.template uses ${{{name}}}, "
                    "which is not a partition column"
                )
            group = f"(?P<{name}>{self.projected[name].regex})"
            out.append(group if name not in seen else f"(?P={name})")
            seen.add(name)
            position = match.end()
        out.append(re.escape(relative[position:].rstrip("/")))
        missing = set(self.names) - seen
        if missing:
            raise AthenaError(
                f"table {self.spec.name}: storage.location.template lacks "
                + ", ".join(f"${{{m}}}" for m in sorted(missing))
            )
        return re.compile("^" + "".join(out) + "/")

    def values(self, key: str) -> dict[str, str] | None:
        """Partition values for ``key``; None when Athena would not read the object."""
        if not self.names:
            return {}
        if self._regex is not None:
            match = self._regex.match(key)
            if match is None:
                return None
            values = {name: match.group(name) for name in self.names}
            if not all(self.projected[n].accepts(v) for n, v in values.items()):
                return None
            return values
        found: dict[str, str] = {}
        for segment in key[len(self.spec.prefix) :].split("/")[:-1]:
            name, sep, value = segment.partition("=")
            if sep and name.lower() in self.names:
                found[name.lower()] = value
        return found if len(found) == len(self.names) else None
