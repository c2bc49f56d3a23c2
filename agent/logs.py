"""The agent's own log: Fluent Bit's ``[time] [level] message`` lines, or JSON lines."""

from __future__ import annotations

import logging
import sys
import time

import orjson

_LEVELS = {
    "off": logging.CRITICAL + 10,
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": logging.DEBUG,
}
_NAMES = {
    logging.ERROR: "error",
    logging.WARNING: " warn",
    logging.INFO: " info",
    logging.DEBUG: "debug",
}


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(record.created))
        level = _NAMES.get(record.levelno, record.levelname.lower())
        line = f"[{stamp}] [{level}] {record.getMessage()}"
        if record.exc_info and logging.getLogger("logtide").isEnabledFor(logging.DEBUG):
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
            "level": logging.getLevelName(record.levelno).lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        return orjson.dumps(payload).decode()


def configure(level: str = "info", log_file: str | None = None, fmt: str = "text") -> None:
    """Point the ``logtide`` logger at stderr or ``log_file``; idempotent."""
    logger = logging.getLogger("logtide")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    target: logging.Handler = (
        logging.FileHandler(log_file, encoding="utf-8")
        if log_file
        else logging.StreamHandler(sys.stderr)
    )
    target.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    logger.addHandler(target)
    logger.setLevel(_LEVELS.get(level.lower(), logging.INFO))
    logger.propagate = False
