"""The agent's own log: Fluent Bit's ``[time] [level] [component] message`` lines, or JSON.

The component is the plugin instance for a plugin's logger (``logtide.output.s3.0`` ->
``[output:s3.0]``), the sub-system for other child loggers (``logtide.http_server`` ->
``[http_server]``), and for the engine's own logger the ``[...]`` prefix its messages carry
(``[engine]`` when they carry none).

Two guards apply to every line: values that look like credentials are masked, and above
debug level a message is cut to :data:`MAX_MESSAGE` characters so a record quoted in an error
never reaches the log whole.
"""

from __future__ import annotations

import logging
import re
import sys
import time

import orjson

from logtide.agent.core.errors import ConfigError
from logtide.agent.core.loglevels import TRACE

MAX_MESSAGE = 512
_LEVELS = {
    "off": logging.CRITICAL + 10,
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": TRACE,
}
_NAMES = {
    logging.CRITICAL: "error",
    logging.ERROR: "error",
    logging.WARNING: "warn",
    logging.INFO: "info",
    logging.DEBUG: "debug",
    TRACE: "trace",
}
_PREFIX = re.compile(r"\[([A-Za-z0-9_.:/-]+)\] ?")
_SECRETS = (
    # key=value, key: value and "key": "value" where the whole key (one identifier) names a
    # secret (but see _ERROR_NAME)
    re.compile(
        r"(?i)(?<![\w.-])([\w.-]*?"
        r"(?:secret|password|passwd|token|session|credential|signature|api[_-]?key)"
        r"[\w.-]*[\"']?\s*[:=]\s*[\"']?)([^\s\"',}]+)"
    ),
    # Authorization headers, after their scheme
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?(?:[\w-]+ )?)([^\s\"',}]+)"),
    # AWS access key ids
    re.compile(r"()\b((?:AKIA|ASIA)[0-9A-Z]{16})\b"),
)
# An unquoted PascalCase word (after an optional dotted module path) and a colon names an
# error and introduces its message, not a value: an exception class
# (``botocore.exceptions.NoCredentialsError: Unable to ...``) or an AWS error code
# (``ExpiredToken: The security token ...``).
_ERROR_NAME = re.compile(r"(?:[a-z_][a-z0-9_]*\.)*[A-Z][A-Za-z0-9]*:\s*")


def _mask(match: re.Match[str]) -> str:
    return f"{match.group(1)}****"


def _mask_unless_error_name(match: re.Match[str]) -> str:
    return match.group(0) if _ERROR_NAME.fullmatch(match.group(1)) else _mask(match)


def redact(message: str) -> str:
    """Mask what looks like a credential, keeping its name."""
    keyed, *others = _SECRETS
    message = keyed.sub(_mask_unless_error_name, message)
    for pattern in others:
        message = pattern.sub(_mask, message)
    return message


def split_component(record: logging.LogRecord) -> tuple[str, str]:
    """``(component, message)`` of a log record, as described in the module docstring."""
    message = record.getMessage()
    parts = record.name.split(".")
    if len(parts) >= 3 and parts[1] in ("input", "filter", "output"):
        return f"{parts[1]}:{'.'.join(parts[2:])}", message
    if len(parts) >= 2:
        return ".".join(parts[1:]), message
    match = _PREFIX.match(message)
    if match:
        return match.group(1), message[match.end() :]
    return "engine", message


def _message(record: logging.LogRecord) -> tuple[str, str]:
    component, message = split_component(record)
    message = redact(message)
    if record.levelno > logging.DEBUG and len(message) > MAX_MESSAGE:
        message = f"{message[:MAX_MESSAGE]}... ({len(message) - MAX_MESSAGE} more characters)"
    return component, message


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(record.created))
        level = _NAMES.get(record.levelno, record.levelname.lower())
        component, message = _message(record)
        line = f"[{stamp}] [{level:>5}] [{component}] {message}"
        if record.exc_info and logging.getLogger("logtide").isEnabledFor(logging.DEBUG):
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        component, message = _message(record)
        payload = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": _NAMES.get(record.levelno, record.levelname.lower()),
            "plugin": component,
            "message": message,
        }
        return orjson.dumps(payload).decode()


def configure(level: str = "info", log_file: str | None = None, fmt: str = "text") -> None:
    """Point the ``logtide`` logger at stderr or ``log_file``; idempotent. A ``log_file``
    that cannot be opened raises :class:`ConfigError` and leaves the current target."""
    try:
        target: logging.Handler = (
            logging.FileHandler(log_file, encoding="utf-8")
            if log_file
            else logging.StreamHandler(sys.stderr)
        )
    except OSError as exc:
        raise ConfigError(f"Log_File {log_file}: cannot open it: {exc.strerror or exc}") from None
    logger = logging.getLogger("logtide")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    target.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    logger.addHandler(target)
    logger.setLevel(_LEVELS.get(level.lower(), logging.INFO))
    logger.propagate = False
