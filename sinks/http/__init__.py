"""The HTTP outputs' shared transport (used by ``http`` and ``opensearch``/``es``) and the
``http`` output (``logtide.sinks.http.output``). Importing the package registers the
retry classification of HTTP failures with the core."""

from logtide.sinks.http.errors import HttpError, status_is_retryable
from logtide.sinks.http.transport import HttpResponse, HttpTransport
from logtide.sinks.http.transport_options import (
    COMPRESSIONS,
    HttpTransportSettings,
    transport_options,
)

__all__ = [
    "COMPRESSIONS",
    "HttpError",
    "HttpResponse",
    "HttpTransport",
    "HttpTransportSettings",
    "status_is_retryable",
    "transport_options",
]
