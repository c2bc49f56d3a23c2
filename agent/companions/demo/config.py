"""The article's ConfigMap, adapted to run on this machine.

Only what cannot be the same on a laptop changes, line by line, and every change is listed:
the tail ``Path`` and ``DB``, the s3 ``store_dir`` and ``upload_timeout`` (3 minutes is too
long for a demo), an ``endpoint`` for both AWS outputs (the embedded moto), and the monitoring
server's address (a free loopback port instead of 0.0.0.0:2020). The bucket and region stay
``${S3_BUCKET}`` / ``${AWS_REGION}``, set in logtide's environment as in the DaemonSet.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

ARTICLE_FILES = ("fluent-bit.conf", "parsers.conf", "streams.conf")
_SECTION = re.compile(r"^\s*\[([A-Za-z_]+)\]\s*$")
_ENTRY = re.compile(r"^(\s*)(\S+)(\s+)(.*?)\s*$")


@dataclass(slots=True)
class Adapted:
    path: Path
    changes: list[str] = field(default_factory=list)


def find_article(start: Path | None = None) -> Path:
    """``examples/article`` of the checkout this package runs from."""
    here = (start or Path(__file__)).resolve()
    for parent in here.parents:
        candidate = parent / "examples" / "article"
        if (candidate / "fluent-bit.conf").is_file():
            return candidate
    raise FileNotFoundError(
        "examples/article/fluent-bit.conf not found: run `logtide demo` from a clone of the "
        "repository (make demo)"
    )


def adapt(
    article: Path,
    workdir: Path,
    *,
    endpoint: str,
    upload_timeout: str,
    http_port: int,
) -> Adapted:
    """Copy the three files into ``workdir`` with the local changes; returns the main file."""
    for name in ARTICLE_FILES[1:]:
        shutil.copyfile(article / name, workdir / name)
    logs = workdir / "var-log"
    replacements = {
        ("input", "path"): str(logs / "containers" / "*.log"),
        ("input", "db"): str(logs / "flb_kube.db"),
        ("output", "store_dir"): str(logs / "fluentbit"),
        ("output", "upload_timeout"): upload_timeout,
        ("service", "http_listen"): "127.0.0.1",
        ("service", "http_port"): str(http_port),
    }
    out: list[str] = []
    changes: list[str] = []
    section = ""
    seen: set[tuple[str, str]] = set()

    def add_service_defaults() -> None:
        for key, name in (("http_listen", "HTTP_Listen"), ("http_port", "HTTP_Port")):
            if ("service", key) not in seen:
                value = replacements[("service", key)]
                out.append(f"    {name} {value}")
                changes.append(f"[SERVICE] + {name} {value}")
                seen.add(("service", key))

    for line in (article / "fluent-bit.conf").read_text(encoding="utf-8").splitlines():
        header = _SECTION.match(line)
        if header:
            if section == "service":
                add_service_defaults()
            section = header.group(1).lower()
            out.append(line)
            continue
        entry = _ENTRY.match(line)
        if entry and not line.lstrip().startswith("#"):
            indent, key, space, value = entry.groups()
            replacement = replacements.get((section, key.lower()))
            if replacement is not None:
                seen.add((section, key.lower()))
                out.append(f"{indent}{key}{space}{replacement}")
                changes.append(f"[{section.upper()}] {key} {value} -> {replacement}")
                continue
            out.append(line)
            if section == "output" and key.lower() == "name":
                out.append(f"{indent}endpoint {endpoint}")
                changes.append(f"[OUTPUT] {value} + endpoint {endpoint}")
            continue
        out.append(line)
    if section == "service":
        add_service_defaults()
    target = workdir / "fluent-bit.conf"
    target.write_text("\n".join(out) + "\n", encoding="utf-8")
    return Adapted(target, changes)
