"""Fluent Bit's metric documents: the ``/api/v1/metrics`` JSON and the Prometheus text of
``/api/v1/metrics/prometheus`` and ``/api/v2/metrics/prometheus``.

Counters Fluent Bit itself has keep its names (``fluentbit_<kind>_<counter>_total``) so
existing dashboards work; counters and gauges only logtide's plugins have are exported as
``logtide_<kind>_<name>[_total]`` with the same ``name`` label.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from logtide.agent.core.metrics import Labels

# Fluent Bit's own per-instance counters, in the order its JSON lists them.
FLUENT_BIT_COUNTERS: dict[str, tuple[str, ...]] = {
    "input": ("records", "bytes", "files_opened", "files_closed", "files_rotated"),
    "filter": ("drop_records", "add_records"),
    "output": (
        "proc_records",
        "proc_bytes",
        "errors",
        "retries",
        "retries_failed",
        "dropped_records",
        "retried_records",
    ),
}
# Always present in the JSON, even at zero, as Fluent Bit's are.
_ALWAYS: dict[str, tuple[str, ...]] = {
    "input": ("records", "bytes"),
    "filter": ("drop_records", "add_records"),
    "output": FLUENT_BIT_COUNTERS["output"],
}
_HELP: dict[str, str] = {
    "records": "Number of records.",
    "bytes": "Number of bytes (records measured as compact JSON).",
    "files_opened": "Number of files opened.",
    "files_closed": "Number of files closed.",
    "files_rotated": "Number of files rotated.",
    "drop_records": "Number of records dropped by the filter.",
    "add_records": "Number of records added by the filter.",
    "proc_records": "Number of records delivered.",
    "proc_bytes": "Number of bytes delivered.",
    "errors": "Number of failed flushes.",
    "retries": "Number of flush retries.",
    "retries_failed": "Number of batches whose retries ran out.",
    "dropped_records": "Number of records given up on.",
    "retried_records": "Number of records retried.",
}
KINDS = ("input", "filter", "output")


@dataclass(slots=True)
class MetricsView:
    """What one scrape reports: the counters of the running pipeline and process facts."""

    counters: Mapping[str, Mapping[str, int]]
    kinds: Mapping[str, str]
    gauges: Mapping[tuple[str, str, Labels], float] = field(default_factory=dict)
    start_time: float = 0.0
    uptime: float = 0.0
    version: str = "0"
    hostname: str = field(default_factory=platform.node)
    reloads: int = 0


def metrics_json(view: MetricsView) -> dict[str, dict[str, dict[str, int]]]:
    """``/api/v1/metrics``: ``{"input": {"tail.0": {"records": ..}}, "output": {..}, ..}``."""
    document: dict[str, dict[str, dict[str, int]]] = {kind: {} for kind in KINDS}
    for instance, kind in view.kinds.items():
        values = view.counters.get(instance, {})
        entry = {name: int(values.get(name, 0)) for name in _ALWAYS[kind]}
        for name in sorted(values):
            entry.setdefault(name, int(values[name]))
        document[kind][instance] = entry
    return document


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(f'{key}="{_escape(value)}"' for key, value in pairs)
    return "{" + inner + "}" if inner else ""


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class _Text:
    """Prometheus text format 0.0.4, one family at a time."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(
        self, name: str, kind: str, help_text: str, samples: list[tuple[Labels, float]]
    ) -> None:
        if not samples:
            return
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            self.lines.append(f"{name}{_labels(labels)} {_number(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _metric_name(kind: str, counter: str) -> str:
    if counter in FLUENT_BIT_COUNTERS[kind]:
        return f"fluentbit_{kind}_{counter}_total"
    return f"logtide_{kind}_{counter}_total"


def _counter_families(view: MetricsView) -> dict[str, tuple[str, list[tuple[Labels, float]]]]:
    families: dict[str, tuple[str, list[tuple[Labels, float]]]] = {}
    for kind, instances in metrics_json(view).items():
        for instance, values in instances.items():
            for counter, value in values.items():
                name = _metric_name(kind, counter)
                help_text = _HELP.get(counter, "logtide plugin counter.")
                families.setdefault(name, (help_text, []))[1].append(((("name", instance),), value))
    return families


def _gauge_families(view: MetricsView) -> dict[str, list[tuple[Labels, float]]]:
    families: dict[str, list[tuple[Labels, float]]] = {}
    for (instance, gauge, labels), value in sorted(view.gauges.items()):
        kind = view.kinds.get(instance)
        if kind is None:
            continue
        name = f"logtide_{kind}_{gauge}"
        families.setdefault(name, []).append(((("name", instance), *labels), value))
    return families


def prometheus_text(view: MetricsView, *, v2: bool) -> str:
    """Prometheus exposition of every counter and gauge.

    v1 adds ``process_start_time_seconds`` and ``fluentbit_build_info{version,edition}``
    like Fluent Bit's v1 endpoint; v2 adds the ``hostname``-labelled ``fluentbit_uptime``,
    ``fluentbit_process_start_time_seconds``, ``fluentbit_build_info{hostname,version,os}``
    and ``fluentbit_hot_reloaded_times`` of its cmetrics endpoint.
    """
    out = _Text()
    host: Labels = (("hostname", view.hostname),)
    if v2:
        out.family(
            "fluentbit_uptime", "counter", "Seconds since start.", [(host, int(view.uptime))]
        )
        out.family(
            "fluentbit_process_start_time_seconds",
            "gauge",
            "Start time of the process since the epoch.",
            [(host, int(view.start_time))],
        )
        build: Labels = (*host, ("version", view.version), ("os", platform.system().lower()))
        out.family("fluentbit_build_info", "gauge", "Build information.", [(build, 1)])
        out.family(
            "fluentbit_hot_reloaded_times",
            "counter",
            "Number of hot reloads.",
            [(host, view.reloads)],
        )
    for name, (help_text, samples) in sorted(_counter_families(view).items()):
        out.family(name, "counter", help_text, samples)
    for name, samples in sorted(_gauge_families(view).items()):
        out.family(name, "gauge", "logtide plugin level.", samples)
    if not v2:
        out.family(
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since the epoch.",
            [((), int(view.start_time))],
        )
        build_v1: Labels = (("version", view.version), ("edition", "Community"))
        out.family("fluentbit_build_info", "gauge", "Build information.", [(build_v1, 1)])
        out.family("fluentbit_uptime", "counter", "Seconds since start.", [((), int(view.uptime))])
    return out.text()
